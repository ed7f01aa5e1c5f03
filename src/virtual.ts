/**
 * The simulators' stand-ins for the hardware: a DHT11/DHT22 that answers a
 * capture with the pulse train a real sensor sends, so the same decoder runs
 * as on the ESP32, and an LED that remembers what was written. One copy for
 * both simulators: the Moddable simulator (src/device/board-sim.ts) and every
 * virtual device of the Node simulator (sim/virtual-dht.ts, sim/device.ts).
 *
 * Under `faultRate` a capture is damaged the way real wiring and timing
 * damage it; the dashboard's controls pin the values or change the rate live.
 */

import { cutShort, encodeBytes, encodeFrame, extraEdge, missingEdge } from "./dht/encode";
import { type DhtModel, EDGE_TIMEOUT_US, FRAME_BYTES, FRAME_ENTRIES, pulse, START_LOW_MIN_US } from "./dht/frame";
import type { PulseCapture } from "./dht/sensor";
import type { DigitalOut } from "./ports";

/**
 * Damage applied to a capture, and the decoder error it produces:
 * missing-edge → short-frame, extra-edge → long-frame, flipped-bit → checksum,
 * timeout → timeout, garbage (valid checksum) → out-of-range.
 */
export type VirtualDhtFault = "missing-edge" | "extra-edge" | "flipped-bit" | "timeout" | "garbage";

export const VIRTUAL_DHT_FAULTS: readonly VirtualDhtFault[] = [
  "missing-edge",
  "extra-edge",
  "flipped-bit",
  "timeout",
  "garbage",
];

export interface VirtualDhtOptions {
  model: DhtModel;
  /** Milliseconds clock driving the environment's drift. */
  now: () => number;
  /** Probability (0–1) that a capture is damaged. Default 0. */
  faultRate?: number;
  /** Uniform [0, 1) source. Default `Math.random`. */
  random?: () => number;
  /** DHT11 only: the newer part that sends temperature tenths and a sign. Default true. */
  dht11Tenths?: boolean;
  /** Peak pulse jitter, µs. Default 4. */
  jitterUs?: number;
  /** Readings that count up instead of drifting (see `sequenceReading`), for tests that count loss and order. */
  sequence?: boolean;
}

/** Readings a `sequence` sensor gives: n = 1, 2, … as distinct values valid for both models (n < 35000). */
export function sequenceReading(n: number): { temp: number; hum: number } {
  return { temp: (n % 500) / 10, hum: 20 + (Math.floor(n / 500) % 70) };
}

/** The n of a `sequence` reading. */
export function sequenceNumber(temp: number, hum: number): number {
  return (hum - 20) * 500 + Math.round(temp * 10);
}

/** Index of the first bit's low pulse in an encoded train (after release high and response). */
const FIRST_BIT = 3;
const BITS_END = FRAME_ENTRIES - 1; // trailing low

let sharedFrame: Uint8Array | undefined;

export class VirtualDht implements PulseCapture {
  readonly model: DhtModel;
  /** The environment's true values at the last capture. */
  temp = 24;
  hum = 50;
  /** The fault applied to the last capture, or null. */
  lastFault: VirtualDhtFault | null = null;
  /** Forces the next capture's fault (tests, manual trials). */
  nextFault: VirtualDhtFault | null = null;
  /** Probability (0–1) that a capture is damaged; the dashboard's controls change it live. */
  faultRate: number;
  /** Values set by hand (the dashboard's controls); null: the environment drifts. */
  pinned: { temp: number; hum: number } | null = null;
  /** Readings produced so far in `sequence` mode. */
  count = 0;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly tenths: boolean;
  private readonly jitterUs: number;
  private readonly sequence: boolean;
  /** The frame being sent: shared by the process's virtual sensors (used only within a capture), made at first use. */
  private readonly bytes = (sharedFrame ??= new Uint8Array(FRAME_BYTES));
  private readonly phase: number;
  /**
   * The pulses' jitter: a 30-bit congruential stream (small integers, which
   * allocate nothing on V8 or XS), seeded from `random` once per capture.
   */
  private noise = 1;
  private readonly jitter = (): number => {
    const span = this.jitterUs;
    if (span === 0) return 0;
    this.noise = (Math.imul(this.noise, 1103515245) + 12345) & 0x3fffffff;
    return ((this.noise >> 10) % (2 * span + 1)) - span;
  };

