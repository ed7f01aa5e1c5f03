/**
 * The bounded outbound store: messages waiting to be sent and QoS 1/2 messages
 * waiting for their acknowledgement, in order. Bounded by count and by bytes.
 *
 * When full, room is made by dropping the oldest QoS 0 message, then the
 * oldest QoS 1 message; QoS 2 messages are never dropped once accepted, so a
 * new message that still does not fit is refused. Every drop is reported.
 */
import type { QoS } from "./packet";

export interface Message {
  topic: Uint8Array;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  /** 0 for QoS 0. */
  packetId: number;
  /** Written to a connection at least once (resends carry DUP). */
  sent: boolean;
  /** Written on the current connection: waiting for its acknowledgement. */
  inflight: boolean;
  /** QoS 2: PUBREC received, PUBREL sent, waiting for PUBCOMP. */
  released: boolean;
}

export class Outbox {
  readonly items: Message[] = [];
  bytes = 0;
  dropped = 0;

  constructor(
    readonly maxCount: number,
    readonly maxBytes: number,
  ) {}

  get length(): number {
    return this.items.length;
  }

  /**
   * Adds a message at the end, dropping older ones if needed.
   * Returns the dropped messages (the new one itself if it cannot fit).
   */
  add(message: Message): Message[] {
    const dropped: Message[] = [];
    const size = sizeOf(message);
    if (size > this.maxBytes) {
      dropped.push(message);
    } else {
      while (this.items.length >= this.maxCount || this.bytes + size > this.maxBytes) {
        const index = this.victim();
        if (index < 0) break;
        dropped.push(this.removeAt(index));
      }
      if (this.items.length < this.maxCount && this.bytes + size <= this.maxBytes) {
        this.items.push(message);
        this.bytes += size;
      } else {
        dropped.push(message);
      }
    }
    this.dropped += dropped.length;
    return dropped;
  }

  /** Index of the message with this packet id, or -1. */
  indexOf(packetId: number): number {
    const items = this.items;
    for (let i = 0; i < items.length; i++) if (items[i].packetId === packetId) return i;
    return -1;
  }

  removeAt(index: number): Message {
    const [message] = this.items.splice(index, 1);
    this.bytes -= sizeOf(message);
    return message;
  }

  private victim(): number {
    const items = this.items;
    for (let i = 0; i < items.length; i++) if (items[i].qos === 0) return i;
    for (let i = 0; i < items.length; i++) if (items[i].qos === 1) return i;
    return -1;
  }
}

function sizeOf(message: Message): number {
  return message.topic.length + message.payload.length;
}
