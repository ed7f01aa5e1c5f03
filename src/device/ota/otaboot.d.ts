declare module "device/ota/boot" {
  /** ESP-IDF app rollback and restart (native, ESP32; src/device/ota/modOtaBoot.c). */
  // biome-ignore lint/complexity/noStaticOnlyClass: the native module's shape (static host functions)
  export default class OtaBoot {
    /** The running firmware was just installed and waits for `confirm()`. */
    static onTrial(): boolean;
    /** Keeps the running firmware: `esp_ota_mark_app_valid_cancel_rollback()`. */
    static confirm(): void;
    /** Marks the running firmware invalid and reboots into the previous one; throws if there is none. */
    static rollback(): void;
    /** `esp_restart()`. */
    static restart(): void;
    /** Bytes of the partition the next update goes to; 0 without OTA partitions. */
    static spareSize(): number;
    /** Label of the running app partition, e.g. "ota_0". */
    static running(): string;
  }
}
