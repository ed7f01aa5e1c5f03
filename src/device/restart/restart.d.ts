declare module "device/restart" {
  /** Restarts the ESP32; never returns. */
  export default function restart(): void;
}
