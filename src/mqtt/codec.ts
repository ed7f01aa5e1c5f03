/**
 * MQTT 3.1.1 encoders (client → server) and topic helpers.
 *
 * Every encoder comes as a pair: `xxxLength()` gives the exact size of the
 * packet, `writeXxx(out, at, …)` writes it into caller-owned bytes at `at` and
 * returns the offset just past it. Nothing is concatenated and, apart from
 * `utf8()`, nothing is allocated. Encoders assume validated input; they throw
 * RangeError only for lengths MQTT cannot encode.
 */
import {
  CONNECT,
  DISCONNECT,
  PINGREQ,
  PUBLISH,
  PUBREL,
  SUBSCRIBE,
  UNSUBSCRIBE,
  type ConnectOptions,
  type QoS,
} from "./packet";

/** Largest value of the Remaining Length field (2.2.3). */
const MAX_REMAINING = 268435455;

// ---------------------------------------------------------------- UTF-8
//
// Encoded here rather than with TextEncoder, which is not a global on every
// Moddable target. The output is identical to TextEncoder's, lone surrogates
// included (U+FFFD).
//
// Characters are read with `String.prototype.charCodeAt` called on the
// primitive (`charCode(s, i)`), and a string's end is found by the NaN that
// reading past it gives, never by `s.length`: on XS every property access on
// a string primitive allocates a wrapper (a `charCodeAt` method call per
// character, or `.length` once), while a built-in called with the primitive
// as `this` allocates nothing. On V8 the same loop is optimized like a plain
// `s.charCodeAt(i)` loop (about 70 ns for a 22-character topic, where boxing
// the string with `new String` took 1.8 µs). One code path for both engines.

const charCodeAt = String.prototype.charCodeAt;

/** The UTF-16 code unit at `i`, or NaN past the end; allocates nothing on XS. */
function charCode(s: string, i: number): number {
  return charCodeAt.call(s, i);
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Bytes of `s` in UTF-8. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; ; i++) {
    const c = charCode(s, i);
    if (!(c >= 0)) return n; // NaN: past the end
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (isHigh(c) && isLow(charCode(s, i + 1))) {
      n += 4; // 2 code units
      i++;
    } else n += 3;
  }
}

/** UTF-8 encodes `s`, as TextEncoder does. */
export function utf8(s: string): Uint8Array {
  const out = new Uint8Array(utf8Length(s));
  writeUtf8(out, 0, s);
  return out;
}

/** Writes `s` as UTF-8 at `at`; returns the new offset. */
export function writeUtf8(out: Uint8Array, at: number, s: string): number {
  for (let i = 0; ; i++) {
    let c = charCode(s, i);
    if (!(c >= 0)) return at;
    if (c < 0x80) {
      out[at++] = c;
      continue;
    }
    if (isHigh(c) && isLow(charCode(s, i + 1))) {
      c = 0x10000 + ((c - 0xd800) << 10) + (charCode(s, ++i) - 0xdc00);
    } else if (isHigh(c) || isLow(c)) {
      c = 0xfffd;
    }
    if (c < 0x800) {
      out[at++] = 0xc0 | (c >> 6);
      out[at++] = 0x80 | (c & 0x3f);
    } else if (c < 0x10000) {
      out[at++] = 0xe0 | (c >> 12);
      out[at++] = 0x80 | ((c >> 6) & 0x3f);
      out[at++] = 0x80 | (c & 0x3f);
    } else {
      out[at++] = 0xf0 | (c >> 18);
      out[at++] = 0x80 | ((c >> 12) & 0x3f);
      out[at++] = 0x80 | ((c >> 6) & 0x3f);
      out[at++] = 0x80 | (c & 0x3f);
    }
  }
}

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
  return publishHeaderLength(typeof topic === "string" ? utf8Length(topic) : topic.length, payloadLength, qos) + payloadLength;
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

