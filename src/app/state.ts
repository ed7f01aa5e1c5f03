/**
 * The telemetry payload `{"data":{"temp":23.5,"hum":41}}`, written straight
 * into caller-owned bytes: the same text JSON.stringify gives for values
 * rounded to one decimal, without building an object or a string.
 */
import { utf8 } from "../utf8";

const HEAD = utf8('{"data":{"temp":');
const TIME = utf8('{"time":');
const TIMED_DATA = utf8(',"data":{"temp":');
const HUM = utf8(',"hum":');
const LED_ON = utf8(',"led":"ON"');
const LED_OFF = utf8(',"led":"OFF"');
const TAIL = utf8("}}");

/** Longest payload `writeState` writes, bytes. */
export const STATE_MAX = 96;

/**
 * Writes the state payload into `out` (at least `STATE_MAX` bytes); returns
 * its length. `led` adds `"led":"ON"|"OFF"` (the losant profile); `time`
 * (Unix ms, a replayed reading's capture time) makes it
 * `{"time":…,"data":{…}}`.
 */
export function writeState(out: Uint8Array, temp: number, hum: number, led?: boolean, time?: number): number {
  let at: number;
  if (time !== undefined && time > 0) {
    at = put(out, 0, TIME);
    at = writeInteger(out, at, time);
    at = put(out, at, TIMED_DATA);
  } else at = put(out, 0, HEAD);
  at = writeTenths(out, at, temp);
  at = put(out, at, HUM);
  at = writeTenths(out, at, hum);
  if (led !== undefined) at = put(out, at, led ? LED_ON : LED_OFF);
  return put(out, at, TAIL);
}

function put(out: Uint8Array, at: number, bytes: Uint8Array): number {
  out.set(bytes, at);
  return at + bytes.length;
}

/** A non-negative integer below 2^53, in decimal. */
function writeInteger(out: Uint8Array, at: number, n: number): number {
  const start = at;
  let rest = Math.floor(n);
  do {
    out[at++] = 0x30 + (rest % 10);
    rest = Math.floor(rest / 10);
  } while (rest > 0);
  for (let i = start, j = at - 1; i < j; i++, j--) {
    const c = out[i];
    out[i] = out[j];
    out[j] = c;
  }
  return at;
}

/** `x` rounded to one decimal, as JSON writes it: `23.5`, `41`, `-10.1`, `0`. */
export function writeTenths(out: Uint8Array, at: number, x: number): number {
  let tenths = Math.round(x * 10);
  if (!Number.isFinite(tenths) || Math.abs(tenths) >= 1e9) tenths = 0;
  if (tenths < 0) {
    out[at++] = 0x2d; // -
    tenths = -tenths;
  }
  const fraction = tenths % 10;
  at = writeInteger(out, at, (tenths - fraction) / 10);
  if (fraction) {
    out[at++] = 0x2e; // .
    out[at++] = 0x30 + fraction;
  }
  return at;
}
