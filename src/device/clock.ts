/**
 * ports.ts `Clock` over Moddable's `Timer` and `Time.ticks`.
 */

import Time from "time";
import Timer from "timer";
import type { Clock, TimerId } from "../ports";

let last = Time.ticks;
let elapsed = 0;

/** Milliseconds since start-up, never going backwards (survives the 32-bit tick counter wrapping). */
function now(): number {
  const ticks = Time.ticks;
  elapsed += (ticks - last) >>> 0;
  last = ticks;
  return elapsed;
}

export const clock: Clock = {
  now,
  set: (callback, ms, replacing) => {
    if (replacing !== undefined) Timer.clear(replacing as Timer);
    return Timer.set(() => callback(), Math.max(ms, 0));
  },
  repeat: (callback, ms) => Timer.repeat(() => callback(), ms > 0 ? ms : 1),
  clear: (id: TimerId | undefined) => {
    if (id !== undefined) Timer.clear(id as Timer);
  },
};
