/**
 * The offline buffer (src/store/readings.ts) on a flash in RAM with NOR
 * semantics, including power cuts at every byte of every write and erase.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { blocksFor, crc8, encodeRecord, type LoggedReading, ReadingLog } from "../../src/store/readings";
import { PowerCut, RamFlash } from "./fakes";

/** What a log on `flash` would replay, oldest first (read from a copy: the flash is not changed). */
function replay(flash: RamFlash): number[] {
  const log = new ReadingLog(flash.clone());
  const out: number[] = [];
  const r: LoggedReading = { time: 0, temp: 0, hum: 0 };
  while (log.peek(r)) {
    out.push(Math.round(r.temp * 10));
    log.acknowledge();
  }
  return out;
}

describe("offline buffer: records", () => {
  it("round-trips time, temperature and humidity at one decimal; CRC-8 is the usual one", () => {
    assert.equal(crc8(new TextEncoder().encode("123456789"), 0, 9), 0xf4);
    const flash = new RamFlash(64, 3);
    const log = new ReadingLog(flash);
    const cases = [
      [1764547200, -40, 0],
      [0, 80, 100],
      [1764547201, 23.5, 41.1],
      [4000000000, -0.1, 99.9],
    ];
    for (const [time, temp, hum] of cases) log.append(time, temp, hum);
    const r: LoggedReading = { time: 0, temp: 0, hum: 0 };
    for (const [time, temp, hum] of cases) {
      assert.equal(log.peek(r), true);
      assert.deepEqual({ ...r }, { time, temp, hum, timed: true });
      log.acknowledge();
    }
    assert.equal(log.peek(r), false);
  });

  it("8 bytes a reading: 8,640 readings (24 h at 10 s) in 18 blocks of 4 KiB, 72 KiB", () => {
    assert.equal(blocksFor(8640, 4096), 18);
    const log = new ReadingLog(new RamFlash(4096, 18));
    assert.ok(log.capacity >= 8640, `capacity ${log.capacity}`);
    const b = new Uint8Array(8);
    encodeRecord(b, 1, 2, 3);
    assert.equal(b.length, 8);
  });
});

describe("offline buffer: the log", () => {
  it("keeps order, survives a restart, and never replays what was acknowledged", () => {
    const flash = new RamFlash(64, 4);
    let log = new ReadingLog(flash);
    for (let i = 1; i <= 10; i++) log.append(0, i / 10, 50);
    const r: LoggedReading = { time: 0, temp: 0, hum: 0 };
    for (let i = 0; i < 4; i++) {
      log.peek(r);
      log.acknowledge();
    }
    assert.equal(log.pending, 6);
    log = new ReadingLog(flash); // a reboot
    assert.equal(log.pending, 6);
    assert.deepEqual(replay(flash), [5, 6, 7, 8, 9, 10]);
    log.append(0, 1.1, 50);
    assert.deepEqual(replay(flash), [5, 6, 7, 8, 9, 10, 11]);
  });

  it("when full, the oldest block goes first, counted; order holds across the wrap, again and again", () => {
    const flash = new RamFlash(64, 4); // 7 readings a block, 21 in all
    const log = new ReadingLog(flash);
    assert.equal(log.capacity, 21);
    for (let i = 1; i <= 100; i++) log.append(0, i / 10, 50);
    const kept = replay(flash);
    assert.equal(kept.length + log.dropped, 100);
    // At least the capacity (one block spare); at most all four blocks.
    assert.ok(kept.length >= 21 && kept.length <= 28, `kept ${kept.length}`);
    assert.deepEqual(
      kept,
      Array.from({ length: kept.length }, (_, i) => 100 - kept.length + 1 + i),
    );
    assert.equal(log.pending, kept.length);
  });

  it("appending and acknowledging take one flash write each (8 bytes and 1 byte)", () => {
    const flash = new RamFlash(4096, 3);
    const log = new ReadingLog(flash);
    log.append(1, 2, 3);
    log.acknowledge();
    const before = flash.writes;
    log.append(1, 2, 3);
    log.acknowledge();
    assert.equal(flash.writes - before, 2);
  });

  it("a fresh region is written only at the first append (block 0's erase and header with it)", () => {
    const flash = new RamFlash(64, 4);
    const log = new ReadingLog(flash);
    assert.equal(flash.writes, 0, "opening a fresh log writes nothing");
    assert.equal(new ReadingLog(flash).pending, 0);
    assert.equal(log.take({ time: 0, temp: 0, hum: 0 }), false);
    log.append(0, 0.1, 50);
    assert.equal(flash.writes, 2, "header and record");
    assert.deepEqual(replay(flash), [1]);
  });
});

