/**
 * DHT11/DHT22 decoder: a captured pulse train (layout in ./frame) → 40 bits →
 * 5 bytes → checksum → reading, or a named failure. Allocation-free on success:
 * the caller owns and reuses the `DhtDecoded` record.
 */
import { type DhtModel, durationOf, EDGE_TIMEOUT_US, FRAME_BITS, FRAME_BYTES, frameChecksum, levelOf } from "./frame";

/**
 * Why a capture was rejected.
 * - `timeout`: no answer, or the line stuck / the train stopped before 40 bits.
 * - `short-frame`: edges missing (a pulse too long for one bit, or two pulses
 *   of the same level in a row).
 * - `long-frame`: extra edges (a glitch pulse too short for a bit, or more
 *   than 40 bits).
 * - `checksum`: the 5th byte is not the sum of the first four.
 * - `out-of-range`: the checksum holds but the values are impossible or a
 *   known garbage frame (all zeros, 0 %RH with 0 °C, decimals above 9).
 */
export type DhtError = "timeout" | "short-frame" | "long-frame" | "checksum" | "out-of-range";

/** Outcome of one decode; reused between calls. */
export interface DhtDecoded {
  /** null on success, else why the frame was rejected. */
  error: DhtError | null;
  /** Human-readable cause of the error; "" on success. */
  detail: string;
  /** °C, valid when `error` is null. */
  temp: number;
  /** %RH, valid when `error` is null. */
  hum: number;
  /** The bytes as far as they were decoded (for diagnostics). */
  readonly bytes: Uint8Array;
  /** How many bits were read from the train. */
  bits: number;
}

export function createDecoded(): DhtDecoded {
  return { error: null, detail: "", temp: 0, hum: 0, bytes: new Uint8Array(FRAME_BYTES), bits: 0 };
}

/** Accepted ranges per model (datasheet measuring ranges). */
export const DHT_RANGES: {
  readonly [model in DhtModel]: { tempMin: number; tempMax: number; humMin: number; humMax: number };
} = {
  dht11: { tempMin: 0, tempMax: 50, humMin: 20, humMax: 90 },
  dht22: { tempMin: -40, tempMax: 80, humMin: 0, humMax: 100 },
};

/** Pulse limits (µs) for the decoder; the nominal values are in ./frame. */
const RESPONSE_MIN_US = 40;
const RESPONSE_MAX_US = 120;
/** A leading high at most this long is the bus release and is skipped. */
const RELEASE_MAX_US = 120;
/** Shorter bit pulses are glitches: extra edges. */
const MIN_LOW_US = 20;
const MIN_HIGH_US = 10;
/** Longer bit pulses swallowed an edge (two pulses merged). */
const MAX_LOW_US = 100;
const MAX_HIGH_US = 85;
/**
 * A bit is 1 when its high is longer than its preceding low (~50 µs) clamped
 * to this window: the reference follows a sensor whose clock runs slow or
 * fast, the clamp keeps one odd low from flipping the decision.
 */
const THRESHOLD_MIN_US = 35;
const THRESHOLD_MAX_US = 65;

function fail(out: DhtDecoded, error: DhtError, detail: string): DhtError {
  out.error = error;
  out.detail = detail;
  return error;
}

/**
 * Reads the 40 bits of `train[0..count)` into `out.bytes`.
 * Returns null when 40 well-formed bits were found, else the error (also set on `out`).
 * Does not check the checksum.
 */
