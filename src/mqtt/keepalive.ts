/**
 * Keepalive as MQTT 3.1.1 means it, plus a liveness check.
 *
 * - The spec's rule [MQTT-3.1.2-23]: the client sends a packet at least once
 *   per keepalive period; when it has nothing else to send, a PINGREQ.
 * - Liveness: a period without any packet *received* also calls for a
 *   PINGREQ, so a half-open connection is noticed even while the device
 *   keeps publishing QoS 0 messages that nobody answers.
 * - The connection is given up only when a PINGREQ stays unanswered (any
 *   packet received counts as an answer): never because QoS 0 traffic in
 *   either direction happens to get no reply.
 *
 * Checked on a tick of `tick` ms. PINGREQ leaves `tick` early, so it is never
 * late by the spec's rule; the answer is awaited for half a period less one
 * tick, so silence is noticed within 1.5 × keepalive however busy the sender.
 * MQTT.js's KeepaliveManager is the model (its issues #357, #682, #1861).
 */

export const KEEPALIVE_OK = 0;
export const KEEPALIVE_PING = 1;
export const KEEPALIVE_DEAD = 2;
export type KeepaliveAction = typeof KEEPALIVE_OK | typeof KEEPALIVE_PING | typeof KEEPALIVE_DEAD;

export class Keepalive {
  /** Milliseconds between two checks. */
  readonly tick: number;
  private readonly pingAfter: number;
  private readonly answerWithin: number;
  private lastSent = 0;
  private lastReceived = 0;
  /** When the unanswered PINGREQ left, or -1. */
  private pingSentAt = -1;

  /** `period`: the keepalive in ms; 0 disables both the pings and the check. */
  constructor(readonly period: number) {
    this.tick = period > 0 ? Math.min(1000, Math.floor(period / 4)) : 0;
    this.pingAfter = period - this.tick;
    this.answerWithin = period / 2 - this.tick;
  }

  /** A connection was opened at `now`. */
  start(now: number): void {
    this.lastSent = this.lastReceived = now;
    this.pingSentAt = -1;
  }

  sent(now: number): void {
    this.lastSent = now;
  }

  /** Bytes arrived: the broker is alive, and any PINGREQ is answered. */
  received(now: number): void {
    this.lastReceived = now;
    this.pingSentAt = -1;
  }

  /** A PINGREQ was written at `now`. */
  pinged(now: number): void {
    this.pingSentAt = now;
    this.lastSent = now;
  }

  /** What the connection needs at `now`: nothing, a PINGREQ, or to be given up. */
  check(now: number): KeepaliveAction {
    if (this.period === 0) return KEEPALIVE_OK;
    if (this.pingSentAt >= 0) return now - this.pingSentAt >= this.answerWithin ? KEEPALIVE_DEAD : KEEPALIVE_OK;
    if (now - this.lastSent >= this.pingAfter || now - this.lastReceived >= this.pingAfter) return KEEPALIVE_PING;
    return KEEPALIVE_OK;
  }
}
