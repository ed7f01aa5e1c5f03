/**
 * Reconnect delays: exponential backoff with full jitter.
 *
 * delay = random(0, min(cap, base × 2^attempt)). The attempt count resets when
 * a connection stayed up long enough to be called stable.
 */
export class Backoff {
  attempt = 0;
  constructor(
    readonly base = 1000,
    readonly cap = 60000,
    private readonly random: () => number = Math.random,
  ) {}

  /** The next delay in ms; each call counts as one more failed attempt. */
  next(): number {
    const ceiling = Math.min(this.cap, this.base * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.floor(this.random() * ceiling);
  }

  /** A long wait for refusals that retrying soon will not fix (bad credentials…): between cap/2 and cap. */
  refused(): number {
    this.attempt++;
    return Math.floor(this.cap / 2 + (this.random() * this.cap) / 2);
  }

  reset(): void {
    this.attempt = 0;
  }
}
