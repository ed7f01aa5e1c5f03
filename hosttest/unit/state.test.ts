import assert from "node:assert/strict";
import { test } from "node:test";
import { STATE_MAX, writeState } from "../../src/app/state";
import { round1 } from "../../src/app/topics";
import { decodeUtf8 } from "../../src/utf8";

const out = new Uint8Array(STATE_MAX);
const state = (temp: number, hum: number, led?: boolean) => decodeUtf8(out, 0, writeState(out, temp, hum, led));

test("writes the state payload exactly as JSON.stringify does", () => {
  assert.equal(state(23.5, 41), '{"data":{"temp":23.5,"hum":41}}');
  assert.equal(state(-10.1, 65.2), '{"data":{"temp":-10.1,"hum":65.2}}');
  assert.equal(state(0, 100), '{"data":{"temp":0,"hum":100}}');
  assert.equal(state(-0.04, 0.05), '{"data":{"temp":0,"hum":0.1}}');
  assert.equal(state(23.456, 40.99), '{"data":{"temp":23.5,"hum":41}}');
  assert.equal(state(21, 50, true), '{"data":{"temp":21,"hum":50,"led":"ON"}}');
  assert.equal(state(21, 50, false), '{"data":{"temp":21,"hum":50,"led":"OFF"}}');
});

test("agrees with JSON.stringify of round1 over random readings", () => {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;
  for (let i = 0; i < 2000; i++) {
    const temp = -60 + random() * 160;
    const hum = random() * 100;
    const expected = JSON.stringify({ data: { temp: round1(temp), hum: round1(hum) } });
    assert.equal(state(temp, hum), expected, `${temp} ${hum}`);
  }
});

test('a replayed reading carries its capture time first: {"time":<Unix ms>,"data":{…}}', () => {
  const timed = (time: number) => decodeUtf8(out, 0, writeState(out, 23.5, 41, undefined, time));
  assert.equal(timed(1764547200000), '{"time":1764547200000,"data":{"temp":23.5,"hum":41}}');
  assert.deepEqual(JSON.parse(timed(1764547200000) ?? ""), { time: 1764547200000, data: { temp: 23.5, hum: 41 } });
  assert.equal(timed(0), '{"data":{"temp":23.5,"hum":41}}', "no time when the clock was unknown");
});

test("never overflows its buffer, even for absurd values", () => {
  for (const x of [1e12, -1e12, NaN, Infinity, -Infinity, 99999999.9]) {
    assert.ok(writeState(out, x, x, false) <= STATE_MAX, String(x));
    assert.ok(writeState(out, x, x, false, 8.64e15) <= STATE_MAX, String(x));
  }
});
