/**
 * ports.ts `UpdatePort` on the ESP32: the spare app partition through the
 * SDK's ECMA-419 `embedded:update` (`esp_ota_begin/write/end` and
 * `esp_ota_set_boot_partition`), and ESP-IDF app rollback through our native
 * module (./ota/modOtaBoot.c). Writes are sequential ("a" mode), so ESP-IDF
 * erases each 4 KiB sector just before writing it rather than the whole
 * partition at once; `complete()` fails if ESP-IDF finds the image invalid
 * (its checksum and appended SHA-256 are checked by `esp_ota_end`).
 */

import FlashStorage from "embedded:storage/flash";
import Update from "embedded:update";
import OtaBoot from "device/ota/boot";
import type { Log, UpdatePort, UpdateTarget } from "../ports";

/** The update port, or undefined (traced) on a build without OTA partitions. */
export function espUpdate(log: Log): UpdatePort | undefined {
  const capacity = OtaBoot.spareSize();
  if (!capacity) {
    log("update: no spare app partition (partitions.csv without ota_0/ota_1): updates over the air are off");
    return undefined;
  }
  const trial = OtaBoot.onTrial();
  log(`update: running from ${OtaBoot.running()}${trial ? ", on trial" : ""}; ${capacity} bytes for the next firmware`);
  return {
    capacity,
    installable: true,
    trial,
    open(): UpdateTarget {
      const updater = Update.open({ partition: FlashStorage.open({ path: "nextota" }) });
      return {
        write: (bytes) => updater.write(bytes),
        complete: () => {
          updater.complete();
          return undefined;
        },
        close: () => updater.close(),
      };
    },
    confirm: () => OtaBoot.confirm(),
    rollback: () => OtaBoot.rollback(),
  };
}

/** Restarts the ESP32 (after the caller has said goodbye to the broker). */
export function restartChip(): void {
  OtaBoot.restart();
}
