/**
 * The LED's state across restarts (`ledRestore`): what it is at power-up,
 * and keeping the last accepted state in the store for `last`. A store that
 * fails is logged, never fatal: the LED then starts off.
 */
import type { Log, Store } from "../ports";
import type { Config } from "./config";

/** Where the last accepted LED state is kept (`ledRestore` `last`). */
export const LED_KEY = "led";

/** The LED state at power-up, as `ledRestore` says. */
export function ledAtPowerUp(mode: Config["ledRestore"], store: Store | undefined, log: Log): boolean {
  if (mode !== "last") return mode === "on";
  let saved: string | undefined;
  try {
    saved = store?.get(LED_KEY);
  } catch {
    saved = undefined;
  }
  if (saved === "ON" || saved === "OFF") log(`store: restored led ${saved}`);
  return saved === "ON";
}

/** Keeps an accepted LED state for the next power-up. */
export function keepLed(store: Store | undefined, log: Log, on: boolean): void {
  try {
    store?.set(LED_KEY, on ? "ON" : "OFF");
  } catch (error) {
    log(`store: cannot keep ${LED_KEY} (${error instanceof Error ? error.message : String(error)})`);
  }
}
