/**
 * A ports.ts `Sensor` for a DHT11 or DHT22/AM2302, built from a pulse capture
 * (the ESP32's native module polling the GPIO, or the simulators' virtual
 * sensor) and the shared decoder. One capture buffer per process, one decode
 * record and one result object per sensor: reads allocate nothing once warm.
 */
import type { Sensor, SensorResult } from "../ports";
import { createDecoded, type DhtDecoded, decode } from "./decoder";
import { CAPTURE_ENTRIES, type DhtModel, START_LOW_US } from "./frame";

/** Drives the start pulse and records the answer (contract in ./frame). */
export interface PulseCapture {
  /**
   * Holds the data line low for `startLowUs` µs, releases it, and records the
   * sensor's pulses into `out` as `(level << 15) | µs` entries until no edge
   * comes within `EDGE_TIMEOUT_US` or `out` is full. Returns the entry count
   * (0: no answer). May throw on a driver fault; the sensor reports that as
   * error `capture`.
   */
  capture(startLowUs: number, out: Uint16Array): number;
}

/** The capture buffer, shared by the process's sensors (a simulator's fleet has thousands; each read uses it only within the call), made at first use. */
let sharedCapture: Uint16Array | undefined;
/** The decode record, shared the same way: a read copies its values out before returning. */
let sharedDecoded: DhtDecoded | undefined;
/** The two result objects every sensor of the process returns (see createDhtSensor), made at first use. */
let sharedGood: { ok: true; temp: number; hum: number } | undefined;
let sharedBad: { ok: false; error: string; detail?: string } | undefined;

/** Shortest time between two reads of a DHT11/DHT22, ms. */
export const DHT_MIN_INTERVAL_MS = 2000;

export interface DhtSensor extends Sensor {
  readonly model: DhtModel;
  /** The last decode of the process (bytes, bit count, error detail), for diagnostics. */
  readonly last: DhtDecoded;
}

/**
 * Makes a `Sensor` for `model` reading through `capture`.
 * `read()` never throws. It returns the same result object every time (one
 * for success, one for failure, shared by the process's sensors): copy
 * `temp`/`hum` out before the next read.
 * Errors: `timeout`, `short-frame`, `long-frame`, `checksum`,
 * `out-of-range` (see ./decoder), or `capture` when the capture itself threw.
 */
export function createDhtSensor(capture: PulseCapture, model: DhtModel): DhtSensor {
  if (model !== "dht11" && model !== "dht22") throw new RangeError(`unknown DHT model ${String(model)}`);
  return new Dht(capture, model);
}

/** See createDhtSensor: an object with methods rather than closures (a simulator's fleet has thousands). */
class Dht implements DhtSensor {
  readonly minInterval = DHT_MIN_INTERVAL_MS;
  private readonly startLow: number;

  constructor(
    private readonly capture: PulseCapture,
    readonly model: DhtModel,
  ) {
    this.startLow = START_LOW_US[model];
  }

  /** The process's last decode (one sensor on a device; a simulator's fleet shares it). */
  get last(): DhtDecoded {
    return (sharedDecoded ??= createDecoded());
  }

  read(): SensorResult {
    const buffer = (sharedCapture ??= new Uint16Array(CAPTURE_ENTRIES));
    const bad = (sharedBad ??= { ok: false, error: "", detail: "" });
    let count: number;
    try {
      count = this.capture.capture(this.startLow, buffer);
    } catch (e) {
      bad.error = "capture";
      bad.detail = String(e);
      return bad;
    }
    const decoded = this.last;
    const error = decode(buffer, count, this.model, decoded);
    if (error !== null) {
      bad.error = error;
      bad.detail = decoded.detail;
      return bad;
    }
    const good = (sharedGood ??= { ok: true, temp: 0, hum: 0 });
    good.temp = decoded.temp;
    good.hum = decoded.hum;
    return good;
  }
}