export function decodePulses(train: Uint16Array, count: number, out: DhtDecoded): DhtError | null {
  const bytes = out.bytes;
  bytes.fill(0);
  out.bits = 0;
  out.error = null;
  out.detail = "";
  const n = count > 0 ? (count > train.length ? train.length : Math.floor(count)) : 0;
  let p = 0;

  // Bus release high, if the capture recorded it.
  if (p < n && levelOf(train[p]) === 1) {
    const d = durationOf(train[p]);
    if (d >= EDGE_TIMEOUT_US) return fail(out, "timeout", "no response (line stayed high)");
    if (d > RELEASE_MAX_US) return fail(out, "short-frame", "no response low");
    p++;
  }
  // Response: low ~80, high ~80.
  if (p >= n) return fail(out, "timeout", "no response");
  for (let level = 0; level < 2; level++, p++) {
    if (p >= n) return fail(out, "timeout", "response cut short");
    const e = train[p];
    const d = durationOf(e);
    if (levelOf(e) !== level) return fail(out, "short-frame", "bad response");
    if (d >= EDGE_TIMEOUT_US) {
      return fail(out, "timeout", level ? "response high stuck" : "response low stuck");
    }
    if (d < RESPONSE_MIN_US || d > RESPONSE_MAX_US) {
      return fail(out, "short-frame", `bad response ${level ? "high " : "low "}${d} us`);
    }
  }

  // 40 × (low, high).
  for (let bit = 0; bit < FRAME_BITS; bit++, p += 2) {
    if (p >= n) return fail(out, "timeout", `train stopped after ${bit} bits`);
    const low = train[p];
    const dl = durationOf(low);
    if (levelOf(low) !== 0) return fail(out, "short-frame", `edge missing before bit ${bit}`);
    if (dl >= EDGE_TIMEOUT_US) return fail(out, "timeout", `line stuck low at bit ${bit}`);
    if (dl < MIN_LOW_US) return fail(out, "long-frame", `extra edge at bit ${bit} (low ${dl} us)`);
    if (dl > MAX_LOW_US) return fail(out, "short-frame", `edge missing at bit ${bit} (low ${dl} us)`);

    if (p + 1 >= n) return fail(out, "timeout", `train stopped after ${bit} bits`);
    const high = train[p + 1];
    const dh = durationOf(high);
    if (levelOf(high) !== 1) return fail(out, "short-frame", `edge missing at bit ${bit}`);
    if (dh >= EDGE_TIMEOUT_US) return fail(out, "timeout", `line stuck high at bit ${bit}`);
    if (dh < MIN_HIGH_US) return fail(out, "long-frame", `extra edge at bit ${bit} (high ${dh} us)`);
    if (dh > MAX_HIGH_US) return fail(out, "short-frame", `edge missing at bit ${bit} (high ${dh} us)`);

    const threshold = dl < THRESHOLD_MIN_US ? THRESHOLD_MIN_US : Math.min(dl, THRESHOLD_MAX_US);
    if (dh > threshold) bytes[bit >> 3] |= 0x80 >>> (bit & 7);
    out.bits = bit + 1;
  }

  // Trailing low, then at most the idle high: anything more is extra edges.
  if (p < n && levelOf(train[p]) === 0) p++;
  if (p < n && levelOf(train[p]) === 1) p++;
  if (p < n) return fail(out, "long-frame", "extra edges after bit 40");
  return null;
}

/**
 * Checks and converts 5 bytes for `model`. Returns null and sets `out.temp`,
 * `out.hum` on success, else the error (also set on `out`).
 */
export function decodeBytes(bytes: Uint8Array, model: DhtModel, out: DhtDecoded): DhtError | null {
  out.error = null;
  out.detail = "";
  const b0 = bytes[0],
    b1 = bytes[1],
    b2 = bytes[2],
    b3 = bytes[3];
  if (frameChecksum(bytes) !== bytes[4]) {
    const allOnes = (b0 & b1 & b2 & b3 & bytes[4]) === 0xff;
    return fail(out, "checksum", allOnes ? "all ones" : `sum ${frameChecksum(bytes)} != ${bytes[4]}`);
  }
  if ((b0 | b1 | b2 | b3) === 0) return fail(out, "out-of-range", "all zeros");

  let temp: number;
  let hum: number;
  if (model === "dht22") {
    hum = ((b0 << 8) | b1) / 10;
    const t = (((b2 & 0x7f) << 8) | b3) / 10;
    temp = b2 & 0x80 ? -t : t;
  } else {
    // Classic DHT11: integers, decimal bytes 0. Newer DHT11: tenths in byte 3, sign in its bit 7.
    const tenths = b3 & 0x7f;
    if (b1 > 9 || tenths > 9) return fail(out, "out-of-range", "decimal byte above 9");
    hum = (b0 * 10 + b1) / 10;
    const t = (b2 * 10 + tenths) / 10;
    temp = b3 & 0x80 ? -t : t;
  }
  if (hum === 0 && temp === 0) return fail(out, "out-of-range", "0 %RH and 0 C");

  const r = DHT_RANGES[model];
  if (!(temp >= r.tempMin && temp <= r.tempMax)) return fail(out, "out-of-range", `temperature ${temp} C`);
  if (!(hum >= r.humMin && hum <= r.humMax)) return fail(out, "out-of-range", `humidity ${hum} %RH`);
  out.temp = temp;
  out.hum = hum;
  return null;
}

/** Pulse train → reading: `decodePulses` then `decodeBytes`. */
export function decode(train: Uint16Array, count: number, model: DhtModel, out: DhtDecoded): DhtError | null {
  return decodePulses(train, count, out) ?? decodeBytes(out.bytes, model, out);
}
