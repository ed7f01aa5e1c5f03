/**
 * ports.ts `Store` over Moddable's `Preference` (NVS on the ESP32, a file in
 * the simulator). Values are kept as strings; NVS keys are at most 15 bytes.
 */
import Preference from "preference";
import type { Store } from "../ports";

export function preferenceStore(domain = "app"): Store {
  return {
    get(key: string): string | undefined {
      try {
        const value = Preference.get(domain, key);
        return value === undefined ? undefined : String(value);
      } catch {
        return undefined;
      }
    },
    set(key: string, value: string): void {
      if (key.length > 15) throw new RangeError(`setting name "${key}" is longer than 15 bytes`);
      Preference.set(domain, key, value);
    },
    delete(key: string): void {
      Preference.delete(domain, key);
    },
  };
}
