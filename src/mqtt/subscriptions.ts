/**
 * Subscriptions kept for the session (sent again after every reconnect
 * without a session), the SUBSCRIBE and UNSUBSCRIBE requests waiting for
 * their SUBACK or UNSUBACK, and packet-id allocation, which must skip ids
 * still in use by a request or by a message in flight.
 */
import { checkTopicFilter, subscribeLength, unsubscribeLength, utf8, writeSubscribe, writeUnsubscribe } from "./codec";
import type { QoS } from "./packet";
import type { Wire } from "./wire";

export interface Subscription {
  filter: string;
  qos: QoS;
}

export interface PendingRequest {
  packetId: number;
  /** Empty for UNSUBSCRIBE. */
  subscriptions: Subscription[];
}

export class Subscriptions {
  /** Made again, exact-length, at each change (rare: at start), so a device keeps no spare capacity. */
  list: Subscription[] = [];
  private readonly pending: PendingRequest[] = [];
  /** The packet id given last. */
  private lastId = 0;

  /** Adds or updates a subscription; undefined if the filter is invalid. */
  add(filter: string, qos: QoS): Subscription | undefined {
    if (checkTopicFilter(filter)) return undefined;
    let subscription = this.find(filter);
    if (subscription) subscription.qos = qos;
    else this.list = this.list.concat((subscription = { filter, qos }));
    return subscription;
  }

  /** Removes a subscription; undefined if there was none. */
  remove(filter: string): Subscription | undefined {
    const index = this.list.findIndex((s) => s.filter === filter);
    if (index < 0) return undefined;
    const removed = this.list[index];
    this.list = this.list.filter((_, i) => i !== index);
    return removed;
  }

  find(filter: string): Subscription | undefined {
    return this.list.find((s) => s.filter === filter);
  }

  /**
   * Writes a SUBSCRIBE for `subscriptions` with `packetId` and waits for its
   * SUBACK. The filters are encoded here, at a (re)connect or a new
   * subscription, rather than kept encoded by every device.
   */
  subscribe(wire: Wire, packetId: number, subscriptions: Subscription[]): void {
    const topics = subscriptions.map((s) => utf8(s.filter));
    const size = subscribeLength(topics);
    const out = wire.packet(size);
    writeSubscribe(
      out,
      0,
      packetId,
      topics,
      subscriptions.map((s) => s.qos),
    );
    this.pending.push({ packetId, subscriptions });
    wire.send(out, size);
  }

  /** Writes an UNSUBSCRIBE for `subscription` with `packetId` and waits for its UNSUBACK. */
  unsubscribe(wire: Wire, packetId: number, subscription: Subscription): void {
    const topics = [utf8(subscription.filter)];
    const size = unsubscribeLength(topics);
    const out = wire.packet(size);
    writeUnsubscribe(out, 0, packetId, topics);
    this.pending.push({ packetId, subscriptions: [] });
    wire.send(out, size);
  }

  /** Its acknowledgement arrived: the request, no longer pending, or undefined if none had that id. */
  settle(packetId: number): PendingRequest | undefined {
    const index = this.pending.findIndex((p) => p.packetId === packetId);
    return index < 0 ? undefined : this.pending.splice(index, 1)[0];
  }

  /** Whether a request waits with `packetId`. */
  has(packetId: number): boolean {
    const pending = this.pending;
    for (let i = 0; i < pending.length; i++) if (pending[i].packetId === packetId) return true;
    return false;
  }

  /** The connection is gone: no acknowledgement will come. */
  forgetPending(): void {
    this.pending.length = 0;
  }

  /** Packet ids 1…65535 with wrap-around, never one still in use by a request or by one of `messages`. */
  nextId(messages: IdHolder): number {
    for (let tries = 0; tries < 65535; tries++) {
      this.lastId = this.lastId >= 65535 ? 1 : this.lastId + 1;
      const id = this.lastId;
      if (messages.indexOf(id) < 0 && !this.has(id)) return id;
    }
    throw new RangeError("no free packet id");
  }
}

/** What holds packet ids besides the pending requests: the outbox's messages. */
export interface IdHolder {
  indexOf(packetId: number): number;
}
