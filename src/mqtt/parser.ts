/**
 * Streaming MQTT 3.1.1 parser for the packets a server sends a client.
 *
 * Byte-driven: any split or coalescing of the stream is accepted. Each packet
 * is copied into one buffer allocated at construction, validated, and handed
 * to the handler as one reused `Packet` whose byte ranges point into that
 * buffer; nothing is allocated per packet. That buffer is sized to the
 * packets a connection carries all the time (acknowledgements, commands:
 * `initialSize`, 128 bytes); a larger packet, up to the limit, is read into
 * a buffer made for it and let go once it was handed out.
 *
 * A PUBLISH larger than the limit does not end the stream: its first bytes
 * (header, topic, packet id) are kept, the rest is read through and
 * discarded, and it is handed out marked `truncated`, so that the session can
 * acknowledge it and stay connected while memory stays bounded.
 */
import type { Packet, QoS } from "./packet";
import { CONNACK, PINGRESP, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, UNSUBACK } from "./packet";
import { checkTopicNameBytes } from "./topic";

export interface ParserHandler {
  onPacket(p: Packet): void;
  onError(fault: string): void;
}

/** Names of the packet types a server may send, by type; "" for the others. */
const NAMES = [
  "",
  "",
  "CONNACK",
  "PUBLISH",
  "PUBACK",
  "PUBREC",
  "PUBREL",
  "PUBCOMP",
  "",
  "SUBACK",
  "",
  "UNSUBACK",
  "",
  "PINGRESP",
  "",
  "",
];

const HEADER = 0; // expecting the first byte
const LENGTH = 1; // reading the Remaining Length field
const BODY = 2; // copying the rest of the packet
const SKIP = 3; // reading through the part of an oversized PUBLISH that is not kept
const DEAD = 4; // after an error, until reset()

/**
 * The packet every parser of the process fills and hands out: a handler
 * reads it before it returns (see `Packet`), and no parser finishes a packet
 * while another's handler runs, so one object serves a simulator's thousands
 * of connections (144 bytes each on V8).
 */
let sharedPacket: Packet | undefined;

function newPacket(buf: Uint8Array): Packet {
  return {
    type: 0,
    flags: 0,
    qos: 0,
    retain: false,
    dup: false,
    packetId: 0,
    sessionPresent: false,
    returnCode: 0,
    buf,
    topicStart: 0,
    topicEnd: 0,
    payloadStart: 0,
    payloadEnd: 0,
    size: 0,
    truncated: false,
  };
}

export class Parser {
  #handler: ParserHandler;
  #max: number;
  /** The buffer kept for the connection's life, and the one the current packet is read into (#base, or a larger one). */
  #base: Uint8Array;
  #buf: Uint8Array;
  #packet: Packet;
  #state = HEADER;
  /** Bytes of the current packet in #buf so far. */
  #at = 0;
  /** Remaining Length, as far as read. */
  #remaining = 0;
  #multiplier = 1;
  /** Fixed header size and whole size of the current packet, once its Remaining Length is read. */
  #headerSize = 0;
  #size = 0;
  /** Bytes of the current packet kept in #buf: #size, or #max for an oversized PUBLISH. */
  #kept = 0;
  /** Bumped by reset(), so that push() notices a reset made from a handler. */
  #epoch = 0;

  constructor(handler: ParserHandler, maxPacketSize = 4096, initialSize = 128) {
    if (!(Number.isInteger(maxPacketSize) && maxPacketSize >= 2))
      throw new RangeError("maxPacketSize must be an integer >= 2");
    this.#handler = handler;
    this.#max = maxPacketSize;
    // At least 5 bytes: the fixed header (type and a 4-byte length) always fits.
    this.#base = this.#buf = new Uint8Array(Math.min(maxPacketSize, Math.max(5, initialSize)));
    this.#packet = sharedPacket ??= newPacket(this.#buf);
  }

  /** The buffer the parser keeps; `Packet.buf` is this one unless the packet was larger. */
  get buffer(): Uint8Array {
    return this.#base;
  }

  /** Forgets any partial packet and any error: the next byte starts a packet. */
  reset(): void {
    this.#state = HEADER;
    this.#buf = this.#base;
    this.#epoch++;
  }

