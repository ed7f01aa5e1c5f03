/**
 * MQTT 3.1.1 encoders (client → server).
 *
 * Every encoder comes as a pair: `xxxLength()` gives the exact size of the
 * packet, `writeXxx(out, at, …)` writes it into caller-owned bytes at `at` and
 * returns the offset just past it. Nothing is concatenated and, apart from
 * `utf8()`, nothing is allocated. Encoders assume validated input; they throw
 * RangeError only for lengths MQTT cannot encode.
 */

import { utf8Length, writeUtf8 } from "../utf8";
import {
  CONNECT,
  type ConnectOptions,
  DISCONNECT,
  PINGREQ,
  PUBLISH,
  PUBREL,
  type QoS,
  SUBSCRIBE,
  UNSUBSCRIBE,
} from "./packet";

/** Largest value of the Remaining Length field (2.2.3). */
const MAX_REMAINING = 268435455;

// UTF-8 (../utf8) and the topic rules (./topic) are their own modules, used
// by the parser and the configuration too; the client takes them from here.
export { utf8, utf8Length, writeUtf8 } from "../utf8";
export { checkTopicFilter, checkTopicName } from "./topic";

// ---------------------------------------------------------------- primitives

/** Bytes of the Remaining Length field for `n` (2.2.3). */
export function varLengthSize(n: number): number {
  if (!(n >= 0 && n <= MAX_REMAINING)) throw new RangeError(`remaining length ${n} out of range`);
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4;
}

/** Writes the Remaining Length field; returns the new offset. */
export function writeVarLength(out: Uint8Array, at: number, n: number): number {
  varLengthSize(n);
  do {
    const b = n % 128;
    n = Math.floor(n / 128);
    out[at++] = n > 0 ? b | 0x80 : b;
  } while (n > 0);
  return at;
}

function writeU16(out: Uint8Array, at: number, n: number): number {
  out[at] = n >> 8;
  out[at + 1] = n & 0xff;
  return at + 2;
}

function checkU16Length(n: number): number {
  if (n > 0xffff) throw new RangeError("field longer than 65535 bytes");
  return n;
}

/** Raw bytes. */
function writeBytes(out: Uint8Array, at: number, b: Uint8Array): number {
  out.set(b, at);
  return at + b.length;
}

/** A length-prefixed field (will payload, encoded topics): 2-byte length, then the bytes. */
function fieldSize(b: Uint8Array): number {
  return 2 + checkU16Length(b.length);
}

function writeField(out: Uint8Array, at: number, b: Uint8Array): number {
  return writeBytes(out, writeU16(out, at, b.length), b);
}

/** A UTF-8 string field (1.5.3): 2-byte length, then the UTF-8 bytes. */
function stringSize(s: string): number {
  return 2 + checkU16Length(s.length > 0xffff ? s.length : utf8Length(s));
}

function writeString(out: Uint8Array, at: number, s: string): number {
  return writeUtf8(out, writeU16(out, at, utf8Length(s)), s);
}

/** Whole packet size from the remaining length. */
function total(remaining: number): number {
  return 1 + varLengthSize(remaining) + remaining;
}

// ---------------------------------------------------------------- CONNECT (3.1)

/** Protocol Name "MQTT", Protocol Level 4. */
const PROTOCOL = [0, 4, 0x4d, 0x51, 0x54, 0x54, 4];

/** Size of everything after the fixed header. */
function connectRemaining(o: ConnectOptions): number {
  let n = PROTOCOL.length + 1 + 2 + stringSize(o.clientId);
  if (o.will) n += stringSize(o.will.topic) + fieldSize(o.will.payload);
  if (o.username !== undefined) n += stringSize(o.username);
  if (o.password !== undefined) n += stringSize(o.password);
  return n;
}

export function connectLength(o: ConnectOptions): number {
  return total(connectRemaining(o));
}

export function writeConnect(out: Uint8Array, at: number, o: ConnectOptions): number {
  const will = o.will;
  let flags = o.cleanSession ? 0x02 : 0;
  if (will) flags |= 0x04 | (will.qos << 3) | (will.retain ? 0x20 : 0);
  if (o.password !== undefined) flags |= 0x40;
  if (o.username !== undefined) flags |= 0x80;

  out[at++] = CONNECT << 4;
  at = writeVarLength(out, at, connectRemaining(o));
  for (let i = 0; i < PROTOCOL.length; i++) out[at++] = PROTOCOL[i];
  out[at++] = flags;
  at = writeU16(out, at, o.keepalive);
  at = writeString(out, at, o.clientId);
  if (will) {
    at = writeString(out, at, will.topic);
    at = writeField(out, at, will.payload);
  }
  if (o.username !== undefined) at = writeString(out, at, o.username);
  if (o.password !== undefined) at = writeString(out, at, o.password);
  return at;
}

// ---------------------------------------------------------------- PUBLISH (3.3)

