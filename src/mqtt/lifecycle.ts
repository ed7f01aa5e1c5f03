/**
 * The session's lifecycle: its state, changed only by `to()`, which refuses
 * a transition the diagram does not have; and the reconnect policy (backoff
 * constants, which refusals wait the longest, when a connection counts as
 * accepted), passed in rather than buried in the client.
 *
 *   idle ──start()──▶ connecting ──socket up──▶ handshake ──CONNACK 0──▶ connected
 *                        ▲                          │                        │
 *                        └──── waiting (backoff) ◀──┴──── error / lost ──────┘
 *   pause(): any open state ──▶ waiting ──▶ paused ──resume()──▶ connecting
 *   end(): connected ──▶ closing (outbox drains, DISCONNECT) ──▶ waiting ──▶ closed
 *
 * Every teardown passes through `waiting` (the connection is gone), so
 * `waiting` is reachable from every state but `closed`.
 */
import { Backoff } from "./backoff";

export type ClientState =
  | "idle"
  | "connecting"
  | "handshake"
  | "connected"
  | "waiting"
  | "paused"
  | "closing"
  | "closed";

/** The states each state may move to. */
const NEXT: { readonly [S in ClientState]: readonly ClientState[] } = {
  idle: ["connecting", "waiting"],
  connecting: ["handshake", "waiting"],
  handshake: ["connected", "waiting"],
  connected: ["closing", "waiting"],
  closing: ["waiting"],
  waiting: ["connecting", "waiting", "paused", "closed"],
  paused: ["connecting", "waiting"],
  closed: [],
};

export interface ReconnectPolicy {
  /** First backoff ceiling, ms; it doubles with each failure in a row. */
  base: number;
  /** Largest backoff ceiling, ms. */
  cap: number;
  /**
   * A connection that the broker's fault ends this soon after CONNACK (a
   * protocol error, or silence: an unanswered PINGREQ) does not count as
   * accepted: the backoff goes on from where it was.
   */
  provenMs: number;
  /** CONNACK refusals that a quick retry cannot cure: they wait the longest. */
  lastingRefusals: readonly number[];
}

/** Wrong protocol, identifier rejected, bad credentials and not authorised are lasting. */
export const RECONNECT_POLICY: ReconnectPolicy = {
  base: 1000,
  cap: 60000,
  provenMs: 60000,
  lastingRefusals: [1, 2, 4, 5],
};

export class Lifecycle {
  private current: ClientState = "idle";
  private readonly backoff: Backoff;
  private readonly policy: ReconnectPolicy;
  /** The backoff's attempt count before the last connection was accepted, and when. */
  private attemptsBefore = 0;
  private acceptedAt = 0;

  constructor(policy: ReconnectPolicy = RECONNECT_POLICY, random?: () => number) {
    this.policy = policy;
    this.backoff = new Backoff(policy.base, policy.cap, random);
  }

  get state(): ClientState {
    return this.current;
  }

  /** The one transition function: moves to `next`, or throws if the diagram has no such edge (a defect of the client). */
  to(next: ClientState): void {
    if (NEXT[this.current].indexOf(next) < 0)
      throw new RangeError(`MQTT session: no transition ${this.current} → ${next}`);
    this.current = next;
  }

  /** A connection was accepted at `now`. */
  accepted(now: number): void {
    this.attemptsBefore = this.backoff.attempt;
    this.acceptedAt = now;
    this.backoff.reset();
  }

  /** The broker's fault ended the connection at `now`: one accepted too recently does not reset the backoff. */
  brokerFault(now: number): void {
    if (this.current === "connected" && now - this.acceptedAt < this.policy.provenMs)
      this.backoff.attempt = this.attemptsBefore;
  }

  /** The delay before the next attempt, ms: the longest when retrying soon cannot help. */
  retryDelay(lasting: boolean): number {
    return lasting ? this.backoff.longest() : this.backoff.next();
  }

  /** Whether a CONNACK refusal code is one a quick retry cannot cure. */
  lasting(code: number): boolean {
    return this.policy.lastingRefusals.indexOf(code) >= 0;
  }
}