function writeFilters(out: Uint8Array, at: number, first: number, packetId: number, topics: Uint8Array[], qos?: QoS[]): number {
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
export function writeSubscribe(out: Uint8Array, at: number, packetId: number, topics: Uint8Array[], qos: QoS[]): number {
  return writeFilters(out, at, (SUBSCRIBE << 4) | 0x02, packetId, topics, qos);
}

export function unsubscribeLength(topics: Uint8Array[]): number {
  return total(filtersSize(topics, 0));
}

export function writeUnsubscribe(out: Uint8Array, at: number, packetId: number, topics: Uint8Array[]): number {
  return writeFilters(out, at, (UNSUBSCRIBE << 4) | 0x02, packetId, topics);
}

// ---------------------------------------------------------------- topics (4.7)

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;

// No regular expressions in this module, nor in any other the device
// preloads (hosttest/typecheck.test.ts checks): a RegExp made while preloading
// lives in flash without its match buffer; the SDK's XS makes one at each
// exec() with c_malloc (never freed) and its garbage collector takes it for
// one of its own chunks, so a collection while exec() builds the result of a
// match overwrites the pointer (the Moddable simulator crashed so, handling an
// `ota/set`: update/request.ts). Loops over the code units check the same and
// allocate nothing; XS caches where it last read a string, so a scan is linear.

/** Whether `s` has a lone surrogate: a high one not followed by a low one, or a low one not preceded by a high one. */
function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; ; i++) {
    const c = charCode(s, i);
    if (!(c >= 0)) return false;
    if (c < 0xd800 || c > 0xdfff) continue;
    if (isHigh(c) && isLow(charCode(s, i + 1))) i++;
    else return true;
  }
}

/** Whether a '#' in `filter` is not alone in the last level: after something other than '/', or followed by anything. */
function badHash(filter: string): boolean {
  const at = filter.indexOf("#");
  if (at < 0) return false;
  return charCode(filter, at + 1) >= 0 || (at > 0 && charCode(filter, at - 1) !== SLASH);
}

/** Whether a '+' in `filter` does not occupy a whole level: after or before something other than '/'. */
function badPlus(filter: string): boolean {
  for (let at = filter.indexOf("+"); at >= 0; at = filter.indexOf("+", at + 1)) {
    const next = charCode(filter, at + 1);
    if ((at > 0 && charCode(filter, at - 1) !== SLASH) || (next >= 0 && next !== SLASH)) return true;
  }
  return false;
}

/** Faults common to topic names and filters: empty, too long, U+0000, lone surrogate (1.5.3, 4.7.3). */
function checkTopicString(s: string, what: string): string | null {
  if (s.length === 0) return `empty ${what}`;
  // A UTF-16 code unit takes 1 to 3 bytes: only some long strings need measuring.
  if (s.length > 0xffff || (s.length > 0x5555 && utf8Length(s) > 0xffff)) return `${what} longer than 65535 bytes`;
  if (s.indexOf("\u0000") >= 0) return `U+0000 in ${what}`;
  if (hasLoneSurrogate(s)) return `lone surrogate in ${what}`;
  return null;
}

/** Validates an MQTT topic name for PUBLISH (non-empty, <= 65535 bytes, no + or #, no U+0000) — returns null or a fault string. */
export function checkTopicName(topic: string): string | null {
  const fault = checkTopicString(topic, "topic");
  if (fault) return fault;
  if (topic.indexOf("+") >= 0 || topic.indexOf("#") >= 0) return "wildcard in topic";
  return null;
}

/** Validates a topic filter for SUBSCRIBE (wildcard placement rules of 4.7.1) — null or fault string. */
export function checkTopicFilter(filter: string): string | null {
  const fault = checkTopicString(filter, "topic filter");
  if (fault) return fault;
  if (badHash(filter)) return "'#' must be last and occupy a whole level";
  if (badPlus(filter)) return "'+' must occupy a whole level";
  return null;
}

/**
 * Topic filter matching (4.7), for routing received messages: "a/+/c" matches "a/b/c", "a/#" matches "a".
 * A topic starting with '$' matches no filter starting with a wildcard (4.7.2).
 */
export function topicMatches(filter: string, topic: string): boolean {
  const fl = filter.length;
  const tl = topic.length;
  const f0 = filter.charCodeAt(0);
  if (topic.charCodeAt(0) === 0x24 && (f0 === PLUS || f0 === HASH)) return false;
  let f = 0;
  let t = 0;
  while (f < fl) {
    const c = filter.charCodeAt(f);
    if (c === HASH) return true; // this level, and all below
    if (c === PLUS) {
      while (t < tl && topic.charCodeAt(t) !== SLASH) t++; // one level, possibly empty
      f++;
    } else if (t < tl && topic.charCodeAt(t) === c) {
      f++;
      t++;
    } else {
      // "x/#" also matches the parent "x".
      return t === tl && c === SLASH && f + 2 === fl && filter.charCodeAt(f + 1) === HASH;
    }
  }
  return t === tl;
}
