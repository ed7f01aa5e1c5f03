/**
 * MQTT 3.1.1 topic rules, once for the device: the client checks the topics
 * it publishes and the filters it subscribes to, the parser the topics it
 * receives, and the configuration the levels (id, prefix, discovery prefix)
 * every topic of the device is made of. Each check returns null or a fault
 * a user can read.
 *
 * - [MQTT-1.5.3-1] well-formed UTF-8: no surrogates (in a JavaScript string,
 *   no lone surrogate), nothing past U+10FFFF, no overlong form.
 * - [MQTT-1.5.3-2] no U+0000.
 * - [MQTT-1.5.3] at most 65535 bytes; [MQTT-4.7.3-1] at least one character.
 * - [MQTT-3.3.2-2] no wildcard ('+' or '#') in a topic name.
 * - [MQTT-4.7.1-2] '#' alone in the last level of a filter;
 *   [MQTT-4.7.1-3] '+' alone in its level.
 *
 * No regular expressions here, nor in any other module the device preloads
 * (hosttest/typecheck.test.ts checks): a RegExp made while preloading lives
 * in flash without its match buffer; the SDK's XS makes one at each exec()
 * with c_malloc (never freed) and its garbage collector takes it for one of
 * its own chunks, so a collection while exec() builds the result of a match
 * overwrites the pointer (the Moddable simulator crashed so, handling an
 * `ota/set`: update/request.ts). Loops over the code units check the same and
 * allocate nothing; XS caches where it last read a string, so a scan is linear.
 */
import { charCode, hasLoneSurrogate, utf8Length, utf8Sequence } from "../utf8";

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;

/** Faults common to topic names and filters: empty, too long, U+0000, lone surrogate. */
function checkTopicString(s: string, what: string): string | null {
  if (s.length === 0) return `empty ${what}`;
  // A UTF-16 code unit takes 1 to 3 bytes: only some long strings need measuring.
  if (s.length > 0xffff || (s.length > 0x5555 && utf8Length(s) > 0xffff)) return `${what} longer than 65535 bytes`;
  if (s.indexOf("\u0000") >= 0) return `U+0000 in ${what}`;
  if (hasLoneSurrogate(s)) return `lone surrogate in ${what}`;
  return null;
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

/** A topic name for PUBLISH: null, or its fault. */
export function checkTopicName(topic: string): string | null {
  const fault = checkTopicString(topic, "topic");
  if (fault) return fault;
  if (topic.indexOf("+") >= 0 || topic.indexOf("#") >= 0) return "wildcard in topic";
  return null;
}

/** A topic filter for SUBSCRIBE: null, or its fault. */
export function checkTopicFilter(filter: string): string | null {
  const fault = checkTopicString(filter, "topic filter");
  if (fault) return fault;
  if (badHash(filter)) return "'#' must be last and occupy a whole level";
  if (badPlus(filter)) return "'+' must occupy a whole level";
  return null;
}

/**
 * A received PUBLISH topic name, bytes b[start, end), checked without
 * decoding: the same rules as `checkTopicName`. `end - start` is at most
 * 65535 (a 2-byte length).
 */
export function checkTopicNameBytes(b: Uint8Array, start: number, end: number): string | null {
  if (start >= end) return "empty topic";
  for (let i = start; i < end; ) {
    const c = b[i];
    if (c === 0) return "U+0000 in topic";
    if (c === PLUS || c === HASH) return "wildcard in topic";
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = utf8Sequence(b, i, end);
    if (n === 0) return "invalid UTF-8 in topic";
    i += n;
  }
  return null;
}

/** Most bytes of one configured level (id, prefix): several go into every topic. */
export const MAX_LEVEL_BYTES = 64;

/**
 * One level of the device's topics, from its configuration (id, prefix,
 * discovery prefix): a valid topic name of 1 to 64 bytes without '/', so that
 * every topic made of it is valid and has the intended levels.
 */
export function checkTopicLevel(level: string): string | null {
  const fault = checkTopicName(level);
  if (fault) return fault;
  if (level.indexOf("/") >= 0) return "'/' in a topic level";
  if (utf8Length(level) > MAX_LEVEL_BYTES) return `longer than ${MAX_LEVEL_BYTES} bytes`;
  return null;
}
