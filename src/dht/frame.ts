/**
 * The DHT11/DHT22 pulse-train buffer: the one layout shared by the device's
 * native capture (the ESP32 polls the GPIO: src/device/dht/modDhtCapture.c),
 * the simulators' virtual sensor (src/virtual.ts) and the decoder.
 *
 * ## Capture contract
 *
 * 1. The host drives the data line low for the start pulse
 *    (`START_LOW_US[model]`: ≥ 18 ms for DHT11, about 1 ms for DHT22/AM2302),
 *    then releases it (the pull-up takes it high) and starts recording.
 * 2. Each recorded entry is one pulse, a `Uint16Array` element:
 *
 *        entry = (level << 15) | min(durationUs, 32767)
 *
 *    `level` is the line level during the pulse (1 = high), the duration is
 *    in whole microseconds, saturated at `MAX_DURATION_US`. Entries alternate
 *    levels; the capture never records two pulses of the same level in a row.
 * 3. The expected sequence (nominal durations, `FRAME_ENTRIES` entries):
 *
 *        [high 20–40 µs]   bus release before the sensor answers (optional:
 *                          the capture may leave it out)
 *        low  ~80 µs       response
 *        high ~80 µs       response
 *        40 × ( low ~50 µs, high 26–28 µs for a 0 bit or ~70 µs for a 1 bit )
 *                          bits, most significant bit of byte 0 first
 *        low  ~50 µs       trailing low, then the line idles high
 *
 * 4. The capture stops when no edge comes within `EDGE_TIMEOUT_US`, or when
 *    the buffer is full. On a timeout it may append the unfinished pulse as a
 *    last entry with duration ≥ `EDGE_TIMEOUT_US` (the idle high after a good
 *    frame, or the stuck level of a broken one), or leave it out; the decoder
 *    accepts both. It returns the number of entries written; 0 means the
 *    sensor never answered.
 * 5. The 5 bytes are: DHT22 humidity ×10 (hi, lo), temperature ×10 (hi with
 *    bit 7 = sign, lo), checksum; DHT11 humidity (integer, decimal), temperature
 *    (integer, tenths with bit 7 = sign on newer parts), checksum. The checksum
 *    is the low byte of the sum of bytes 0–3.
 */

export type DhtModel = "dht11" | "dht22";

/** Bit 15 of an entry: the line was high during the pulse. */
export const LEVEL_HIGH = 0x8000;
/** Bits 0–14 of an entry: the pulse duration in µs. */
export const DURATION_MASK = 0x7fff;
/** Longest duration an entry can hold; longer pulses are saturated to it. */
export const MAX_DURATION_US = 32767;

export const FRAME_BITS = 40;
export const FRAME_BYTES = 5;
/** Entries of a complete capture: release high, 2 response, 80 bit pulses, trailing low. */
export const FRAME_ENTRIES = 1 + 2 + 2 * FRAME_BITS + 1;
/** Capacity a capture buffer should have: a full frame plus room for stray edges. */
export const CAPTURE_ENTRIES = 128;

/** The capture gives up when the line keeps its level this long (µs). */
export const EDGE_TIMEOUT_US = 200;

/** Start pulse (host holds the line low), µs, per model. */
export const START_LOW_US: { readonly [model in DhtModel]: number } = {
  dht11: 20000,
  dht22: 1100,
};

/**
 * Shortest start pulse the part answers, µs: DHT11 "at least 18 ms", DHT22
 * (AM2302) 0.8 ms (its datasheet's Tbe minimum). The virtual sensor stays
 * silent below it, as a real one does.
 */
export const START_LOW_MIN_US: { readonly [model in DhtModel]: number } = {
  dht11: 18000,
  dht22: 800,
};

/** Nominal pulse durations from the datasheets, µs. */
export const RELEASE_HIGH_US = 30;
export const RESPONSE_LOW_US = 80;
export const RESPONSE_HIGH_US = 80;
export const BIT_LOW_US = 50;
export const ZERO_HIGH_US = 27;
export const ONE_HIGH_US = 70;
export const TRAILING_LOW_US = 50;

/** Packs one pulse into an entry. */
export function pulse(level: number, us: number): number {
  const d = us < 0 ? 0 : us > MAX_DURATION_US ? MAX_DURATION_US : Math.round(us);
  return (level ? LEVEL_HIGH : 0) | d;
}

/** Line level of an entry: 1 high, 0 low. */
export function levelOf(entry: number): number {
  return entry >>> 15;
}

/** Duration of an entry in µs. */
export function durationOf(entry: number): number {
  return entry & DURATION_MASK;
}

/** Low byte of the sum of bytes 0–3: what byte 4 must hold. */
export function frameChecksum(bytes: Uint8Array): number {
  return (bytes[0] + bytes[1] + bytes[2] + bytes[3]) & 0xff;
}
