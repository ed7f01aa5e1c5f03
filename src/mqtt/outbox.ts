/**
 * The bounded outbound store: messages waiting to be sent and QoS 1/2 messages
 * waiting for their acknowledgement, in sending order.
 *
 * Two lanes, each bounded by count and bytes, so that one kind of message
 * can never crowd out the other:
 * - `data` (readings): when the lane is full, the oldest reading that was
 *   never written to any connection is dropped (QoS 0 before QoS 1, never
 *   QoS 2), counted and reported. A message already written may have reached
 *   the broker: it is never a victim.
 * - control: announcements of state (`latest`: availability, LED state,
 *   discovery, diag, config) and events (`event`: errors). They go ahead of
 *   readings not yet written, and never displace a reading. A `latest`
 *   message replaces a never-written one on the same topic (the newer state
 *   says all the older did); when the lane is full it takes the place of the
 *   oldest never-written event, else it is refused. An `event` is refused
 *   when the lane is full. Control messages refused are not counted in
 *   `dropped`, which counts readings only.
 *
 * Message records and their payload buffers are pooled (one pool per process): once warm, storing
 * and removing a message allocates nothing. A record's buffer is sized to a
 * reading (RECORD_BYTES); a larger payload (a discovery config, at each
 * connect) gets a buffer of its own that is let go with the message, so the
 * pool never keeps what only announcements need.
 */
import { utf8Length, writeUtf8 } from "../utf8";
import type { QoS } from "./packet";

/** What a message is, which decides what may make room for it. */
export type MessageKind = "data" | "latest" | "event";

export interface Message {
  topic: Uint8Array;
  /** The payload: the first `length` bytes of `bytes`. */
  length: number;
  bytes: Uint8Array;
  qos: QoS;
  retain: boolean;
  kind: MessageKind;
  /** 0 for QoS 0. */
  packetId: number;
  /** Written to a connection at least once (resends carry DUP). */
  sent: boolean;
  /** Written on the current connection: waiting for its acknowledgement. */
  inflight: boolean;
  /** QoS 2: PUBREC received, PUBREL sent, waiting for PUBCOMP. */
  released: boolean;
}

/** Bounds of a lane: messages and bytes (topic + payload). */
export interface LaneBounds {
  count: number;
  bytes: number;
}

/** Room for the control lane: status, LED, three discovery configs, diag, config echo and a few errors. */
export const CONTROL_BOUNDS: LaneBounds = { count: 12, bytes: 4096 };

const EMPTY = new Uint8Array(0);
/**
 * Payload buffer a pooled record keeps: a reading fits (`{"data":…}` about
 * 32 bytes, a replayed one with its `time` about 55), and so do the LED
 * state, availability and most errors; discovery configs and diag do not.
 */
export const RECORD_BYTES = 64;
/**
 * Records kept for reuse: the pool is shared by every outbox of the process
 * (one on a device; a simulator's fleet has thousands, each holding a record
 * only while its message waits), made at first use. It keeps at most POOL
 * records, and one more per outbox made, so that a fleet whose devices
 * publish at once finds them all again.
 */
const POOL = 8;
let sharedPool: Message[] | undefined;
let poolLimit = POOL;

