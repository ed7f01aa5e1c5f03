/**
 * The outbound flow of application messages: the hot path (a QoS 0 message
 * written at once from the caller's bytes), the outbox written as far as the
 * write budget goes, in order, QoS 0 let go once written, QoS 1/2 kept until
 * acknowledged (PUBREL sent in place of a PUBLISH once PUBREC came), and the
 * reports that follow: delivered, in publishing order, and drained.
 *
 * The client says whether the connection may carry messages (`open`: connected
 * or closing) and whether it is `connected`; `hold` stops writing while the
 * client's onConnect announces (see ClientOptions.announceFirst).
 */
import type { Message, MessageKind, Outbox } from "./outbox";
import type { QoS } from "./packet";
import { PUBREL } from "./packet";
import type { Reporter } from "./reporter";
import type { Subscriptions } from "./subscriptions";
import type { Wire } from "./wire";

export class Outflow {
  /** Writing waits while set. */
  hold = false;
  /** The outbox was empty when last looked at (for onDrain). */
  private idle = true;

  constructor(
    readonly outbox: Outbox,
    private readonly wire: Wire,
    private readonly report: Reporter,
    private readonly subscriptions: Subscriptions,
  ) {}

  /** A new packet id, free of messages and requests in flight. */
  nextId(): number {
    return this.subscriptions.nextId(this.outbox);
  }

  /**
   * The hot path: a QoS 0 message written at once from the caller's bytes,
   * nothing stored, when connected, nothing waits and it fits. False if not
   * taken: then `store()` and `flush()` it. (Two calls, not one that
   * flushes: the device's XS stack is 512 slots, and an update's progress is
   * published from deep inside a message handler.)
   */
  direct(
    topic: Uint8Array,
    payload: string | Uint8Array,
    qos: QoS,
    retain: boolean,
    kind: MessageKind,
    connected: boolean,
  ): boolean {
    if (qos !== 0 || typeof payload === "string" || !connected || this.outbox.length !== 0) return false;
    if (!this.wire.fits(topic.length, payload.length, 0)) return false;
    this.wire.publish(topic, payload, payload.length, 0, retain, false, 0);
    if (kind === "data") this.report.delivered();
    return true;
  }

  /** Stores a message whose topic is already encoded, with a packet id if QoS > 0; false if the outbox refused it. */
  store(topic: Uint8Array, payload: string | Uint8Array, qos: QoS, retain: boolean, kind: MessageKind): boolean {
    const message = this.outbox.add(topic, payload, qos, retain, kind);
    if (!message) return false;
    if (qos > 0) message.packetId = this.nextId();
    return true;
  }

  /** PUBACK or PUBCOMP for one of ours. */
  acknowledged(packetId: number, qos: QoS, open: boolean, connected: boolean): void {
    if (this.outbox.acknowledged(packetId, qos) === "data") this.report.delivered();
    this.flush(open, connected);
  }

  /** Writes what waits in the outbox, as far as the socket takes it; reports when it ran empty. */
  flush(open: boolean, connected: boolean): void {
    if (open && !this.hold) this.write();
    const empty = this.outbox.length === 0;
    if (empty && !this.idle && connected) {
      this.idle = true;
      this.report.drained();
    } else if (!empty) {
      this.idle = false;
    }
  }

  private write(): void {
    const items = this.outbox.items;
    for (let i = 0; i < items.length; i++) {
      const message = items[i];
      if (message.inflight) continue;
      if (!this.wire.fits(message.topic.length, message.length, message.qos)) return;
      this.writeOne(message);
      if (message.qos === 0) {
        const data = message.kind === "data";
        this.outbox.removeAt(i);
        i--;
        if (data) this.report.delivered();
      }
      if (this.wire.socket === undefined) return;
    }
  }

  private writeOne(message: Message): void {
    if (message.released) this.wire.ack(PUBREL, message.packetId);
    else
      this.wire.publish(
        message.topic,
        message.bytes,
        message.length,
        message.qos,
        message.retain,
        message.sent && message.qos > 0,
        message.packetId,
      );
    message.sent = true;
    message.inflight = true;
  }
}
