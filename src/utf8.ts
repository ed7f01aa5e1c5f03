/**
 * Strict UTF-8 decoding without TextDecoder (not a global on every Moddable
 * target): overlong forms, surrogates, code points above U+10FFFF and
 * truncated sequences are refused.
 */

/** Decodes bytes [start, end) of `bytes`; `undefined` if they are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array, start = 0, end = bytes.length): string | undefined {
  let out = "";
  let i = start;
  while (i < end) {
    const b = bytes[i];
    let code: number;
    let need: number;
    let min: number;
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      code = b & 0x1f;
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      code = b & 0x0f;
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      code = b & 0x07;
      need = 3;
      min = 0x10000;
    } else {
      return undefined;
    }
    if (i + need >= end) return undefined;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if ((c & 0xc0) !== 0x80) return undefined;
      code = (code << 6) | (c & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return undefined;
    out += String.fromCodePoint(code);
    i += need + 1;
  }
  return out;
}