describe("offline buffer: handing readings out", () => {
  it("take() hands out readings in order up to the end; acknowledgements come in the same order; a restart hands out again what was not acknowledged", () => {
    const flash = new RamFlash(64, 4);
    let log = new ReadingLog(flash);
    for (let i = 1; i <= 9; i++) log.append(0, i / 10, 50, i > 3);
    const r: LoggedReading = { time: 0, temp: 0, hum: 0 };
    const taken: string[] = [];
    for (let i = 0; i < 4; i++) {
      assert.equal(log.take(r), true);
      taken.push(`${Math.round(r.temp * 10)}${r.timed ? "t" : ""}`);
    }
    assert.deepEqual(taken, ["1", "2", "3", "4t"]);
    assert.equal(log.inFlight, 4);
    log.acknowledge();
    log.acknowledge();
    assert.equal(log.pending, 7);
    assert.equal(log.inFlight, 2);
    log = new ReadingLog(flash);
    assert.equal(log.inFlight, 0);
    assert.equal(log.take(r), true);
    assert.equal(Math.round(r.temp * 10), 3, "not acknowledged before the restart: handed out again");
  });

  it("a torn slot among the readings handed out is passed without stalling", () => {
    const flash = new RamFlash(64, 4);
    let log = new ReadingLog(flash);
    for (let i = 1; i <= 3; i++) log.append(0, i / 10, 50);
    flash.bytes[2 * 8 + 7] ^= 0xff; // block 0, slot 2: the second reading, its CRC spoilt as by a torn write
    log = new ReadingLog(flash);
    const r: LoggedReading = { time: 0, temp: 0, hum: 0 };
    const got: number[] = [];
    while (log.take(r)) got.push(Math.round(r.temp * 10));
    assert.deepEqual(got, [1, 3]);
    log.acknowledge();
    log.acknowledge();
    assert.equal(log.pending, 0);
    assert.equal(log.inFlight, 0);
  });
});

describe("offline buffer: power cut at every byte", () => {
  /** A run of appends and acknowledgements that wraps the ring twice. */
  const ops: ("append" | "ack")[] = [];
  for (let i = 0; i < 60; i++) {
    ops.push("append");
    if (i % 3 === 2) ops.push("ack");
  }

  it("recovery keeps every earlier reading, in order, and loses at most the one being written", () => {
    // The states a cut may leave: after k operations, or the (k+1)th in part.
    const reference = new RamFlash(64, 4);
    const refLog = new ReadingLog(reference);
    let total = 0;
    const states: number[][] = [replay(reference)];
    const spent: number[] = [0];
    let next = 1;
    for (const op of ops) {
      const budgetBefore = countBytes(reference, () => {
        if (op === "append") refLog.append(0, next++ / 10, 50);
        else {
          const r: LoggedReading = { time: 0, temp: 0, hum: 0 };
          refLog.peek(r);
          refLog.acknowledge();
        }
      });
      total += budgetBefore;
      spent.push(total);
      states.push(replay(reference));
    }
    let cuts = 0;
    for (let cut = 0; cut < total; cut++) {
      const flash = new RamFlash(64, 4);
      const log = new ReadingLog(flash);
      flash.budget = cut;
      let done = 0;
      let id = 1;
      try {
        for (const op of ops) {
          if (op === "append") log.append(0, id / 10, 50);
          else {
            const r: LoggedReading = { time: 0, temp: 0, hum: 0 };
            log.peek(r);
            log.acknowledge();
          }
          if (op === "append") id++;
          done++;
        }
      } catch (error) {
        if (!(error instanceof PowerCut)) throw error;
      }
      flash.budget = Infinity;
      cuts++;
      const recovered = replay(flash);
      const before = states[done];
      const after = states[done + 1] ?? before;
      const afterWithoutNew = after.filter((n) => n !== id);
      const ok = [before, after, afterWithoutNew].some((s) => JSON.stringify(s) === JSON.stringify(recovered));
      assert.ok(
        ok,
        `cut at byte ${cut} during operation ${done + 1} (${ops[done]}): recovered ${recovered.join(",")}; expected ${before.join(",")} or ${after.join(",")}`,
      );
      // And the log goes on working after the cut.
      const again = new ReadingLog(flash);
      again.append(0, 99.9, 50);
      const more = replay(flash);
      assert.deepEqual(more.slice(0, -1), recovered.slice(Math.max(0, recovered.length + 1 - more.length)));
      assert.equal(more[more.length - 1], 999);
    }
    assert.ok(cuts > 500, `${cuts} cuts`);
  });
});

/** Bytes an operation writes or erases on `flash`. */
function countBytes(flash: RamFlash, op: () => void): number {
  flash.budget = 1e9;
  op();
  const used = 1e9 - flash.budget;
  flash.budget = Infinity;
  return used;
}
