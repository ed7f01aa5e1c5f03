/**
 * The Node adapter's string port (sim/node-ports.ts `nodeStrings`, installed
 * with src/utf8.ts `useStringPort`) against the core's own loops. Node only:
 * the unit tests also run in XS, which has no Buffer.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { nodeStrings } from "../sim/node-ports";
import { useStringPort, utf8Length, writeUtf8 } from "../src/utf8";
import { prng } from "./unit/prng";

test("the Node adapter's string port gives the core loops' bytes, lone surrogates included", () => {
  const random = prng(15);
  const units = [0x41, 0x7f, 0x80, 0xe9, 0x7ff, 0x800, 0x20ac, 0xd83d, 0xde00, 0xd800, 0xdfff, 0xffff];
  const strings = ["", "devices/esp32-01/state", "°C", "\u{1f4a1}", "a\ud800b", "\udc00\ud800", "x\ud83d"];
  for (let n = 0; n < 2000; n++) {
    let s = "";
    const length = Math.floor(random() * 12);
    for (let i = 0; i < length; i++)
      s += String.fromCharCode(
        random() < 0.5 ? 0x20 + Math.floor(random() * 0x5f) : units[Math.floor(random() * units.length)],
      );
    strings.push(s);
  }
  for (const s of strings) {
    const core = new Uint8Array(64).fill(0xaa);
    const coreEnd = writeUtf8(core, 3, s);
    const coreLength = utf8Length(s);
    assert.equal(coreEnd - 3, coreLength);
    useStringPort(nodeStrings);
    try {
      const node = new Uint8Array(64).fill(0xaa);
      assert.equal(utf8Length(s), coreLength, JSON.stringify(s));
      assert.equal(writeUtf8(node, 3, s), coreEnd, JSON.stringify(s));
      assert.deepEqual(node, core, JSON.stringify(s));
    } finally {
      useStringPort(undefined);
    }
  }
});
