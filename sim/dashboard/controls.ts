/**
 * The simulator's live controls, offered by the dashboard for the simulator's
 * own devices: a virtual device's temperature and humidity (or drift), its
 * sensor fault rate, its Wi-Fi, a reboot; the embedded broker stopped and
 * started. Values are checked here; a bad one is refused with a sentence.
 */

import type { RunningBroker } from "../broker";
import type { VirtualDevice } from "../device";
import type { SimDeviceState } from "./api";

export interface SimChange {
  temp?: unknown;
  hum?: unknown;
  drift?: unknown;
  faultRate?: unknown;
  wifi?: unknown;
  reboot?: unknown;
}

export interface SimControls {
  ids(): string[];
  state(id: string): SimDeviceState | undefined;
  /** Applies `change` to device `id`; throws an Error with one sentence when a value is refused. */
  change(id: string, change: SimChange): Promise<SimDeviceState>;
  /** Undefined when the simulator uses another broker. */
  broker?: { running(): boolean; stop(): Promise<void>; start(): Promise<void> };
}

function inRange(name: string, value: unknown, min: number, max: number): number {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n) || n < min || n > max)
    throw new Error(`${name} must be a number from ${min} to ${max}`);
  return n;
}

export function simControls(devices: readonly VirtualDevice[], broker: RunningBroker | undefined): SimControls {
  // `devices` may still be filling when the dashboard starts.
  const find = (id: string) => devices.find((d) => d.app.id === id);
  const state = (d: VirtualDevice): SimDeviceState => ({
    temp: Math.round((d.dht.pinned?.temp ?? d.dht.temp) * 10) / 10,
    hum: Math.round((d.dht.pinned?.hum ?? d.dht.hum) * 10) / 10,
    drift: d.dht.pinned === null,
    faultRate: d.dht.faultRate,
    wifi: d.wifi.available,
    restarts: d.restarts,
  });
  return {
    ids: () => devices.map((d) => d.app.id),
    state: (id) => {
      const d = find(id);
      return d ? state(d) : undefined;
    },
    async change(id, change) {
      const d = find(id);
      if (!d) throw new Error(`no simulated device "${id}"`);
      // Check everything before changing anything.
      const temp = change.temp === undefined ? undefined : inRange("temp", change.temp, -40, 80);
      const hum = change.hum === undefined ? undefined : inRange("hum", change.hum, 0, 100);
      const faultRate = change.faultRate === undefined ? undefined : inRange("faultRate", change.faultRate, 0, 1);
      if (change.drift !== undefined && change.drift !== true)
        throw new Error("drift must be true (set temp and hum to stop it)");
      if (change.wifi !== undefined && change.wifi !== "drop" && change.wifi !== "restore")
        throw new Error('wifi must be "drop" or "restore"');
      if (change.reboot !== undefined && change.reboot !== true) throw new Error("reboot must be true");
      if (temp !== undefined || hum !== undefined)
        d.dht.pinned = { temp: temp ?? d.dht.pinned?.temp ?? d.dht.temp, hum: hum ?? d.dht.pinned?.hum ?? d.dht.hum };
      if (change.drift === true) d.dht.pinned = null;
      if (faultRate !== undefined) d.dht.faultRate = faultRate;
      if (change.wifi === "drop") d.wifi.drop();
      if (change.wifi === "restore") d.wifi.restore();
      if (change.reboot === true) await d.restart();
      return state(d);
    },
    broker: broker && {
      running: () => broker.running,
      stop: () => broker.stop(),
      start: () => broker.start(),
    },
  };
}
