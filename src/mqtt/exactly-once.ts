/**
 * Inbound QoS 2 de-duplication: the packet ids of messages delivered and not
 * yet released (PUBREL), so that a PUBLISH sent again with DUP is
 * acknowledged but not delivered twice. Bounded: past `limit` ids the oldest
 * is forgotten (brokers keep fewer in flight by default; mosquitto 20).
 */
export class ExactlyOnce {
  private readonly ids: number[] = [];
  constructor(private readonly limit = 64) {}

  get size(): number {
    return this.ids.length;
  }

  /** True the first time `packetId` arrives (deliver it), false while it waits for PUBREL (a duplicate). */
  first(packetId: number): boolean {
    if (this.ids.indexOf(packetId) >= 0) return false;
    if (this.ids.length >= this.limit) this.ids.shift();
    this.ids.push(packetId);
    return true;
  }

  /** PUBREL arrived: the id may be used for a new message. */
  release(packetId: number): void {
    const index = this.ids.indexOf(packetId);
    if (index >= 0) this.ids.splice(index, 1);
  }

  /** A new session: the broker forgot what it sent. */
  clear(): void {
    this.ids.length = 0;
  }
}
