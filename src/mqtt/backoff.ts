/**
 * Reconnect delays: exponential backoff with "equal jitter".
 *
 * After n failures in a row the ceiling is min(cap, base × 2^n) and the delay
 * lies in [ceiling / 2, ceiling): never below half the ceiling, so a long
 * outage never turns into quick retries, and still spread so that many
 * devices do not return at once. Refusals a retry cannot cure soon wait the
 * longest: from 3/4 of the cap to the cap. `reset()` when a connection is
 * accepted.
 */
export class Backoff {
  attempt = 0;
  constructor(
    readonly base = 1000,
    readonly cap = 60000,
    private readonly random: () => number = Math.random,
  ) {}

  /** The ceiling of the next delay. */
  ceiling(): number {
    return Math.min(this.cap, this.base * 2 ** Math.min(this.attempt, 30));
  }

  /** The next delay in ms; each call counts as one more failed attempt. */
  next(): number {
    const ceiling = this.ceiling();
    this.attempt++;
    return Math.floor(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  /** For refusals that retrying soon will not fix (bad credentials, untrusted certificate): between 3/4 of the cap and the cap. */
  longest(): number {
    this.attempt++;
    return Math.floor((this.cap * 3) / 4 + (this.random() * this.cap) / 4);
  }

  reset(): void {
    this.attempt = 0;
  }
}
