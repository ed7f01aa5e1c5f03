/** Hex helpers for byte-exact packet vectors (platform-free: also runs in XS). */

/** Bytes from hex text; white space is ignored. */
export function bytes(h: string): Uint8Array {
  h = h.replace(/\s+/g, "");
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Lower-case hex of bytes [start, end), no separators. */
export function hex(b: Uint8Array, start = 0, end = b.length): string {
  let s = "";
  for (let i = start; i < end; i++) s += (b[i] < 16 ? "0" : "") + b[i].toString(16);
  return s;
}

/** Hex of an ASCII string, to keep vectors readable. */
export function asc(s: string): string {
  let h = "";
  for (let i = 0; i < s.length; i++) h += s.charCodeAt(i).toString(16).padStart(2, "0");
  return h;
}
