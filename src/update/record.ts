/**
 * The record of an installed update, kept in the store across the restart:
 * the version the new firmware was to run ("" once its outcome is reported).
 * Read at the next connect to report `done` or `rolled-back`. A store that
 * fails is logged, never fatal.
 */
import type { Log, Store } from "../ports";
import { errorText } from "./transfer";

/** Store key of the record. */
export const RECORD_KEY = "ota";

/** The version an installed update was to run, or undefined when there is none to report. */
export function readRecord(store: Store | undefined): string | undefined {
  try {
    const text = store?.get(RECORD_KEY);
    return text ? text : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps `version` as the record ("" when reported). */
export function keepRecord(store: Store | undefined, log: Log, version: string): void {
  try {
    store?.set(RECORD_KEY, version);
  } catch (e) {
    log(`update: cannot keep the update record (${errorText(e)})`);
  }
}