/** Fixed header + topic + packet id of a PUBLISH; the payload is written separately by the caller (no concatenation). */
export function publishHeaderLength(topicLength: number, payloadLength: number, qos: QoS): number {
  const head = 2 + checkU16Length(topicLength) + (qos > 0 ? 2 : 0);
  return 1 + varLengthSize(head + payloadLength) + head;
}

/** Writes everything of a PUBLISH before its payload; the caller then writes `payloadLength` bytes at the returned offset. */
export function writePublishHeader(
  out: Uint8Array,
  at: number,
  topic: Uint8Array,
  payloadLength: number,
  qos: QoS,
  retain: boolean,
  dup: boolean,
  packetId: number,
): number {
  const head = 2 + checkU16Length(topic.length) + (qos > 0 ? 2 : 0);
  out[at++] = (PUBLISH << 4) | (dup ? 0x08 : 0) | (qos << 1) | (retain ? 0x01 : 0);
  at = writeVarLength(out, at, head + payloadLength);
  at = writeField(out, at, topic);
  return qos > 0 ? writeU16(out, at, packetId) : at;
}

/** Size of a whole PUBLISH whose topic is `topic` (bytes, or a string encoded as UTF-8). */
export function publishLength(topic: Uint8Array | string, payloadLength: number, qos: QoS): number {
  return (
    publishHeaderLength(typeof topic === "string" ? utf8Length(topic) : topic.length, payloadLength, qos) +
    payloadLength
  );
}

/**
 * Writes a whole PUBLISH at `at`: header, topic (bytes, or a string encoded
 * straight into `out`, allocating nothing), packet id, payload. Returns the
 * offset past it. The caller checks the topic (`checkTopicName`).
 */
export function writePublish(
  out: Uint8Array,
  at: number,
  topic: Uint8Array | string,
  payload: Uint8Array,
  qos: QoS,
  retain: boolean,
  dup: boolean,
  packetId: number,
): number {
  const topicLength = typeof topic === "string" ? utf8Length(topic) : topic.length;
  const head = 2 + checkU16Length(topicLength) + (qos > 0 ? 2 : 0);
  out[at++] = (PUBLISH << 4) | (dup ? 0x08 : 0) | (qos << 1) | (retain ? 0x01 : 0);
  at = writeVarLength(out, at, head + payload.length);
  at = writeU16(out, at, topicLength);
  at = typeof topic === "string" ? writeUtf8(out, at, topic) : writeBytes(out, at, topic);
  if (qos > 0) at = writeU16(out, at, packetId);
  return writeBytes(out, at, payload);
}

// ---------------------------------------------------------------- acks, ping, disconnect

/** 4-byte acks: PUBACK, PUBREC, PUBREL (flags 0b0010), PUBCOMP, and also UNSUBACK-shaped. */
export function writeAck(out: Uint8Array, at: number, type: number, packetId: number): number {
  out[at] = (type << 4) | (type === PUBREL ? 0x02 : 0);
  out[at + 1] = 2;
  return writeU16(out, at + 2, packetId);
}

export function writePingreq(out: Uint8Array, at: number): number {
  out[at] = PINGREQ << 4;
  out[at + 1] = 0;
  return at + 2;
}

export function writeDisconnect(out: Uint8Array, at: number): number {
  out[at] = DISCONNECT << 4;
  out[at + 1] = 0;
  return at + 2;
}

// ---------------------------------------------------------------- SUBSCRIBE (3.8), UNSUBSCRIBE (3.10)

function filtersSize(topics: Uint8Array[], perTopic: number): number {
  let n = 2; // packet id
  for (let i = 0; i < topics.length; i++) n += fieldSize(topics[i]) + perTopic;
  return n;
}

function writeFilters(
  out: Uint8Array,
  at: number,
  first: number,
  packetId: number,
  topics: Uint8Array[],
  qos?: QoS[],
): number {
  out[at++] = first;
  at = writeVarLength(out, at, filtersSize(topics, qos ? 1 : 0));
  at = writeU16(out, at, packetId);
  for (let i = 0; i < topics.length; i++) {
    at = writeField(out, at, topics[i]);
    if (qos) out[at++] = qos[i];
  }
  return at;
}

export function subscribeLength(topics: Uint8Array[]): number {
  return total(filtersSize(topics, 1));
}

/** `qos[i]` is the maximum QoS requested for `topics[i]`. */
export function writeSubscribe(
  out: Uint8Array,
  at: number,
  packetId: number,
  topics: Uint8Array[],
  qos: QoS[],
): number {
  return writeFilters(out, at, (SUBSCRIBE << 4) | 0x02, packetId, topics, qos);
}

export function unsubscribeLength(topics: Uint8Array[]): number {
  return total(filtersSize(topics, 0));
}

export function writeUnsubscribe(out: Uint8Array, at: number, packetId: number, topics: Uint8Array[]): number {
  return writeFilters(out, at, (UNSUBSCRIBE << 4) | 0x02, packetId, topics);
}
