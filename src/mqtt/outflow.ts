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
import type { PacketIds, Subscriptions } from "./subscriptions";
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
    private readonly ids: PacketIds,
    private readonly subscriptions: Subscriptions,
  ) {}

  /** A new packet id, free of messages and requests in flight. */
  nextId(): number {
    return this.ids.next(this.outbox, this.subscriptions);
  }

  /** Sends or stores a message whose topic is already encoded; false if the outbox refused it. */
  publish(topic: Uint8Array, payload: string | Uint8Array, qos: QoS, retain: boolean, kind: MessageKind, open: boolean, connected: boolean): boolean {
    if (qos === 0 && typeof payload !== "string" && connected && this.outbox.length === 0) {
      // Hot path: written at once from the caller's bytes, nothing stored.
      if (this.wire.fits(topic.length, payload.length, 0)) {
        this.wire.publish(topic, payload, payload.length, 0, retain, false, 0);
        if (kind === "data") this.report.delivered();
        return true;
      }
    }
    const message = this.outbox.add(topic, payload, qos, retain, kind);
    if (!message) return false;
    if (qos > 0) message.packetId = this.nextId();
    this.flush(open, connected);
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
    else this.wire.publish(message.topic, message.bytes, message.length, message.qos, message.retain, message.sent && message.qos > 0, message.packetId);
    message.sent = true;
    message.inflight = true;
  }
}