  /**
   * Feeds bytes [start, end) of chunk. Any split or coalescing of the stream is accepted.
   * After an error it ignores input until reset(). Never throws on any input;
   * an exception thrown by the handler propagates to the caller.
   */
  push(chunk: Uint8Array, start = 0, end = chunk.length): void {
    let buf = this.#buf;
    const epoch = this.#epoch;
    let i = start;
    while (i < end && this.#epoch === epoch) {
      switch (this.#state) {
        case HEADER: {
          const b = chunk[i++];
          buf[0] = b;
          this.#at = 1;
          this.#remaining = 0;
          this.#multiplier = 1;
          this.#state = LENGTH;
          const fault = checkFirstByte(b);
          if (fault) this.#fail(fault);
          break;
        }
        case LENGTH: {
          const b = chunk[i++];
          buf[this.#at++] = b;
          this.#remaining += (b & 0x7f) * this.#multiplier;
          if (b & 0x80) {
            if (this.#at === 5) this.#fail("remaining length exceeds 4 bytes");
            this.#multiplier *= 128;
            break;
          }
          const remaining = this.#remaining;
          const size = this.#at + remaining;
          this.#headerSize = this.#at;
          this.#size = size;
          this.#kept = size;
          let fault = checkRemaining(buf[0], remaining);
          if (!fault && size > this.#max) {
            if (buf[0] >> 4 === PUBLISH) this.#kept = this.#max;
            else fault = `packet too large (${size} > ${this.#max})`;
          }
          if (fault) this.#fail(fault);
          else if (remaining === 0) this.#finish();
          else {
            if (this.#kept > buf.length) {
              // A packet larger than the kept buffer: read into one of its own size.
              const larger = new Uint8Array(this.#kept);
              for (let k = 0; k < this.#at; k++) larger[k] = buf[k];
              this.#buf = buf = larger;
            }
            this.#state = BODY;
          }
          break;
        }
        case BODY: {
          // A plain loop: buf.set(chunk.subarray(…)) would allocate a view per chunk.
          const kept = this.#kept;
          let at = this.#at;
          while (at < kept && i < end) buf[at++] = chunk[i++];
          this.#at = at;
          if (at === this.#size) {
            this.#finish();
            buf = this.#buf;
          } else if (at === kept) this.#state = SKIP;
          break;
        }
        case SKIP: {
          const take = Math.min(end - i, this.#size - this.#at);
          i += take;
          this.#at += take;
          if (this.#at === this.#size) {
            this.#finish();
            buf = this.#buf;
          }
          break;
        }
        default:
          return; // DEAD
      }
    }
  }

  #fail(fault: string): void {
    this.#state = DEAD;
    this.#handler.onError(fault);
  }

  /** The whole packet is in #buf[0, #size): validate it and hand it out. */
  #finish(): void {
    const buf = this.#buf;
    const p = this.#packet;
    const h = this.#headerSize;
    const end = this.#kept;
    const truncated = end < this.#size;
    const type = buf[0] >> 4;
    p.type = type;
    p.flags = buf[0] & 0x0f;
    p.qos = 0;
    p.retain = false;
    p.dup = false;
    p.packetId = 0;
    p.sessionPresent = false;
    p.returnCode = 0;
    p.topicStart = p.topicEnd = p.payloadStart = p.payloadEnd = 0;
    p.size = this.#size;
    p.truncated = truncated;
    p.buf = buf;
    // The next packet starts in the kept buffer again; a larger one made for this packet goes with it.
    this.#buf = this.#base;
    this.#state = HEADER;

    let fault: string | null = null;
    switch (type) {
      case CONNACK: {
        const ackFlags = buf[h];
        const code = buf[h + 1];
        p.sessionPresent = (ackFlags & 0x01) !== 0;
        p.returnCode = code;
        if (ackFlags & 0xfe) fault = `reserved bits 0x${hex(ackFlags)} in CONNACK flags`;
        else if (code > 5) fault = `CONNACK return code ${code}`;
        else if (code !== 0 && p.sessionPresent) fault = `session present with CONNACK return code ${code}`;
        break;
      }
      case PUBLISH: {
        const qos = ((p.flags >> 1) & 0x03) as QoS;
        const topicLength = u16(buf, h);
        const topicEnd = h + 2 + topicLength;
        const payloadStart = topicEnd + (qos > 0 ? 2 : 0);
        p.qos = qos;
        p.retain = (p.flags & 0x01) !== 0;
        p.dup = (p.flags & 0x08) !== 0;
        if (payloadStart > end) {
          fault = truncated
            ? `PUBLISH topic of ${topicLength} bytes exceeds the packet limit ${this.#max}`
            : `topic length ${topicLength} exceeds remaining length`;
          break;
        }
        p.topicStart = h + 2;
        p.topicEnd = topicEnd;
        p.payloadStart = payloadStart;
        p.payloadEnd = end;
        if (topicLength === 0) fault = "empty PUBLISH topic";
        else fault = checkTopicNameBytes(buf, h + 2, topicEnd);
        if (!fault && qos > 0) {
          p.packetId = u16(buf, topicEnd);
          if (p.packetId === 0) fault = "packet id 0 on PUBLISH";
        }
        break;
      }
      case PINGRESP:
        break;
      default: // PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK
        p.packetId = u16(buf, h);
        if (p.packetId === 0) fault = `packet id 0 on ${NAMES[type]}`;
        else if (type === SUBACK) {
          p.payloadStart = h + 2;
          p.payloadEnd = end;
          for (let i = h + 2; i < end; i++) {
            const code = buf[i];
            if (code > 2 && code !== 0x80) {
              fault = `SUBACK return code 0x${hex(code)}`;
              break;
            }
          }
        }
    }
    if (fault) {
      this.#fail(fault);
      return;
    }
    this.#handler.onPacket(p);
  }
}

function u16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}

function hex(n: number): string {
  return n.toString(16);
}

/** Type and reserved flags (2.2.2), from the first byte alone. */
function checkFirstByte(b: number): string | null {
  const type = b >> 4;
  const flags = b & 0x0f;
  if (NAMES[type] === "") return `unexpected packet type ${type}`;
  if (type === PUBLISH) {
    if ((flags & 0x06) === 0x06) return "QoS 3 in PUBLISH";
    if ((flags & 0x0e) === 0x08) return "DUP set on QoS 0 PUBLISH";
    return null;
  }
  const expected = type === PUBREL ? 0x02 : 0;
  return flags === expected ? null : `reserved flags 0x${flags.toString(16)} on ${NAMES[type]}`;
}

/** Remaining Length checks that need no body (3.x.1). */
function checkRemaining(first: number, n: number): string | null {
  const type = first >> 4;
  switch (type) {
    case CONNACK:
    case PUBACK:
    case PUBREC:
    case PUBREL:
    case PUBCOMP:
    case UNSUBACK:
      if (n === 2) return null;
      break;
    case PINGRESP:
      if (n === 0) return null;
      break;
    case SUBACK:
      if (n >= 3) return null;
      break;
    default: // PUBLISH: topic length, a topic of at least 1 byte, packet id if QoS > 0
      if (n >= ((first & 0x06) === 0 ? 3 : 5)) return null;
  }
  return `remaining length ${n} on ${NAMES[type]}`;
}
