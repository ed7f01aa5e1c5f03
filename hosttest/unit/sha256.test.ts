/**
 * The core's SHA-256 (src/update/sha256.ts) against the FIPS 180-4 example
 * vectors (NIST's "SHA-256 examples": "", "abc", the 448- and 896-bit
 * messages, a million "a"), with every message split at every offset and
 * fed in every chunk size; digests of every length from 0 to 200 bytes
 * across the padding boundaries (55, 56, 63, 64 bytes) checked against
 * node:crypto's (recorded here, since XS has no node:crypto). Runs on Node
 * and inside XS.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDigest, SHA256_BYTES, Sha256, toHex } from "../../src/update/sha256";
import { bytes } from "./fakes";

const VECTORS: [string, string][] = [
  ["", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
  ["abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
  [
    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  ],
  [
    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
  ],
];
const MILLION_A = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

function digestOf(hash: Sha256, ...chunks: Uint8Array[]): string {
  hash.reset();
  for (const chunk of chunks) hash.write(chunk);
  const out = new Uint8Array(SHA256_BYTES);
  hash.digest(out);
  return toHex(out);
}

/** `length` bytes of a pattern that differs per length. */
function pattern(length: number): Uint8Array {
  const m = new Uint8Array(length);
  for (let i = 0; i < length; i++) m[i] = (i * 7 + length) & 255;
  return m;
}

describe("SHA-256", () => {
  it("gives the FIPS 180-4 example digests", () => {
    const hash = new Sha256();
    for (const [message, expected] of VECTORS)
      assert.equal(digestOf(hash, bytes(message)), expected, JSON.stringify(message));
  });

  it("gives the same digest for every split of a message into two chunks", () => {
    const hash = new Sha256();
    for (const [message, expected] of VECTORS) {
      const m = bytes(message);
      for (let at = 0; at <= m.length; at++)
        assert.equal(
          digestOf(hash, m.subarray(0, at), m.subarray(at)),
          expected,
          `${JSON.stringify(message)} split at ${at}`,
        );
    }
  });

  it("gives the same digest fed in chunks of every size, empty chunks included", () => {
    const hash = new Sha256();
    for (const [message, expected] of VECTORS) {
      const m = bytes(message);
      for (let size = 1; size <= m.length; size++) {
        const chunks: Uint8Array[] = [new Uint8Array(0)];
        for (let at = 0; at < m.length; at += size) chunks.push(m.subarray(at, at + size), new Uint8Array(0));
        assert.equal(digestOf(hash, ...chunks), expected, `${JSON.stringify(message)} in chunks of ${size}`);
      }
    }
  });

  it("hashes a million 'a' in uneven chunks", () => {
    const a = new Uint8Array(4096).fill(0x61);
    const hash = new Sha256();
    const sizes = [1, 63, 64, 65, 1000, 4096, 7, 2048];
    let left = 1000000;
    for (let i = 0; left > 0; i++) {
      const n = Math.min(left, sizes[i % sizes.length]);
      hash.write(a.subarray(0, n));
      left -= n;
    }
    const out = new Uint8Array(SHA256_BYTES);
    hash.digest(out);
    assert.equal(toHex(out), MILLION_A);
  });

  it("agrees with node:crypto on every length from 0 to 200 bytes (the padding boundaries)", () => {
    // The digest of the 201 digests, and one of them, as node:crypto computes them.
    const all = new Sha256();
    const one = new Sha256();
    const out = new Uint8Array(SHA256_BYTES);
    for (let n = 0; n <= 200; n++) {
      one.reset();
      one.write(pattern(n));
      one.digest(out);
      all.write(out);
    }
    all.digest(out);
    assert.equal(toHex(out), "e673d33f6940a6d3856d0d305fd88363ae0ba3b96e2411d8ddd5e0dd443f4525");
    const m = pattern(200);
    for (let at = 0; at <= 200; at++)
      assert.equal(
        digestOf(one, m.subarray(0, at), m.subarray(at)),
        "8e3f3819b4f1b1f71c011c6b854c43601f132c3c88b8982b20733d2b1695c593",
        `split at ${at}`,
      );
  });

  it("starts over after reset(), whatever was written before", () => {
    const hash = new Sha256();
    hash.write(bytes("something else entirely, longer than one block of sixty-four bytes....."));
    assert.equal(digestOf(hash, bytes("abc")), VECTORS[1][1]);
  });

  it("parses 64 hex digits in either case and refuses anything else", () => {
    const out = new Uint8Array(SHA256_BYTES);
    assert.equal(parseDigest(VECTORS[1][1].toUpperCase(), out), true);
    assert.equal(toHex(out), VECTORS[1][1]);
    for (const bad of [
      "",
      "abc",
      VECTORS[1][1].slice(1),
      `${VECTORS[1][1]}0`,
      `g${VECTORS[1][1].slice(1)}`,
      ` ${VECTORS[1][1].slice(1)}`,
    ])
      assert.equal(parseDigest(bad, out), false, JSON.stringify(bad));
  });
});
