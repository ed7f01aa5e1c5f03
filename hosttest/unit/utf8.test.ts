import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeUtf8 } from "../../src/utf8";

const bytes = (...b: number[]) => new Uint8Array(b);

test("decodes ASCII, 2-, 3- and 4-byte sequences", () => {
  assert.equal(decodeUtf8(bytes(0x4f, 0x4e)), "ON");
  assert.equal(decodeUtf8(bytes(0xc2, 0xb0, 0x43)), "°C");
  assert.equal(decodeUtf8(bytes(0xe2, 0x82, 0xac)), "€");
  assert.equal(decodeUtf8(bytes(0xf0, 0x9f, 0x92, 0xa1)), "\u{1f4a1}");
  assert.equal(decodeUtf8(bytes()), "");
});

test("decodes a range of a buffer", () => {
  assert.equal(decodeUtf8(bytes(0x78, 0x4f, 0x4e, 0x78), 1, 3), "ON");
});

test("refuses invalid UTF-8", () => {
  for (const bad of [
    [0xff],
    [0x80],
    [0xc0, 0xaf], // overlong "/"
    [0xe0, 0x80, 0xaf], // overlong
    [0xed, 0xa0, 0x80], // surrogate
    [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
    [0xe2, 0x82], // truncated
    [0xc2, 0x41], // bad continuation
    [0xf0, 0x9f, 0x92],
  ]) {
    assert.equal(decodeUtf8(bytes(...bad)), undefined, bad.map((b) => b.toString(16)).join(" "));
  }
});
