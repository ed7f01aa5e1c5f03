/**
 * The inverse of the decoder: readings → 5 bytes → a pulse train in the
 * capture layout of ./frame. Used by the simulator's virtual sensor and by tests.
 */
import {
  BIT_LOW_US,
  type DhtModel,
  durationOf,
  EDGE_TIMEOUT_US,
  FRAME_BITS,
  frameChecksum,
  levelOf,
  ONE_HIGH_US,
  pulse,
  RELEASE_HIGH_US,
  RESPONSE_HIGH_US,
  RESPONSE_LOW_US,
  TRAILING_LOW_US,
  ZERO_HIGH_US,
} from "./frame";

/**
 * Fills `out` (≥ 5 bytes) with the frame a `model` sensor sends for `temp` °C
 * and `hum` %RH, checksum included. DHT22: 0.1 units, sign-magnitude
 * temperature. DHT11: integer humidity; with `dht11Tenths` (newer parts) the
 * temperature tenths go to byte 3 with the sign in its bit 7, otherwise the
 * temperature is a rounded integer (classic parts, no negatives).
 * Values are not range-checked: tests use this to build bad frames too.
 */
export function encodeBytes(
  model: DhtModel,
  temp: number,
  hum: number,
  out: Uint8Array,
  dht11Tenths = false,
): Uint8Array {
  if (model === "dht22") {
    const h = Math.round(hum * 10) & 0xffff;
    const t = Math.round(Math.abs(temp) * 10) & 0x7fff;
    out[0] = h >> 8;
    out[1] = h & 0xff;
    out[2] = (t >> 8) | (temp < 0 && t !== 0 ? 0x80 : 0);
    out[3] = t & 0xff;
  } else {
    out[0] = Math.round(hum) & 0xff;
    out[1] = 0;
    if (dht11Tenths) {
      const t = Math.round(Math.abs(temp) * 10);
      out[2] = Math.floor(t / 10) & 0xff;
      out[3] = (t % 10) | (temp < 0 && t !== 0 ? 0x80 : 0);
    } else {
      out[2] = Math.round(Math.max(temp, 0)) & 0xff;
      out[3] = 0;
    }
  }
  out[4] = frameChecksum(out);
  return out;
}

/**
 * Writes the pulse train a sensor sends for `bytes` (5 bytes, checksum
 * included) into `out`: bus release high, response low/high, 40 bits,
 * trailing low. `jitter()` is added to every pulse (µs; return 0 for nominal
 * timing); durations stay ≥ 1 µs. Returns the number of entries written
 * (`FRAME_ENTRIES` when `out` is large enough; the train is cut at `out.length`).
 */
export function encodeFrame(bytes: Uint8Array, out: Uint16Array, jitter: () => number): number {
  let n = put(out, 0, 1, RELEASE_HIGH_US, jitter);
  n = put(out, n, 0, RESPONSE_LOW_US, jitter);
  n = put(out, n, 1, RESPONSE_HIGH_US, jitter);
  for (let bit = 0; bit < FRAME_BITS; bit++) {
    const one = (bytes[bit >> 3] >>> (7 - (bit & 7))) & 1;
    n = put(out, n, 0, BIT_LOW_US, jitter);
    n = put(out, n, 1, one ? ONE_HIGH_US : ZERO_HIGH_US, jitter);
  }
  return put(out, n, 0, TRAILING_LOW_US, jitter);
}

/** Writes one jittered pulse at `n` if `out` has room; returns the next index (no closure per frame). */
function put(out: Uint16Array, n: number, level: number, us: number, jitter: () => number): number {
  if (n >= out.length) return n;
  out[n] = pulse(level, Math.max(us + jitter(), 1));
  return n + 1;
}

// Damage, as wiring and timing cause it: used by the virtual sensor and the tests.

/** An edge lost: entries at..at+2 merge into one pulse with the first one's level. */
export function missingEdge(out: Uint16Array, n: number, at: number): number {
  if (at + 2 >= n) return n;
  const d = durationOf(out[at]) + durationOf(out[at + 1]) + durationOf(out[at + 2]);
  out[at] = pulse(levelOf(out[at]), d);
  out.copyWithin(at + 1, at + 3, n);
  return n - 2;
}

/** A glitch: entry `at` is split into three, with a `glitchUs` pulse of the other level in the middle. */
export function extraEdge(out: Uint16Array, n: number, at: number, glitchUs: number): number {
  if (at >= n || n + 2 > out.length) return n;
  const level = levelOf(out[at]);
  const d = durationOf(out[at]);
  const first = Math.max(1, Math.floor((d - glitchUs) / 2));
  const rest = Math.max(1, d - glitchUs - first);
  out.copyWithin(at + 3, at + 1, n);
  out[at] = pulse(level, first);
  out[at + 1] = pulse(1 - level, glitchUs);
  out[at + 2] = pulse(level, rest);
  return n + 2;
}

/** The train stops at entry `at`: that pulse is recorded as stuck (or dropped) and nothing follows. */
export function cutShort(out: Uint16Array, at: number, recordStuck: boolean): number {
  if (!recordStuck) return at;
  out[at] = pulse(levelOf(out[at]), EDGE_TIMEOUT_US + 50);
  return at + 1;
}
