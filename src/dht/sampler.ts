/**
 * Sampling policy for a slow sensor (DHT11/DHT22, or any ports.ts `Sensor`).
 *
 * - Reads every `max(interval, sensor.minInterval)` ms; a shorter interval is
 *   raised, with a warning.
 * - The first read comes no earlier than `powerUpDelay` (1 s) after power-up.
 * - A failed read publishes nothing, counts in `sensorErrors`, and is retried
 *   at the next allowed slot (`sensor.minInterval` after the failed read).
 *   After `failureLimit` (3) failures in a row `onError("sensor", …)` fires,
 *   once per streak, and the retries fall back to the regular interval.
 * - `onReading` gets fresh good readings only: the last good value is never
 *   handed out again.
 */
import type { Clock, Sensor, TimerId } from "../ports";

export interface SamplerOptions {
  clock: Clock;
  sensor: Sensor;
  /** Wanted time between reads, ms. */
  interval: number;
  /** A fresh good reading, °C and %RH. */
  onReading(temp: number, hum: number): void;
  /** `code` is "sensor": `failureLimit` reads failed in a row. */
  onError?(code: string, detail: string): void;
  onWarning?(text: string): void;
  /** `clock.now()` when the sensor was powered; default: when the sampler is made. */
  poweredAt?: number;
  /** Settling time after power-up before the first read, ms. Default 1000. */
  powerUpDelay?: number;
  /** Failures in a row that raise `onError`. Default 3. */
  failureLimit?: number;
}

export class Sampler {
  private readonly clock: Clock;
  private readonly sensor: Sensor;
  private readonly options: SamplerOptions;
  private readonly earliest: number;
  private readonly limit: number;
  private effective = 0;
  private timer: TimerId | undefined = undefined;
  private lastReadAt = -1;
  private streak = 0;
  private errors = 0;
  private active = false;
  private readonly tick = (): void => this.sample();

  constructor(options: SamplerOptions) {
    this.options = options;
    this.clock = options.clock;
    this.sensor = options.sensor;
    const poweredAt = options.poweredAt ?? this.clock.now();
    this.earliest = poweredAt + (options.powerUpDelay ?? 1000);
    this.limit = options.failureLimit ?? 3;
    this.changeInterval(options.interval);
  }

  /** Failed reads since start-up. */
  get sensorErrors(): number {
    return this.errors;
  }

  /** Failed reads in the current streak (0 after a good read). */
  get failures(): number {
    return this.streak;
  }

  /** The interval in use, ms (the wanted one, raised to the sensor's minimum). */
  get interval(): number {
    return this.effective;
  }

  get running(): boolean {
    return this.active;
  }

  /** Changes the interval; takes effect from the last read. Warns when raised. */
  changeInterval(ms: number): void {
    const min = this.sensor.minInterval;
    if (ms >= min) {
      this.effective = ms;
    } else {
      this.effective = min;
      this.options.onWarning?.(`interval ${ms} ms raised to ${min} ms, the sensor's minimum`);
    }
    if (this.active) this.schedule();
  }

  start(): void {
    if (this.active) return;
    this.active = true;
    this.schedule();
  }

  stop(): void {
    this.active = false;
    this.clock.clear(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    const gap = this.streak > 0 && this.streak < this.limit ? this.sensor.minInterval : this.effective;
    let due = this.lastReadAt < 0 ? this.earliest : this.lastReadAt + gap;
    if (due < this.earliest) due = this.earliest;
    const wait = due - this.clock.now();
    // The same timer record each time (this.timer is the sampler's own, run or pending).
    this.timer = this.clock.set(this.tick, Math.max(wait, 0), this.timer);
  }

  private sample(): void {
    if (!this.active) return;
    this.lastReadAt = this.clock.now();
    const result = this.sensor.read();
    if (result.ok) {
      this.streak = 0;
      const temp = result.temp;
      const hum = result.hum;
      this.schedule();
      this.options.onReading(temp, hum);
      return;
    }
    this.errors++;
    this.streak++;
    const error = result.error;
    const detail = result.detail;
    this.schedule();
    if (this.streak === this.limit) {
      this.options.onError?.(
        "sensor",
        `${this.limit} reads failed in a row, last: ${error}${detail ? ` (${detail})` : ""}`,
      );
    }
  }
}
