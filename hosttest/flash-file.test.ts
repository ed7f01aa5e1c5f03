/**
 * The simulator's flash in a file (sim/node-ports.ts `fileFlash`): what is
 * written reads back, forwards, backwards and after a write in between (a
 * scan is served from a read-ahead), what lies past the file reads erased,
 * and an offline buffer kept in it survives a restart.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { fileFlash } from "../sim/node-ports";
import { type LoggedReading, ReadingLog } from "../src/store/readings";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flash-file-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const BLOCK = 4096;
const REGION = 4 * BLOCK;

/** The byte a file of this test holds at `offset`. */
const pattern = (offset: number) => (offset * 7 + 3) & 0xff;

function readAt(flash: ReturnType<typeof fileFlash>, offset: number, length = 8): number[] {
  const into = new Uint8Array(length);
  flash.read(offset, into);
  return [...into];
}

describe("flash in a file", () => {
  it("reads what was written, forwards and backwards, a record at a time", () => {
    const flash = fileFlash(path.join(dir, "a", "buffer.bin"), REGION, BLOCK, "new");
    const bytes = Uint8Array.from({ length: 2 * BLOCK + 100 }, (_, i) => pattern(i));
    flash.write(0, bytes);
    const expect = (offset: number) =>
      Array.from({ length: 8 }, (_, i) => (offset + i < bytes.length ? pattern(offset + i) : 0xff));
    for (let offset = 0; offset < bytes.length + 64; offset += 8)
      assert.deepEqual(readAt(flash, offset), expect(offset));
    for (let offset = bytes.length + 56; offset >= 0; offset -= 8)
      assert.deepEqual(readAt(flash, offset), expect(offset));
    // Across the read-ahead's edge, and past the region's written part: erased.
    assert.deepEqual(readAt(flash, BLOCK - 4), expect(BLOCK - 4));
    assert.deepEqual(readAt(flash, 3 * BLOCK), Array(8).fill(0xff));
    flash.dispose();
  });

  it("a write in the middle of a scan is read back, not the bytes read ahead", () => {
    const flash = fileFlash(path.join(dir, "b.bin"), REGION, BLOCK, "new");
    flash.write(0, new Uint8Array(BLOCK).fill(0x11));
    readAt(flash, 0);
    readAt(flash, 8); // a scan: the stretch is read ahead
    flash.write(16, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
    assert.deepEqual(readAt(flash, 16), [1, 2, 3, 4, 5, 6, 7, 8]);
    flash.eraseBlock(0);
    assert.deepEqual(readAt(flash, 24), Array(8).fill(0xff));
    assert.deepEqual(readAt(flash, 32), Array(8).fill(0xff));
    // Two flashes read in turn: each reads its own bytes.
    const other = fileFlash(path.join(dir, "c.bin"), REGION, BLOCK, "new");
    other.write(0, new Uint8Array(64).fill(0x22));
    flash.write(0, new Uint8Array(64).fill(0x33));
    for (let offset = 0; offset < 64; offset += 8) {
      assert.deepEqual(readAt(other, offset), Array(8).fill(0x22));
      assert.deepEqual(readAt(flash, offset), Array(8).fill(0x33));
    }
    flash.dispose();
    other.dispose();
  });

  it("an offline buffer kept in it comes back after a restart, oldest first", () => {
    const file = path.join(dir, "log.bin");
    const first = fileFlash(file, REGION, BLOCK, "new");
    const log = new ReadingLog(first);
    for (let i = 0; i < 700; i++) log.append(1_700_000_000 + i, 20 + (i % 10) / 10, 50);
    const out: LoggedReading = { time: 0, temp: 0, hum: 0 };
    for (let i = 0; i < 600; i++) {
      assert.ok(log.take(out));
      log.acknowledge();
    }
    first.dispose();
    const again = new ReadingLog(fileFlash(file, REGION, BLOCK));
    assert.equal(again.pending, 100);
    const times: number[] = [];
    while (again.take(out)) times.push(out.time);
    assert.deepEqual(
      times,
      Array.from({ length: 100 }, (_, i) => 1_700_000_600 + i),
    );
  });
});