/** The payload as a view of its exact length (allocates one: for tests and diagnostics, not the write path). */
export function payloadOf(message: Message): Uint8Array {
  return message.bytes.subarray(0, message.length);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class Outbox {
  readonly items: Message[] = [];
  /** Readings dropped because their lane was full: they never reached any connection. */
  dropped = 0;
  private dataCount = 0;
  private dataBytes = 0;
  private controlCount = 0;
  private controlBytes = 0;
  private readonly pool = (sharedPool ??= []);

  constructor(
    readonly data: LaneBounds,
    readonly control: LaneBounds,
    /** Called for each reading dropped, after the store is consistent again, so it may publish. */
    private readonly onDrop: (topic: Uint8Array, qos: QoS) => void,
  ) {
    poolLimit++;
  }

  get length(): number {
    return this.items.length;
  }

  /** Bytes (topics + payloads) stored in both lanes. */
  get bytes(): number {
    return this.dataBytes + this.controlBytes;
  }

  /** Stores a copy of the payload, making room as its kind allows. Returns the message, or undefined if it was refused. */
  add(
    topic: Uint8Array,
    payload: Uint8Array | string,
    qos: QoS,
    retain: boolean,
    kind: MessageKind = "data",
  ): Message | undefined {
    const message = this.fill(this.take(), topic, payload, qos, retain, kind);
    const size = topic.length + message.length;
    if (kind === "data") {
      const { count, bytes } = this.data;
      while (this.dataCount >= count || this.dataBytes + size > bytes) {
        const index = size > bytes ? -1 : this.oldest("data");
        if (index < 0) {
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
      this.items.push(message);
      this.dataCount++;
      this.dataBytes += size;
      return message;
    }
    if (kind === "latest") {
      const index = this.unwritten(topic);
      if (index >= 0) this.removeAt(index);
    }
    const { count, bytes } = this.control;
    while (this.controlCount >= count || this.controlBytes + size > bytes) {
      const index = kind === "latest" && size <= bytes ? this.oldest("event") : -1;
      if (index < 0) {
        this.recycle(message);
        return undefined;
      }
      this.removeAt(index);
    }
    // Ahead of every reading not yet written.
    const items = this.items;
    let at = items.length;
    for (let i = 0; i < items.length; i++) {
      if (items[i].kind === "data" && !items[i].sent) {
        at = i;
        break;
      }
    }
    items.push(message);
    for (let i = items.length - 1; i > at; i--) items[i] = items[i - 1];
    items[at] = message;
    this.controlCount++;
    this.controlBytes += size;
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
    const size = message.topic.length + message.length;
    if (message.kind === "data") {
      this.dataCount--;
      this.dataBytes -= size;
    } else {
      this.controlCount--;
      this.controlBytes -= size;
    }
    this.recycle(message);
  }

  /**
   * PUBACK (QoS 1) or PUBCOMP (QoS 2) arrived for `packetId`: the message in
   * flight with that id and QoS is removed. Returns its kind, or undefined if
   * none matched (a stray or late acknowledgement).
   */
  acknowledged(packetId: number, qos: QoS): MessageKind | undefined {
    const index = this.indexOf(packetId);
    if (index < 0) return undefined;
    const message = this.items[index];
    if (message.qos !== qos || !message.inflight) return undefined;
    const kind = message.kind;
    this.removeAt(index);
    return kind;
  }

  /** PUBREC arrived for a QoS 2 message: from now on it is PUBREL that is (re)sent for it. */
  released(packetId: number): void {
    const index = this.indexOf(packetId);
    if (index >= 0 && this.items[index].qos === 2) this.items[index].released = true;
  }

  /** The connection is gone: QoS 0 messages already written are gone too; unacknowledged QoS 1/2 ones stay to be sent again. */
  connectionLost(): void {
    const items = this.items;
    for (let i = items.length - 1; i >= 0; i--) {
      if (items[i].qos === 0 && items[i].sent) this.removeAt(i);
      else items[i].inflight = false;
    }
  }

  /**
   * The oldest message of this kind never written to a connection, or -1:
   * QoS 0 first, then QoS 1; QoS 2 (exactly once) is never dropped once accepted.
   */
  private oldest(kind: MessageKind): number {
    const items = this.items;
    for (let qos = 0; qos <= 1; qos++) {
      for (let i = 0; i < items.length; i++)
        if (items[i].kind === kind && items[i].qos === qos && !items[i].sent) return i;
    }
    return -1;
  }

  /** A control message on `topic` never written to a connection, or -1. */
  private unwritten(topic: Uint8Array): number {
    const items = this.items;
    for (let i = 0; i < items.length; i++) {
      const m = items[i];
      if (m.kind === "latest" && !m.sent && sameBytes(m.topic, topic)) return i;
    }
    return -1;
  }

  /** Keeps the record for reuse, with its buffer if that is a reading's size (a larger one is let go). */
  private recycle(message: Message): void {
    if (this.pool.length >= poolLimit) return;
    if (message.bytes.length > RECORD_BYTES) message.bytes = EMPTY;
    message.topic = EMPTY;
    this.pool.push(message);
  }

  private take(): Message {
    return (
      this.pool.pop() ?? {
        topic: EMPTY,
        length: 0,
        bytes: EMPTY,
        qos: 0,
        retain: false,
        kind: "data",
        packetId: 0,
        sent: false,
        inflight: false,
        released: false,
      }
    );
  }

  /** Copies the payload into the record's buffer, growing it if needed. */
  private fill(
    message: Message,
    topic: Uint8Array,
    payload: Uint8Array | string,
    qos: QoS,
    retain: boolean,
    kind: MessageKind,
  ): Message {
    // A string is encoded straight into the buffer (allocation-free: see codec).
    const text = typeof payload === "string" ? payload : undefined;
    const room = text !== undefined ? utf8Length(text) : (payload as Uint8Array).length;
    if (room > message.bytes.length) message.bytes = new Uint8Array(Math.max(room, RECORD_BYTES));
    if (text !== undefined) message.length = writeUtf8(message.bytes, 0, text);
    else {
      message.bytes.set(payload as Uint8Array);
      message.length = (payload as Uint8Array).length;
    }
    message.topic = topic;
    message.qos = qos;
    message.retain = retain;
    message.kind = kind;
    message.packetId = 0;
    message.sent = message.inflight = message.released = false;
    return message;
  }
}
