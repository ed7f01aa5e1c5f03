/**
 * The LED, shared between the app (the state users switch) and set-up mode
 * (a blink pattern, the only sign a bare board can give). While a pattern
 * plays, the app's writes are remembered, and the last one is applied when
 * the pattern stops.
 */
import type { Clock, DigitalOut, TimerId } from "../ports";

/** Set-up mode: two short blinks every 2 s (ms on, off, on, off). */
export const SETUP_PATTERN: readonly number[] = [100, 150, 100, 1650];

export class IndicatorLed implements DigitalOut {
  private readonly pin: DigitalOut;
  private readonly clock: Clock;
  private value: 0 | 1 = 0;
  private pattern: readonly number[] | undefined;
  private step = 0;
  private timer: TimerId | undefined;

  constructor(pin: DigitalOut, clock: Clock) {
    this.pin = pin;
    this.clock = clock;
  }

  /** The app's write: applied now, or when the pattern stops. */
  write(value: 0 | 1): void {
    this.value = value;
    if (!this.pattern) this.pin.write(value);
  }

  /** True while a pattern plays. */
  get blinking(): boolean {
    return this.pattern !== undefined;
  }

  /** Plays `pattern` (durations in ms, starting with on) over and over; undefined stops it and restores the app's state. */
  blink(pattern: readonly number[] | undefined): void {
    this.clock.clear(this.timer);
    this.timer = undefined;
    this.pattern = pattern?.length ? pattern : undefined;
    this.step = 0;
    if (this.pattern) this.next();
    else this.pin.write(this.value);
  }

  private next(): void {
    const pattern = this.pattern;
    if (!pattern) return;
    const step = this.step;
    this.pin.write(step % 2 === 0 ? 1 : 0);
    this.step = (step + 1) % pattern.length;
    this.timer = this.clock.set(() => this.next(), pattern[step]);
  }
}
