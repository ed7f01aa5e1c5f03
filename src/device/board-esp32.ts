/**
 * The ESP32 board: real LED pin, native DHT capture, MAC-derived id, free heap.
 * main.ts imports this as "device/board"; the simulator maps that name to
 * board-sim.ts, which has the same exports.
 */

import DhtCapture from "device/dht/capture";
import Instrumentation from "instrumentation";
import Net from "net";
import type { DhtModel } from "../dht/frame";
import type { PulseCapture } from "../dht/sensor";
import type { DigitalOut, Flash, Log, UpdatePort } from "../ports";
import { partitionFlash } from "./flash";
import { digitalLed } from "./led";
import { announce as announceMdns } from "./mdns";
import { captivePortal } from "./portal";
import { keepTime } from "./time-sync";
import { espUpdate, restartChip } from "./update";
import type { Closable } from "./wifi";

/** A real radio: the network name is required. */
export const NEEDS_SSID: boolean = true;
export const BOARD: string = "ESP32";
/** The Wi-Fi port's RSSI comes from the radio. */
export const FALLBACK_RSSI: number | undefined = undefined;
/** Build-time defaults of this board, under the configuration (none: the interface's defaults, e.g. web=80). */
export const BOARD_DEFAULTS: Record<string, unknown> = {};

/** A real reboot (esp_restart, in the OTA module): kept settings and a new firmware apply from the start. */
export const RESTART: (() => void) | undefined = restartChip;

/** Set-up mode's DNS server, answering every name with the access point's address. */
export function portal(address: () => string | undefined): Closable | undefined {
  return captivePortal(address);
}

/** `<id>.local` and `_http._tcp` over mDNS. */
export function announce(id: string, port: number, log: Log): void {
  announceMdns(id, port, log);
}

export function makeLed(pin: number, _log: Log): DigitalOut {
  return digitalLed(pin);
}

export function makeCapture(pin: number, _model: DhtModel, _now: () => number): PulseCapture {
  return new DhtCapture(pin);
}

/** "esp32-" + the last 6 hex digits of the station MAC, lowercase. */
export function defaultId(): string {
  const mac = String(Net.get("MAC", "station") ?? "").replace(/[^0-9A-Fa-f]/g, "");
  return `esp32-${mac.length >= 6 ? mac.slice(-6).toLowerCase() : "000000"}`;
}

const FREE = Instrumentation.map("System Free Memory");

/** Free heap in bytes (0 when the build has no instrumentation). */
export function freeHeap(): number {
  return (FREE === undefined ? undefined : Instrumentation.get(FREE)) ?? 0;
}

/** The offline buffer's flash: the `buffer` partition (src/device/partitions.csv). */
export function openFlash(byteLength: number, log: Log): Flash | undefined {
  return partitionFlash("buffer", byteLength, log);
}

/** Firmware updates: the spare app partition and ESP-IDF app rollback. */
export function makeUpdate(log: Log): UpdatePort | undefined {
  return espUpdate(log);
}

/** The wall clock comes from SNTP (`ntp`). */
export function startClock(server: string, log: Log): void {
  keepTime(server, log);
}
