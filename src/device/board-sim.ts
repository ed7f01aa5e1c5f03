/**
 * The Moddable simulator's board (lin, mac, win): no GPIO, so a virtual LED
 * and a virtual DHT (src/virtual.ts, as in the Node simulator); the same
 * exports as board-esp32.ts.
 */
import Instrumentation from "instrumentation";
import type { DhtModel } from "../dht/frame";
import type { PulseCapture } from "../dht/sensor";
import type { DigitalOut, Flash, Log, UpdatePort } from "../ports";
import { VirtualDht, VirtualLed } from "../virtual";
import type { Closable } from "./wifi";

/** The simulated Wi-Fi connects to no real network. */
export const NEEDS_SSID: boolean = false;
export const BOARD: string = "Moddable simulator";
/** The simulated Wi-Fi has no radio to ask: report a plausible signal while up. */
export const FALLBACK_RSSI: number | undefined = -58;
/**
 * Build-time defaults of this board, under the configuration: the page on
 * 8080, since port 80 needs root on a desktop.
 */
export const BOARD_DEFAULTS: Record<string, unknown> = { web: 8080 };

/** No reboot here: src/device/main.ts restarts the app in place (stop cleanly, boot again). */
export const RESTART: (() => void) | undefined = undefined;

/** No DNS server on the desktop (port 53 is the host's). */
export function portal(_address: () => string | undefined): Closable | undefined {
  return undefined;
}

/** No mDNS announcement from the desktop: the page is at the host's address. */
export function announce(_id: string, _port: number, _log: Log): void {}

/** An LED that traces its state. */
export function makeLed(pin: number, log: Log): DigitalOut {
  return new VirtualLed((value) => log(`led: GPIO ${pin} ${value ? "on" : "off"}`));
}

/** A DHT that answers with a real sensor's pulse train: a slow drift plus a little noise. */
export function makeCapture(_pin: number, model: DhtModel, now: () => number): PulseCapture {
  return new VirtualDht({ model, now });
}

/** The simulator has no MAC: the id keeps the device's form with zeros. */
export function defaultId(): string {
  return "esp32-000000";
}

const CHUNKS = Instrumentation.map("XS Chunk Heap Used");
const SLOTS = Instrumentation.map("XS Slot Heap Used");

/** The simulator has no free-heap figure: report the XS heap in use (chunks + slots), as the Node simulator reports its heap in use. */
export function freeHeap(): number {
  const chunks = CHUNKS === undefined ? undefined : Instrumentation.get(CHUNKS);
  const slots = SLOTS === undefined ? undefined : Instrumentation.get(SLOTS);
  return (chunks ?? 0) + (slots ?? 0);
}

/** The Moddable simulator has no flash partition: readings wait in RAM (the Node simulator keeps them in a file). */
export function openFlash(_byteLength: number, _log: Log): Flash | undefined {
  return undefined;
}

/**
 * The Moddable simulator has no spare partition: an image is downloaded and
 * its SHA-256 checked as on the ESP32, then the update fails as
 * `unsupported` (the Node simulator installs images; see sim/ota.ts).
 */
export function makeUpdate(_log: Log): UpdatePort | undefined {
  return {
    capacity: 0x1e0000,
    installable: false,
    trial: false,
    open: () => ({
      write() {},
      complete(): string | undefined {
        throw new Error("the Moddable simulator cannot install firmware");
      },
      close() {},
    }),
    confirm() {},
    rollback() {},
  };
}

/** The simulator's clock is the host's: nothing to set. */
export function startClock(_server: string, _log: Log): void {}
