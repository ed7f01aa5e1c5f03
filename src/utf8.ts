/**
 * UTF-8, once for the whole device: encoding (as TextEncoder), strict
 * decoding (as TextDecoder with `fatal`) and the well-formedness rules both
 * follow. Neither TextEncoder nor TextDecoder is a global on every Moddable
 * target.
 *
 * Well-formed (Unicode 15, table 3-7; MQTT 3.1.1 [MQTT-1.5.3-1]): no overlong
 * forms, no surrogates (U+D800..U+DFFF), nothing past U+10FFFF, no truncated
 * sequence. A JavaScript string is well-formed when it has no lone surrogate.
 *
 * Characters are read with `String.prototype.charCodeAt` called on the
 * primitive (`charCode(s, i)`), and a string's end is found by the NaN that
 * reading past it gives, never by `s.length`: on XS every property access on
 * a string primitive allocates a wrapper (a `charCodeAt` method call per
 * character, or `.length` once), while a built-in called with the primitive
 * as `this` allocates nothing. On V8 the same loop is optimized like a plain
 * `s.charCodeAt(i)` loop (about 70 ns for a 22-character topic, where boxing
 * the string with `new String` took 1.8 µs). One code path for both engines.
 *
 * A platform may hand in its own string encoder (`useStringPort`): on V8 the
 * loop that finds a string's end by reading past it is slow (about 90 ns for
 * a 22-character topic, where Node's own byte-length count takes 13), and the
 * Node adapter's port is several times faster. It must give the same bytes.
 */

const charCodeAt = String.prototype.charCodeAt;

/**
 * A platform's own UTF-8 encoding of strings, byte for byte what
 * `utf8Length` and `writeUtf8` give (a lone surrogate as U+FFFD). None on XS,
 * where the loops below allocate nothing.
 */
export interface StringPort {
  /** Bytes of `s` in UTF-8. */
  byteLength(s: string): number;
  /** Writes `s` as UTF-8 at `at` (room for it is there); returns the new offset. */
  write(out: Uint8Array, at: number, s: string): number;
}

let stringPort: StringPort | undefined;

/** Installs the platform's string encoder for the whole process (undefined: the core's loops). */
export function useStringPort(port: StringPort | undefined): void {
  stringPort = port;
}

/** The UTF-16 code unit at `i`, or NaN past the end; allocates nothing on XS. */
export function charCode(s: string, i: number): number {
  return charCodeAt.call(s, i);
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

// ---------------------------------------------------------------- strings

/** Whether `s` has a lone surrogate: a high one not followed by a low one, or a low one not preceded by a high one. */
export function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; ; i++) {
    const c = charCode(s, i);
    if (!(c >= 0)) return false;
    if (c < 0xd800 || c > 0xdfff) continue;
    if (isHigh(c) && isLow(charCode(s, i + 1))) i++;
    else return true;
  }
}

/** Bytes of `s` in UTF-8 (a lone surrogate counts as U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  if (stringPort !== undefined) return stringPort.byteLength(s);
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

/** Writes `s` as UTF-8 at `at`, a lone surrogate as U+FFFD (as TextEncoder); returns the new offset. */
export function writeUtf8(out: Uint8Array, at: number, s: string): number {
  if (stringPort !== undefined) return stringPort.write(out, at, s);
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

// ---------------------------------------------------------------- bytes

/**
 * Length (1 to 4) of the well-formed UTF-8 sequence at `b[i]`, which must be
 * before `end`; 0 if it is ill-formed: a bad lead byte, a missing or bad
 * continuation byte, an overlong form, a surrogate or a code point past
 * U+10FFFF (Unicode table 3-7). Allocates nothing.
 */
export function utf8Sequence(b: Uint8Array, i: number, end: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  // Lead byte: how many continuation bytes, and the range of the first one.
  let n: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 1;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 2;
    if (c === 0xe0)
      lo = 0xa0; // overlong
    else if (c === 0xed) hi = 0x9f; // surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 3;
    if (c === 0xf0)
      lo = 0x90; // overlong
    else if (c === 0xf4) hi = 0x8f; // past U+10FFFF
  } else return 0;
  if (i + n >= end || b[i + 1] < lo || b[i + 1] > hi) return 0;
  for (let k = 2; k <= n; k++) if ((b[i + k] & 0xc0) !== 0x80) return 0;
  return n + 1;
}

/** Decodes bytes [start, end) of `bytes`; `undefined` if they are not well-formed UTF-8. */
export function decodeUtf8(bytes: Uint8Array, start = 0, end = bytes.length): string | undefined {
  let out = "";
  let i = start;
  while (i < end) {
    const b = bytes[i];
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i++;
      continue;
    }
    const n = utf8Sequence(bytes, i, end);
    if (n === 0) return undefined;
    let code = b & (0xff >> (n + 1));
    for (let k = 1; k < n; k++) code = (code << 6) | (bytes[i + k] & 0x3f);
    out += String.fromCodePoint(code);
    i += n;
  }
  return out;
}
