/** Hex helpers for byte-exact vectors and messages, the one copy (platform-free: also runs in XS). */

/** Bytes from hex text; spaces, commas and line breaks are ignored; anything else but hex digits throws. */
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/[\s,]+/g, "");
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`bad hex: ${text}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Lower-case hex of bytes [start, end), no separators. */
export function hex(b: Uint8Array, start = 0, end = b.length): string {
  let s = "";
  for (let i = start; i < end; i++) s += (b[i] < 16 ? "0" : "") + b[i].toString(16);
  return s;
}

/** Lower-case hex, one space between bytes. */
export function toHex(bytes: Uint8Array | readonly number[]): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += (i ? " " : "") + (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  return s;
}

/** Hex of an ASCII string, to keep vectors readable. */
export function asc(s: string): string {
  let h = "";
  for (let i = 0; i < s.length; i++) h += s.charCodeAt(i).toString(16).padStart(2, "0");
  return h;
}