  constructor(options: VirtualDhtOptions) {
    this.model = options.model;
    this.now = options.now;
    this.faultRate = options.faultRate ?? 0;
    this.random = options.random ?? Math.random;
    this.tenths = options.dht11Tenths ?? true;
    this.jitterUs = Math.round(options.jitterUs ?? 4);
    this.sequence = options.sequence ?? false;
    this.phase = this.random() * 2 * Math.PI;
  }

  capture(startLowUs: number, out: Uint16Array): number {
    this.lastFault = null;
    // A start pulse too short for the part: it never answers.
    if (startLowUs < START_LOW_MIN_US[this.model]) return 0;
    this.drift();

    let fault = this.nextFault;
    this.nextFault = null;
    if (fault === null && this.random() < this.faultRate)
      fault = VIRTUAL_DHT_FAULTS[this.pick(VIRTUAL_DHT_FAULTS.length)];
    this.lastFault = fault;

    const bytes = this.bytes;
    this.noise = Math.floor(this.random() * 0x3fffffff);
    if (fault === "garbage") this.garbage(bytes);
    else encodeBytes(this.model, this.temp, this.hum, bytes, this.tenths);
    if (fault === "flipped-bit") {
      const bit = this.pick(40);
      bytes[bit >> 3] ^= 0x80 >>> (bit & 7);
    }
    let n = encodeFrame(bytes, out, this.jitter);
    if (n < out.length) out[n++] = pulse(1, EDGE_TIMEOUT_US); // the idle high the capture timed out on
    // A lost edge swallows one bit's high: its low, high and the next low merge
    // into one long low (115–182 µs, below the capture timeout).
    if (fault === "missing-edge") n = missingEdge(out, n, FIRST_BIT + 2 * this.pick(40));
    else if (fault === "extra-edge")
      n = extraEdge(out, n, FIRST_BIT + this.pick(BITS_END - FIRST_BIT), 2 + this.pick(5));
    else if (fault === "timeout") n = cutShort(out, this.pick(BITS_END), this.random() < 0.5);
    return n;
  }

  /** Slow sinusoidal drift (a 20-minute period) plus a little noise: ~22–26 °C, ~42–58 %RH. */
  private drift(): void {
    if (this.pinned) {
      this.temp = this.pinned.temp;
      this.hum = this.pinned.hum;
      return;
    }
    if (this.sequence) {
      const { temp, hum } = sequenceReading(++this.count);
      this.temp = temp;
      this.hum = hum;
      return;
    }
    const a = this.phase + (this.now() / 1_200_000) * 2 * Math.PI;
    this.temp = 24 + 1.8 * Math.sin(a) + (this.random() - 0.5) * 0.2;
    this.hum = 50 - 8 * Math.sin(a + 0.5) + (this.random() - 0.5);
  }

  /** A frame with a valid checksum but nonsense content. */
  private garbage(bytes: Uint8Array): void {
    const kind = this.pick(3);
    if (kind === 0) encodeBytes(this.model, 0, 0, bytes);
    else if (kind === 1) encodeBytes(this.model, 95, 99, bytes);
    else encodeBytes(this.model, this.temp, 120, bytes);
  }

  /** A whole number in [0, n). */
  private pick(n: number): number {
    return Math.min(n - 1, Math.floor(this.random() * n));
  }
}

/** An LED: the last value written, how many writes, and a hook called when the value changes (the first write counts as one). */
export class VirtualLed implements DigitalOut {
  value: 0 | 1 = 0;
  writes = 0;
  private readonly onChange: ((value: 0 | 1) => void) | undefined;

  constructor(onChange?: (value: 0 | 1) => void) {
    this.onChange = onChange;
  }

  write(value: 0 | 1): void {
    const changed = this.writes === 0 || value !== this.value;
    this.value = value;
    this.writes++;
    if (changed) this.onChange?.(value);
  }
}
