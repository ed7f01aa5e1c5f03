/**
 * Inbound dispatch of what the broker sends once connected: application
 * messages by QoS (0: deliver; 1: deliver, PUBACK; 2: deliver once, PUBREC,
 * and PUBCOMP on PUBREL), oversized ones reported unseen, and the SUBACKs and
 * UNSUBACKs of pending requests. Acknowledgements of our own messages
 * (PUBACK, PUBREC, PUBCOMP) are the outbound side's, in the client.
 */
import { decodeUtf8 } from "../utf8";
import { ExactlyOnce } from "./exactly-once";
import { type Packet, PUBACK, PUBCOMP, PUBREC, SUBACK } from "./packet";
import type { Reporter } from "./reporter";
import type { Subscriptions } from "./subscriptions";
import { Views } from "./views";
import type { Wire } from "./wire";

export class Inbound {
  /** Inbound QoS 2 ids delivered and not yet released. */
  readonly exactlyOnce: ExactlyOnce;
  /** Views of the parser's own buffer, made at the first message received. */
  private views: Views | undefined;

  constructor(
    private readonly wire: Wire,
    private readonly report: Reporter,
    private readonly subscriptions: Subscriptions,
    /** The parser's own buffer: payloads in it are handed out as cached views. */
    private readonly buffer: Uint8Array,
    maxQos2: number,
  ) {
    this.exactlyOnce = new ExactlyOnce(maxQos2);
  }

  /** A PUBLISH: delivered (QoS 2: on first receipt only) or reported too large, then acknowledged as its QoS requires. */
  publish(packet: Packet): void {
    const { qos, packetId } = packet;
    if (qos < 2 || this.exactlyOnce.first(packetId)) {
      if (packet.truncated) this.tooLarge(packet);
      else this.deliver(packet);
    }
    if (qos > 0) this.wire.ack(qos === 1 ? PUBACK : PUBREC, packetId);
  }

  /** PUBREL: the QoS 2 message is released; PUBCOMP whether or not we still knew it. */
  release(packetId: number): void {
    this.exactlyOnce.release(packetId);
    this.wire.ack(PUBCOMP, packetId);
  }

  /** SUBACK or UNSUBACK: the request settled; each refused filter (0x80) reported. */
  settled(packet: Packet): void {
    const request = this.subscriptions.settle(packet.packetId);
    if (!request || packet.type !== SUBACK) return;
    const codes = packet.buf;
    for (let i = 0; i < request.subscriptions.length; i++) {
      const at = packet.payloadStart + i;
      if (at < packet.payloadEnd && codes[at] === 0x80) this.report.subscribeFailed(request.subscriptions[i].filter);
    }
  }

  private tooLarge(packet: Packet): void {
    this.report.tooLarge(decodeUtf8(packet.buf, packet.topicStart, packet.topicEnd) ?? "", packet.size, packet.retain);
  }

  private deliver(packet: Packet): void {
    const handler = this.report.handler;
    if (!handler.onMessage) return;
    const topic = decodeUtf8(packet.buf, packet.topicStart, packet.topicEnd) ?? "";
    // The parser's own buffer, or one it made for a packet larger than that (rare: a plain view).
    let payload: Uint8Array;
    if (packet.buf === this.buffer)
      payload = (this.views ??= new Views(packet.buf)).get(packet.payloadStart, packet.payloadEnd);
    else payload = packet.buf.subarray(packet.payloadStart, packet.payloadEnd);
    // The handler called here, not through the reporter: one frame less on the device's small stack.
    try {
      handler.onMessage(topic, payload, packet.qos, packet.retain); // as a method: handlers may be class instances
    } catch (error) {
      this.report.failed(error);
    }
  }
}
