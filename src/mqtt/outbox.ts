/**
 * The bounded outbound store: messages waiting to be sent and QoS 1/2 messages
 * waiting for their acknowledgement, in order. Bounded by count and by bytes.
 *
 * When full, room is made by dropping the oldest QoS 0 message, then the
 * oldest QoS 1 message; QoS 2 messages are never dropped once accepted, so a
 * new message that still does not fit is refused. Every drop is reported.
 *
 * Message records and their payload buffers are pooled: once warm, storing
 * and removing a message allocates nothing.
 */
import { boxed, utf8Length, writeUtf8 } from "./codec";
import type { QoS } from "./packet";
import { Views } from "./views";

export interface Message {
  topic: Uint8Array;
  /** The payload's bytes: the first `length` bytes of `views.buffer`. */
  length: number;
  views: Views;
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
  /** Order of arrival: drops take the oldest, wherever it stands in the queue. */
  seq: number;
}

const EMPTY = new Uint8Array(0);
/** Payload buffer a pooled record keeps: telemetry fits, discovery configs do not. */
const RECORD_BYTES = 128;

/** The payload as an exact-length view (cached per length). */
export function payloadOf(message: Message): Uint8Array {
  return message.views.get(0, message.length);
}

export class Outbox {
  readonly items: Message[] = [];
  bytes = 0;
  dropped = 0;
  private readonly pool: Message[] = [];
  private seq = 0;

  constructor(
    readonly maxCount: number,
    readonly maxBytes: number,
    /** Called after the store is consistent again, so it may publish. */
    private readonly onDrop: (topic: Uint8Array, qos: QoS) => void,
  ) {}

  get length(): number {
    return this.items.length;
  }

  /**
   * Stores a copy of the payload at the end (or at `position`), dropping
   * older messages if needed (unless `evict` is false). Returns the stored
   * message, or undefined if it was refused: reported through `onDrop` like
   * any drop, except when `evict` is false.
   */
  add(topic: Uint8Array, payload: Uint8Array | string, qos: QoS, retain: boolean, position = -1, evict = true): Message | undefined {
    const message = this.fill(this.take(), topic, payload, qos, retain);
    const size = topic.length + message.length;
    while (this.items.length >= this.maxCount || this.bytes + size > this.maxBytes) {
      const index = size > this.maxBytes || !evict ? -1 : this.victim();
      if (index < 0) {
        if (!evict) {
          this.recycle(message);
          return undefined;
        }
        this.recycle(message);
        this.dropped++;
        this.onDrop(topic, qos);
        return undefined;
      }
      const old = this.items[index];
      const oldTopic = old.topic;
      const oldQos = old.qos;
      this.removeAt(index);
      this.dropped++;
      this.onDrop(oldTopic, oldQos);
    }
    const items = this.items;
    items.push(message);
    if (position >= 0 && position < items.length - 1) {
      for (let i = items.length - 1; i > position; i--) items[i] = items[i - 1];
      items[position] = message;
    }
    this.bytes += size;
    return message;
  }

  /** Index of the message with this packet id, or -1. */
  indexOf(packetId: number): number {
    const items = this.items;
    for (let i = 0; i < items.length; i++) if (items[i].packetId === packetId) return i;
    return -1;
  }

  /** Removes the message at `index`; its record goes back to the pool. */
  removeAt(index: number): void {
    const items = this.items;
    const message = items[index];
    for (let i = index + 1; i < items.length; i++) items[i - 1] = items[i];
    items.length--;
    this.bytes -= message.topic.length + message.length;
    this.recycle(message);
  }

  /** Keeps the record for reuse; a buffer grown for a large message is let go. */
  private recycle(message: Message): void {
    if (this.pool.length >= this.maxCount) return;
    if (message.views.buffer.length > RECORD_BYTES) message.views = new Views(new Uint8Array(RECORD_BYTES), 8);
    this.pool.push(message);
  }

  private take(): Message {
    return (
      this.pool.pop() ?? {
        topic: EMPTY,
        length: 0,
        views: new Views(new Uint8Array(RECORD_BYTES), 8),
        qos: 0,
        retain: false,
        packetId: 0,
        sent: false,
        inflight: false,
        released: false,
        seq: 0,
      }
    );
  }

  /** Copies the payload into the record's buffer, growing it if needed. */
  private fill(message: Message, topic: Uint8Array, payload: Uint8Array | string, qos: QoS, retain: boolean): Message {
    // A string is encoded straight into the buffer (boxed once: see codec).
    const text = typeof payload === "string" ? boxed(payload) : undefined;
    const room = text ? utf8Length(text) : (payload as Uint8Array).length;
    if (room > message.views.buffer.length) message.views = new Views(new Uint8Array(Math.max(room, 2 * message.views.buffer.length)), 8);
    if (text) message.length = writeUtf8(message.views.buffer, 0, text);
    else {
      message.views.buffer.set(payload as Uint8Array);
      message.length = (payload as Uint8Array).length;
    }
    message.topic = topic;
    message.qos = qos;
    message.retain = retain;
    message.packetId = 0;
    message.sent = message.inflight = message.released = false;
    message.seq = this.seq++;
    return message;
  }

  /** The oldest QoS 0 message, else the oldest QoS 1 message, else -1. */
  private victim(): number {
    const items = this.items;
    let best = -1;
    for (let qos = 0; qos <= 1 && best < 0; qos++) {
      for (let i = 0; i < items.length; i++) {
        if (items[i].qos === qos && (best < 0 || items[i].seq < items[best].seq)) best = i;
      }
    }
    return best;
  }
}
