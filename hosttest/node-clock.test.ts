/**
 * The simulator's clock (sim/node-ports.ts `nodeClock`): one-shot timers in
 * one queue behind one Node timer, and a timer set again in place of its
 * own earlier one reusing that record.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nodeClock } from "../sim/node-ports";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("node clock", () => {
  it("runs one-shot timers in due order, ties in the order they were set, and never early", async () => {
    const fired: string[] = [];
    const start = nodeClock.now();
    const at: number[] = [];
    nodeClock.set(() => {
      fired.push("c");
      at.push(nodeClock.now() - start);
    }, 30);
    nodeClock.set(() => fired.push("a"), 10);
    nodeClock.set(() => fired.push("b"), 10);
    const cleared = nodeClock.set(() => fired.push("x"), 20);
    nodeClock.clear(cleared);
    await sleep(60);
    assert.deepEqual(fired, ["a", "b", "c"]);
    assert.ok(at[0] >= 30, `fired after ${at[0]} ms`);
  });

  it("set with `replacing` reuses the record: the pending one is cancelled, a run one is set again", async () => {
    let runs = 0;
    const tick = () => runs++;
    const first = nodeClock.set(tick, 40);
    const second = nodeClock.set(tick, 10, first); // first cancelled, its record reused
    assert.equal(second, first);
    await sleep(70);
    assert.equal(runs, 1);
    const third = nodeClock.set(tick, 10, second); // run already: set again, same record
    assert.equal(third, first);
    await sleep(40);
    assert.equal(runs, 2);
    nodeClock.clear(third);
  });

  it("a timer set in place of itself from its own callback keeps going, and clear stops it", async () => {
    let runs = 0;
    let timer: unknown;
    const tick = () => {
      runs++;
      timer = nodeClock.set(tick, 5, timer);
    };
    timer = nodeClock.set(tick, 5);
    const kept = timer;
    await sleep(60);
    nodeClock.clear(timer);
    const seen = runs;
    assert.ok(seen >= 3, `ran ${seen} times`);
    assert.equal(timer, kept); // one record all along
    await sleep(30);
    assert.equal(runs, seen);
  });

  it("`replacing` a timer of another kind clears it and makes a new one-shot", async () => {
    let repeats = 0;
    let once = 0;
    const repeat = nodeClock.repeat(() => repeats++, 10);
    const timer = nodeClock.set(() => once++, 10, repeat);
    assert.notEqual(timer, repeat);
    await sleep(50);
    assert.equal(once, 1);
    assert.equal(repeats, 0);
  });
});
