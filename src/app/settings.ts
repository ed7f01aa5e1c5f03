/**
 * Settings changed at run time (`config/set`, the web page's form), kept in
 * the device's store: one mechanism for both. Each is kept as text under its
 * configuration key's own name (NVS keys are at most 15 bytes: the longest
 * key, `mqttPassword`, has 12), and at boot the kept ones win over the
 * build-time values until the store is cleared.
 */
import type { Log, Store } from "../ports";
import { CONFIG_KEYS, type Config, normalize, parseValue, SECRET_KEYS } from "./config";

/** How a kept value appears in a trace line: secrets never do. */
function shown(key: string, value: string): string {
  return SECRET_KEYS.indexOf(key) >= 0 ? `${key}=(${value ? "set" : "none"})` : `${key}=${value}`;
}

function read(store: Store, key: string): string | undefined {
  try {
    return store.get(key);
  } catch {
    return undefined;
  }
}

/**
 * Applies the kept settings over `config`, in place, and says at start which
 * it applied; a kept value that no longer parses is traced and skipped.
 * Returns the keys applied.
 */
export function applyKept(config: Config, store: Store | undefined, log: Log): string[] {
  const applied: string[] = [];
  if (!store) return applied;
  const record = config as unknown as Record<string, unknown>;
  const lines: string[] = [];
  for (const key of CONFIG_KEYS) {
    const kept = read(store, key);
    if (kept === undefined) continue;
    const result = parseValue(key, kept);
    if ("error" in result) {
      log(`store: ignored ${result.error}`);
      continue;
    }
    record[key] = result.value;
    applied.push(key);
    lines.push(shown(key, kept));
  }
  if (applied.length) {
    normalize(config);
    log(`store: applied ${lines.join(", ")} (kept settings win over build-time ones)`);
  }
  return applied;
}

/** The keys that have a kept value. */
export function keptKeys(store: Store | undefined): string[] {
  const keys: string[] = [];
  if (store) for (const key of CONFIG_KEYS) if (read(store, key) !== undefined) keys.push(key);
  return keys;
}

/**
 * Keeps already validated values (as text). Returns an error message when the
 * store refused one; the values kept before it stay kept.
 */
export function keep(store: Store | undefined, values: Record<string, unknown>): string | undefined {
  if (!store) return "this device has no store to keep settings in";
  for (const key of Object.keys(values)) {
    try {
      store.set(key, String(values[key]));
    } catch (error) {
      return `cannot keep ${key} (${error instanceof Error ? error.message : String(error)})`;
    }
  }
  return undefined;
}

/**
 * Forgets every kept setting: the build-time values apply again after the
 * next start. What the store keeps that is not a setting (the LED state for
 * `ledRestore=last`) stays.
 */
export function forget(store: Store | undefined): string | undefined {
  if (!store) return undefined;
  if (!store.delete) return "this device's store cannot forget settings";
  try {
    for (const key of CONFIG_KEYS) if (read(store, key) !== undefined) store.delete(key);
  } catch (error) {
    return `cannot forget the settings (${error instanceof Error ? error.message : String(error)})`;
  }
  return undefined;
}
