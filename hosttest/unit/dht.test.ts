import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createDecoded, decode, decodeBytes } from "../../src/dht/decoder";
import { cutShort, encodeBytes, encodeFrame, extraEdge, missingEdge } from "../../src/dht/encode";
import {
  CAPTURE_ENTRIES,
  type DhtModel,
  durationOf,
  EDGE_TIMEOUT_US,
  FRAME_ENTRIES,
  frameChecksum,
  levelOf,
  MAX_DURATION_US,
  pulse,
  START_LOW_US,
} from "../../src/dht/frame";
import { Sampler } from "../../src/dht/sampler";
import { createDhtSensor, type PulseCapture } from "../../src/dht/sensor";
import type { Sensor, SensorResult } from "../../src/ports";
import { FakeClock } from "./fakes";
import { prng } from "./prng";

// ---------------------------------------------------------------- helpers

const noJitter = (): number => 0;

function bytesOf(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

function withSum(b0: number, b1: number, b2: number, b3: number): Uint8Array {
  const b = bytesOf(b0, b1, b2, b3, 0);
  b[4] = frameChecksum(b);
  return b;
}

/** A nominal train for `bytes`, with the idle high the capture timed out on. */
function train(bytes: Uint8Array, jitter: () => number = noJitter): { buf: Uint16Array; n: number } {
  const buf = new Uint16Array(CAPTURE_ENTRIES);
  let n = encodeFrame(bytes, buf, jitter);
  buf[n++] = pulse(1, EDGE_TIMEOUT_US);
  return { buf, n };
}

const GOOD = (temp: number, hum: number): SensorResult => ({ ok: true, temp, hum });
const BAD: SensorResult = { ok: false, error: "checksum", detail: "sum 1 != 2" };

/** A sensor that plays a script of results (then repeats the last) and logs read times. */
function scripted(clock: FakeClock, script: SensorResult[]): Sensor & { reads: number[] } {
  const reads: number[] = [];
  return {
    reads,
    minInterval: 2000,
    read(): SensorResult {
      reads.push(clock.now());
      return script.length > 1 ? script.shift()! : script[0];
    },
  };
}

function sampler(clock: FakeClock, sensor: Sensor, interval: number) {
  const readings: string[] = [];
  const errors: string[] = [];
  const warnings: string[] = [];
  const s = new Sampler({
    clock,
    sensor,
    interval,
    onReading: (t, h) => readings.push(`${t}/${h}`),
    onError: (code, detail) => errors.push(`${code}: ${detail}`),
    onWarning: (text) => warnings.push(text),
  });
  return { s, readings, errors, warnings };
}

// ---------------------------------------------------------------- frame

describe("dht frame layout", () => {
  it("packs level in bit 15 and µs in bits 0–14, saturating", () => {
    assert.equal(pulse(1, 70), 0x8000 | 70);
    assert.equal(pulse(0, 50), 50);
    assert.equal(levelOf(pulse(1, 70)), 1);
    assert.equal(levelOf(pulse(0, 70)), 0);
    assert.equal(durationOf(pulse(1, 70)), 70);
    assert.equal(durationOf(pulse(1, 100000)), MAX_DURATION_US);
    assert.equal(levelOf(pulse(0, 100000)), 0);
  });

  it("encodes a full frame in FRAME_ENTRIES entries, release high first", () => {
    const buf = new Uint16Array(CAPTURE_ENTRIES);
    const n = encodeFrame(withSum(1, 2, 3, 4), buf, noJitter);
    assert.equal(n, FRAME_ENTRIES);
    assert.equal(levelOf(buf[0]), 1);
    assert.equal(durationOf(buf[1]), 80);
    assert.equal(durationOf(buf[2]), 80);
    assert.equal(levelOf(buf[n - 1]), 0);
    for (let i = 1; i < n; i++) assert.notEqual(levelOf(buf[i]), levelOf(buf[i - 1]));
  });

  it("start pulses: ≥ 18 ms for DHT11, about 1 ms for DHT22", () => {
    assert.ok(START_LOW_US.dht11 >= 18000);
    assert.ok(START_LOW_US.dht22 >= 800 && START_LOW_US.dht22 <= 2000);
  });
});

// ---------------------------------------------------------------- bytes

describe("dht bytes → reading", () => {
  const out = createDecoded();

  it("DHT22 datasheet vector 0x02 0x8C 0x01 0x5F 0xEE → 65.2 %RH, 35.1 °C", () => {
    assert.equal(decodeBytes(bytesOf(0x02, 0x8c, 0x01, 0x5f, 0xee), "dht22", out), null);
    assert.equal(out.hum, 65.2);
    assert.equal(out.temp, 35.1);
  });

  it("DHT22 sign-magnitude temperature 0x8065 → −10.1 °C", () => {
    assert.equal(decodeBytes(withSum(0x02, 0x8c, 0x80, 0x65), "dht22", out), null);
    assert.equal(out.temp, -10.1);
    assert.equal(out.hum, 65.2);
  });

  it("DHT22 range ends are accepted, beyond them rejected", () => {
    assert.equal(decodeBytes(encodeBytes("dht22", -40, 0.5, new Uint8Array(5)), "dht22", out), null);
    assert.equal(out.temp, -40);
    assert.equal(decodeBytes(encodeBytes("dht22", 80, 100, new Uint8Array(5)), "dht22", out), null);
    assert.equal(out.hum, 100);
    assert.equal(decodeBytes(encodeBytes("dht22", -40.1, 50, new Uint8Array(5)), "dht22", out), "out-of-range");
    assert.equal(decodeBytes(encodeBytes("dht22", 80.1, 50, new Uint8Array(5)), "dht22", out), "out-of-range");
    assert.equal(decodeBytes(encodeBytes("dht22", 20, 100.1, new Uint8Array(5)), "dht22", out), "out-of-range");
  });

  it("DHT11 integer frame 0x28 0x00 0x19 0x00 0x41 → 40 %RH, 25 °C", () => {
    assert.equal(decodeBytes(bytesOf(0x28, 0x00, 0x19, 0x00, 0x41), "dht11", out), null);
    assert.equal(out.hum, 40);
    assert.equal(out.temp, 25);
  });

  it("newer DHT11: tenths byte and sign bit", () => {
    assert.equal(decodeBytes(withSum(0x2d, 0x00, 0x18, 0x07), "dht11", out), null);
    assert.equal(out.hum, 45);
    assert.equal(out.temp, 24.7);
    assert.equal(decodeBytes(withSum(0x2d, 0x03, 0x18, 0x00), "dht11", out), null);
    assert.equal(out.hum, 45.3);
    // −0.5 °C decodes with its sign, and is outside the DHT11's 0–50 °C range.
    assert.equal(decodeBytes(withSum(0x2d, 0x00, 0x00, 0x85), "dht11", out), "out-of-range");
    assert.match(out.detail, /-0\.5/);
    // A tenths byte above 9 is not a DHT11 frame (e.g. a DHT22 wired as DHT11).
    assert.equal(decodeBytes(bytesOf(0x02, 0x8c, 0x01, 0x5f, 0xee), "dht11", out), "out-of-range");
  });

  it("DHT11 range 0–50 °C and 20–90 %RH", () => {
    assert.equal(decodeBytes(withSum(20, 0, 0, 1), "dht11", out), null);
    assert.equal(decodeBytes(withSum(90, 0, 50, 0), "dht11", out), null);
    assert.equal(decodeBytes(withSum(19, 0, 25, 0), "dht11", out), "out-of-range");
    assert.equal(decodeBytes(withSum(91, 0, 25, 0), "dht11", out), "out-of-range");
    assert.equal(decodeBytes(withSum(50, 0, 50, 1), "dht11", out), "out-of-range");
  });

  it("rejects the known garbage frames", () => {
    for (const model of ["dht11", "dht22"] as DhtModel[]) {
      assert.equal(decodeBytes(bytesOf(0, 0, 0, 0, 0), model, out), "out-of-range");
      assert.equal(out.detail, "all zeros");
      assert.equal(decodeBytes(bytesOf(0xff, 0xff, 0xff, 0xff, 0xff), model, out), "checksum");
      assert.equal(out.detail, "all ones");
    }
    // Sums right but is 0 %RH / −0.0 °C.
    assert.equal(decodeBytes(withSum(0, 0, 0x80, 0), "dht22", out), "out-of-range");
    assert.equal(decodeBytes(withSum(0, 0, 0, 0x80), "dht11", out), "out-of-range");
  });

  it("checksum mismatch is named", () => {
    assert.equal(decodeBytes(bytesOf(0x02, 0x8c, 0x01, 0x5f, 0xef), "dht22", out), "checksum");
    assert.equal(out.error, "checksum");
  });
});

// ---------------------------------------------------------------- pulses

describe("dht pulse train → reading", () => {
  const out = createDecoded();

  it("decodes the DHT22 datasheet vector from a nominal train", () => {
    const { buf, n } = train(bytesOf(0x02, 0x8c, 0x01, 0x5f, 0xee));
    assert.equal(decode(buf, n, "dht22", out), null);
    assert.equal(out.bits, 40);
    assert.deepEqual(Array.from(out.bytes), [0x02, 0x8c, 0x01, 0x5f, 0xee]);
    assert.equal(out.hum, 65.2);
    assert.equal(out.temp, 35.1);
  });

  it("decodes −10.1 °C through the pulse train", () => {
    const { buf, n } = train(withSum(0x02, 0x8c, 0x80, 0x65));
    assert.equal(decode(buf, n, "dht22", out), null);
    assert.equal(out.temp, -10.1);
  });

  it("accepts a capture without the release high or without the idle high", () => {
    const bytes = withSum(0x28, 0, 0x19, 0);
    const { buf, n } = train(bytes);
    assert.equal(decode(buf.subarray(1), n - 1, "dht11", out), null);
    assert.equal(decode(buf, n - 1, "dht11", out), null);
    assert.equal(out.temp, 25);
  });

  it("property: random readings survive jitter (±6 µs), DHT22 and DHT11", () => {
    const rnd = prng(0xd472);
    const jitter = () => Math.round((rnd() * 2 - 1) * 6);
    const bytes = new Uint8Array(5);
    const buf = new Uint16Array(CAPTURE_ENTRIES);
    let cases = 0;
    for (let i = 0; i < 300; i++) {
      const t = Math.floor(rnd() * 1201) - 400; // −40.0 … 80.0
      const h = Math.floor(rnd() * 1001); // 0.0 … 100.0
      if (t === 0 && h === 0) continue;
      encodeBytes("dht22", t / 10, h / 10, bytes);
      const n = encodeFrame(bytes, buf, jitter);
      assert.equal(decode(buf, n, "dht22", out), null, `dht22 ${t} ${h}: ${out.detail}`);
      assert.equal(out.temp, t / 10);
      assert.equal(out.hum, h / 10);
      cases++;
    }
    for (let i = 0; i < 300; i++) {
      const t = Math.floor(rnd() * 501); // 0.0 … 50.0, tenths variant
      const h = 20 + Math.floor(rnd() * 71); // 20 … 90
      if (t === 0 && h === 0) continue;
      encodeBytes("dht11", t / 10, h, bytes, true);
      const n = encodeFrame(bytes, buf, jitter);
      assert.equal(decode(buf, n, "dht11", out), null, `dht11 ${t} ${h}: ${out.detail}`);
      assert.equal(out.temp, t / 10);
      assert.equal(out.hum, h);
      cases++;
    }
    assert.ok(cases >= 590);
  });

  it("property: a sensor clock ±15 % off still decodes (bits judged against their low)", () => {
    const rnd = prng(7);
    const bytes = new Uint8Array(5);
    const buf = new Uint16Array(CAPTURE_ENTRIES);
    for (let i = 0; i < 200; i++) {
      const scale = 0.85 + rnd() * 0.3;
      const t = Math.floor(rnd() * 1201) - 400;
      const h = 1 + Math.floor(rnd() * 1000);
      encodeBytes("dht22", t / 10, h / 10, bytes);
      const n = encodeFrame(bytes, buf, () => Math.round((rnd() * 2 - 1) * 2));
      for (let k = 0; k < n; k++) buf[k] = pulse(levelOf(buf[k]), durationOf(buf[k]) * scale);
      assert.equal(decode(buf, n, "dht22", out), null, `scale ${scale}: ${out.detail}`);
      assert.equal(out.temp, t / 10);
      assert.equal(out.hum, h / 10);
    }
  });

  it("timeout: no answer, line stuck, train cut anywhere", () => {
    const buf = new Uint16Array(CAPTURE_ENTRIES);
    assert.equal(decode(buf, 0, "dht22", out), "timeout");
    buf[0] = pulse(1, MAX_DURATION_US);
    assert.equal(decode(buf, 1, "dht22", out), "timeout");
    buf[0] = pulse(0, MAX_DURATION_US);
    assert.equal(decode(buf, 1, "dht22", out), "timeout");
    const bytes = withSum(0x02, 0x8c, 0x01, 0x5f);
    for (const stuck of [false, true]) {
      for (let at = 0; at < FRAME_ENTRIES - 1; at++) {
        const t = train(bytes);
        const n = cutShort(t.buf, at, stuck);
        assert.equal(decode(t.buf, n, "dht22", out), "timeout", `cut at ${at} stuck ${stuck}: ${out.detail}`);
      }
    }
  });

  it("short-frame: a missing edge anywhere in the bits", () => {
    const rnd = prng(11);
    const bytes = withSum(0x02, 0x8c, 0x01, 0x5f);
    for (let at = 3; at <= FRAME_ENTRIES - 3; at++) {
      const t = train(bytes, () => Math.round((rnd() * 2 - 1) * 4));
      const n = missingEdge(t.buf, t.n, at);
      assert.equal(n, t.n - 2);
      assert.equal(decode(t.buf, n, "dht22", out), "short-frame", `merged at ${at}: ${out.detail}`);
    }
    // Two pulses of the same level in a row: an edge was not recorded.
    const t = train(bytes);
    t.buf[10] = pulse(levelOf(t.buf[9]), 30);
    assert.equal(decode(t.buf, t.n, "dht22", out), "short-frame");
  });

  it("long-frame: a glitch anywhere in the bits, or a 41st bit", () => {
    const rnd = prng(12);
    const bytes = withSum(0x02, 0x8c, 0x01, 0x5f);
    for (let at = 3; at <= FRAME_ENTRIES - 2; at++) {
      for (let glitch = 2; glitch <= 6; glitch++) {
        const t = train(bytes, () => Math.round((rnd() * 2 - 1) * 4));
        const n = extraEdge(t.buf, t.n, at, glitch);
        assert.equal(n, t.n + 2);
        assert.equal(decode(t.buf, n, "dht22", out), "long-frame", `glitch at ${at}: ${out.detail}`);
      }
    }
    // A well-formed extra bit before the trailing low.
    const t = train(bytes);
    t.buf.copyWithin(FRAME_ENTRIES + 1, FRAME_ENTRIES - 1, t.n);
    t.buf[FRAME_ENTRIES - 1] = pulse(0, 50);
    t.buf[FRAME_ENTRIES] = pulse(1, 27);
    assert.equal(decode(t.buf, t.n + 2, "dht22", out), "long-frame");
  });

  it("checksum: every single flipped bit is caught", () => {
    for (let bit = 0; bit < 40; bit++) {
      const bytes = withSum(0x02, 0x8c, 0x01, 0x5f);
      bytes[bit >> 3] ^= 0x80 >>> (bit & 7);
      const t = train(bytes);
      assert.equal(decode(t.buf, t.n, "dht22", out), "checksum", `bit ${bit}`);
    }
  });

  it("out-of-range: garbage frames with a valid checksum", () => {
    for (const model of ["dht11", "dht22"] as DhtModel[]) {
      for (const [temp, hum] of [
        [0, 0],
        [95, 99],
        [24, 120],
      ]) {
        const t = train(encodeBytes(model, temp, hum, new Uint8Array(5)));
        assert.equal(decode(t.buf, t.n, model, out), "out-of-range", `${model} ${temp}/${hum}`);
      }
    }
  });

  it("a count beyond the buffer or not a number is safe", () => {
    const t = train(withSum(0x28, 0, 0x19, 0));
    assert.equal(decode(t.buf.subarray(0, t.n), 1000, "dht11", out), null);
    assert.equal(decode(t.buf, NaN, "dht11", out), "timeout");
    assert.equal(decode(t.buf, -5, "dht11", out), "timeout");
  });
});

// ---------------------------------------------------------------- sensor

describe("dht sensor", () => {
  function capturing(frames: Array<Uint8Array | "throw" | "silent">) {
    const starts: number[] = [];
    const capture: PulseCapture = {
      capture(startLowUs, out) {
        starts.push(startLowUs);
        const f = frames.length > 1 ? frames.shift()! : frames[0];
        if (f === "throw") throw new Error("capture busy");
        if (f === "silent") return 0;
        return encodeFrame(f, out, noJitter);
      },
    };
    return { capture, starts };
  }

  it("reads through the capture with the model's start pulse and a 2 s minimum interval", () => {
    const { capture, starts } = capturing([bytesOf(0x02, 0x8c, 0x01, 0x5f, 0xee)]);
    const s22 = createDhtSensor(capture, "dht22");
    assert.equal(s22.minInterval, 2000);
    const r = s22.read();
    assert.deepEqual({ ...r }, { ok: true, temp: 35.1, hum: 65.2 });
    assert.equal(starts[0], START_LOW_US.dht22);
    const s11 = createDhtSensor(capture, "dht11");
    s11.read();
    assert.ok(starts[1] >= 18000);
  });

  it("names failures, never throws, reuses its result objects", () => {
    const { capture } = capturing([
      bytesOf(0x02, 0x8c, 0x01, 0x5f, 0xee),
      bytesOf(0x02, 0x8c, 0x01, 0x5f, 0xef),
      "silent",
      "throw",
      bytesOf(0x02, 0x8c, 0x01, 0x60, 0xef),
      bytesOf(0x02, 0x8c, 0x01, 0x5f, 0xee),
    ]);
    const s = createDhtSensor(capture, "dht22");
    const first = s.read();
    assert.equal(first.ok, true);
    const fail1 = s.read();
    assert.ok(!fail1.ok && fail1.error === "checksum");
    const fail2 = s.read();
    assert.ok(!fail2.ok && fail2.error === "timeout");
    assert.equal(fail2, fail1);
    const fail3 = s.read();
    assert.ok(!fail3.ok && fail3.error === "capture");
    assert.match(fail3.ok ? "" : (fail3.detail ?? ""), /capture busy/);
    const again = s.read();
    assert.equal(again, first);
    assert.ok(again.ok && again.temp === 35.2);
    assert.equal(s.read(), first);
    assert.equal(s.last.bits, 40);
  });

  it("rejects an unknown model when made", () => {
    const { capture } = capturing(["silent"]);
    assert.throws(() => createDhtSensor(capture, "dht33" as DhtModel));
  });
});

// ---------------------------------------------------------------- sampler

describe("dht sampling policy", () => {
  it("first read 1 s after power-up, then every interval", () => {
    const clock = new FakeClock();
    const sensor = scripted(clock, [GOOD(21, 40)]);
    const { s, readings, warnings } = sampler(clock, sensor, 5000);
    s.start();
    clock.advance(999);
    assert.equal(sensor.reads.length, 0);
    clock.advance(1);
    clock.advance(10000);
    assert.deepEqual(sensor.reads, [1000, 6000, 11000]);
    assert.equal(readings.length, 3);
    assert.equal(warnings.length, 0);
    assert.equal(s.interval, 5000);
  });

  it("starting long after power-up reads at once", () => {
    const clock = new FakeClock(50000);
    const sensor = scripted(clock, [GOOD(21, 40)]);
    const s = new Sampler({ clock, sensor, interval: 3000, poweredAt: 0, onReading: () => {} });
    s.start();
    clock.advance(0);
    assert.deepEqual(sensor.reads, [50000]);
  });

  it("raises a too-short interval to the sensor minimum, with a warning", () => {
    const clock = new FakeClock();
    const sensor = scripted(clock, [GOOD(21, 40)]);
    const { s, warnings } = sampler(clock, sensor, 500);
    assert.equal(s.interval, 2000);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /500/);
    s.start();
    clock.advance(7000);
    assert.deepEqual(sensor.reads, [1000, 3000, 5000, 7000]);
  });

  it("changeInterval at run time reschedules from the last read", () => {
    const clock = new FakeClock();
    const sensor = scripted(clock, [GOOD(21, 40)]);
    const { s, warnings } = sampler(clock, sensor, 60000);
    s.start();
    clock.advance(2000); // read at 1000
    s.changeInterval(4000);
    clock.advance(8000); // reads at 5000, 9000
    s.changeInterval(100);
    assert.equal(warnings.length, 1);
    clock.advance(4000); // reads at 11000, 13000
    assert.deepEqual(sensor.reads, [1000, 5000, 9000, 11000, 13000]);
  });

  it("a failure publishes nothing, is counted, and retried at the next allowed slot", () => {
    const clock = new FakeClock();
    const sensor = scripted(clock, [GOOD(21, 40), BAD, GOOD(22, 41)]);
    const { s, readings, errors } = sampler(clock, sensor, 10000);
    s.start();
    clock.advance(1000); // good
    clock.advance(10000); // fails at 11000
    assert.deepEqual(readings, ["21/40"]);
    assert.equal(s.sensorErrors, 1);
    assert.equal(s.failures, 1);
    clock.advance(2000); // retry at 13000
    assert.deepEqual(sensor.reads, [1000, 11000, 13000]);
    assert.deepEqual(readings, ["21/40", "22/41"]);
    assert.equal(s.failures, 0);
    assert.equal(errors.length, 0);
  });

  it("the last good value is never published again after failures", () => {
    const clock = new FakeClock();
    const sensor = scripted(clock, [GOOD(21, 40), BAD]);
    const { s, readings } = sampler(clock, sensor, 2000);
    s.start();
    clock.advance(30000);
    assert.deepEqual(readings, ["21/40"]);
    assert.ok(s.sensorErrors >= 10);
  });

  it("after 3 failures in a row: one error 'sensor' per streak", () => {
    const clock = new FakeClock();
    const sensor = scripted(clock, [BAD, BAD, BAD, BAD, BAD, GOOD(20, 50), BAD, BAD, BAD, GOOD(20, 50)]);
    const { s, readings, errors } = sampler(clock, sensor, 2000);
    s.start();
    clock.advance(1000 + 2000 * 4); // five failures
    assert.equal(errors.length, 1);
    assert.match(errors[0], /^sensor: /);
    assert.match(errors[0], /checksum/);
    assert.equal(s.sensorErrors, 5);
    clock.advance(2000); // good
    assert.deepEqual(readings, ["20/50"]);
    clock.advance(2000 * 3); // three more failures: a new streak
    assert.equal(errors.length, 2);
    assert.equal(s.sensorErrors, 8);
    clock.advance(2000);
    assert.deepEqual(readings, ["20/50", "20/50"]);
  });

  it("retries every 2 s until the error, then at the regular interval", () => {
    const clock = new FakeClock();
    const sensor = scripted(clock, [BAD]);
    const { s, errors } = sampler(clock, sensor, 30000);
    s.start();
    clock.advance(70000);
    assert.deepEqual(sensor.reads, [1000, 3000, 5000, 35000, 65000]);
    assert.equal(errors.length, 1);
    assert.equal(s.sensorErrors, 5);
  });

  it("stop() ends reading; start() again keeps the minimum gap", () => {
    const clock = new FakeClock();
    const sensor = scripted(clock, [GOOD(21, 40)]);
    const { s } = sampler(clock, sensor, 2000);
    s.start();
    clock.advance(1500); // read at 1000
    s.stop();
    assert.equal(s.running, false);
    assert.equal(clock.pending, 0);
    clock.advance(10000);
    assert.deepEqual(sensor.reads, [1000]);
    s.start();
    clock.advance(0);
    assert.deepEqual(sensor.reads, [1000, 11500]);
    s.stop();
    s.start();
    clock.advance(1999);
    assert.deepEqual(sensor.reads, [1000, 11500]);
    clock.advance(1);
    assert.deepEqual(sensor.reads, [1000, 11500, 13500]);
  });

  it("runs a real DHT22 sensor end to end", () => {
    const clock = new FakeClock();
    const bytes = withSum(0x02, 0x8c, 0x80, 0x65);
    const dht = createDhtSensor({ capture: (_start, out) => encodeFrame(bytes, out, noJitter) }, "dht22");
    const { s, readings } = sampler(clock, dht, 2000);
    s.start();
    clock.advance(3000);
    assert.deepEqual(readings, ["-10.1/65.2", "-10.1/65.2"]);
  });
});
