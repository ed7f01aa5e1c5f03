/**
 * The simulators' virtual DHT and LED (src/virtual.ts): what each fault does
 * to the decoder, the start pulse a part needs, pinned and counting readings.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createDecoded, decode } from "../../src/dht/decoder";
import { CAPTURE_ENTRIES, type DhtModel, START_LOW_MIN_US, START_LOW_US } from "../../src/dht/frame";
import { sequenceNumber, sequenceReading, VIRTUAL_DHT_FAULTS, VirtualDht, VirtualLed } from "../../src/virtual";
import { prng } from "./prng";

function read(dht: VirtualDht, model: DhtModel, start = START_LOW_US[model]) {
  const train = new Uint16Array(CAPTURE_ENTRIES);
  const out = createDecoded();
  const n = dht.capture(start, train);
  return { n, error: n ? decode(train, n, model, out) : "silent", temp: out.temp, hum: out.hum };
}

describe("virtual DHT", () => {
  for (const model of ["dht11", "dht22"] as const) {
    it(`${model}: answers the start pulse the sensor would, and stays silent below its minimum`, () => {
      const dht = new VirtualDht({ model, now: () => 0, random: prng(1) });
      assert.equal(read(dht, model, START_LOW_MIN_US[model] - 1).n, 0);
      const r = read(dht, model, START_LOW_MIN_US[model]);
      assert.equal(r.error, null);
      assert.ok(r.temp > 21 && r.temp < 27 && r.hum > 40 && r.hum < 60, `${r.temp} °C ${r.hum} %`);
    });

    it(`${model}: each fault gives the decoder error it stands for`, () => {
      const expected = {
        "missing-edge": "short-frame",
        "extra-edge": "long-frame",
        "flipped-bit": "checksum",
        timeout: "timeout",
        garbage: "out-of-range",
      };
      const dht = new VirtualDht({ model, now: () => 0, random: prng(7) });
      for (let round = 0; round < 20; round++) {
        for (const fault of VIRTUAL_DHT_FAULTS) {
          dht.nextFault = fault;
          assert.equal(read(dht, model).error, expected[fault], `${fault}, round ${round}`);
          assert.equal(dht.lastFault, fault);
        }
      }
    });
  }

  it("pinned values come back exactly; without them the environment drifts slowly", () => {
    let t = 0;
    const dht = new VirtualDht({ model: "dht22", now: () => t, random: prng(3), jitterUs: 0 });
    dht.pinned = { temp: -3.5, hum: 77.2 };
    assert.deepEqual([read(dht, "dht22").temp, read(dht, "dht22").hum], [-3.5, 77.2]);
    dht.pinned = null;
    const first = read(dht, "dht22");
    t += 10000;
    const next = read(dht, "dht22");
    assert.ok(Math.abs(next.temp - first.temp) < 0.5 && Math.abs(next.hum - first.hum) < 2);
  });

  it("a fault rate damages about that share of captures", () => {
    const dht = new VirtualDht({ model: "dht11", now: () => 0, random: prng(11), faultRate: 0.25 });
    let failed = 0;
    for (let i = 0; i < 400; i++) if (read(dht, "dht11").error !== null) failed++;
    assert.ok(failed > 60 && failed < 140, `${failed} of 400`);
  });

  it("sequence mode counts up, and sequenceNumber gives n back from the decoded reading", () => {
    for (const model of ["dht11", "dht22"] as const) {
      const dht = new VirtualDht({ model, now: () => 0, sequence: true });
      for (let n = 1; n <= 3; n++) {
        const r = read(dht, model);
        assert.deepEqual({ temp: r.temp, hum: r.hum }, sequenceReading(n));
        assert.equal(sequenceNumber(r.temp, r.hum), n);
      }
      assert.equal(dht.count, 3);
    }
  });
});

describe("virtual LED", () => {
  it("keeps the value and the writes, and reports the first write and every change", () => {
    const changes: number[] = [];
    const led = new VirtualLed((v) => changes.push(v));
    for (const v of [0, 0, 1, 1, 0] as const) led.write(v);
    assert.deepEqual([led.value, led.writes, changes], [0, 5, [0, 1, 0]]);
  });
});
