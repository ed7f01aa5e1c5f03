/**
 * What the dashboard knows of each device, built from the devices' own
 * topics (`<prefix>/<id>/state|status|led|diag|error|config|ota`): latest
 * reading, online state, LED, diag, recent errors. Readings go to the
 * history store in batches; device records are saved when they change, so a
 * restarted dashboard shows every device's last known state at once.
 */
import type { DeviceInfo, HistoryStore, Reading, Row } from "../history/store";
import type { DeviceView as ApiView } from "./api";

/** The topics the dashboard subscribes to (one prefix level, as the devices use). */
export const KINDS = ["state", "status", "led", "diag", "error", "config", "ota"] as const;
type Kind = (typeof KINDS)[number];

/** Errors kept per device. */
const ERRORS_KEPT = 20;
/** Readings waiting for the store, at most; past it the oldest are dropped (and counted). */
const PENDING_MAX = 100_000;

/** What the fleet knows of a device (the API adds the simulator's controls). */
export type DeviceView = Omit<ApiView, "sim">;

export interface FleetEvents {
  reading(id: string, row: Row): void;
  device(view: DeviceView): void;
}

export class Fleet {
  private readonly devices = new Map<string, DeviceView>();
  private pending: Reading[] = [];
  private dirty = new Set<string>();
  private flushing: Promise<void> | undefined;
  /** Readings dropped because the store could not keep up or was unreachable. */
  lost = 0;
  /** The store's last failure, once per run of failures. */
  storeError: string | undefined;

  constructor(
    private readonly store: HistoryStore,
    private readonly events: FleetEvents,
    private readonly log: (line: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Loads what the store kept: every device's record and newest reading. */
  async load(): Promise<void> {
    const latest = await this.store.latest();
    for (const info of await this.store.devices())
      this.devices.set(info.id, { ...info, last: latest.get(info.id) ?? null });
    for (const [id, row] of latest) if (!this.devices.has(id)) this.devices.set(id, { ...blank(id, ""), last: row });
  }

  list(): DeviceView[] {
    return [...this.devices.values()].sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true }));
  }

  get(id: string): DeviceView | undefined {
    return this.devices.get(id);
  }

  /** Takes one MQTT message; ignores topics that are not a device's. */
  message(topic: string, payload: Buffer): void {
    const parts = topic.split("/");
    if (parts.length !== 3) return; // <prefix>/<id>/<kind>, as subscribed
    const [prefix, id, kind] = parts as [string, string, Kind];
    if (KINDS.indexOf(kind) < 0) return;
    if (id === "" || prefix === "") return;
    const text = payload.toString("utf8");
    let device = this.devices.get(id);
    if (!device) {
      device = { ...blank(id, prefix), last: null };
      this.devices.set(id, device);
    }
    device.prefix = prefix;
    const at = this.now();
    switch (kind) {
      case "state": {
        const reading = parseState(text, at);
        if (!reading) return;
        if (!device.last || reading.t >= device.last.t)
          device.last = { t: reading.t, temp: reading.temp, hum: reading.hum };
        const changed = !device.online || (reading.led !== undefined && reading.led !== device.led);
        if (reading.led) device.led = reading.led;
        device.online = true;
        device.seen = at;
        this.pending.push({ id, t: reading.t, temp: reading.temp, hum: reading.hum });
        if (this.pending.length > PENDING_MAX) {
          this.lost += this.pending.length - PENDING_MAX;
          this.pending.splice(0, this.pending.length - PENDING_MAX);
        }
        this.events.reading(id, { t: reading.t, temp: reading.temp, hum: reading.hum });
        // A reading is its own event; the device's record changes only when it came back or its LED moved.
        if (!changed) return;
        break;
      }
      case "status":
        if (text !== "online" && text !== "offline") return;
        device.online = text === "online";
        break;
      case "led":
        if (text !== "ON" && text !== "OFF") return;
        device.led = text;
        break;
      case "diag":
      case "config":
      case "ota": {
        const value = parseObject(text);
        if (!value) return;
        device[kind] = value;
        break;
      }
      case "error": {
        const value = parseObject(text);
        device.errors.push({
          t: at,
          error: typeof value?.error === "string" ? value.error : "unknown",
          detail: typeof value?.detail === "string" ? value.detail : text.slice(0, 200),
        });
        if (device.errors.length > ERRORS_KEPT) device.errors.splice(0, device.errors.length - ERRORS_KEPT);
        break;
      }
    }
    this.dirty.add(id);
    device.seen = at;
    this.events.device(device);
  }

  /** Writes waiting readings and changed device records to the store. */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async write(): Promise<void> {
    const readings = this.pending;
    const dirty = [...this.dirty];
    if (readings.length === 0 && dirty.length === 0) return;
    this.pending = [];
    this.dirty = new Set();
    try {
      if (readings.length) await this.store.add(readings);
      for (const id of dirty) {
        const { last: _last, ...info } = this.devices.get(id)!;
        await this.store.saveDevice(info);
      }
      if (this.storeError) this.log(`history: the store works again (${this.store.where})`);
      this.storeError = undefined;
    } catch (error) {
      // Keep them for the next try; the store may be restarting.
      this.pending = readings.concat(this.pending);
      for (const id of dirty) this.dirty.add(id);
      const message = (error as Error).message;
      if (this.storeError === undefined) this.log(`history: cannot write to ${this.store.where}: ${message}; retrying`);
      this.storeError = message;
    }
  }
}

function blank(id: string, prefix: string): DeviceInfo {
  return { id, prefix, online: false, led: null, diag: null, config: null, ota: null, errors: [], seen: 0 };
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** `{"data":{"temp","hum"}}`, `{"time":ms,"data":…}`, or Losant's `{"data":{…,"led":"ON"}}`. */
export function parseState(text: string, arrival: number): (Row & { led?: "ON" | "OFF" }) | undefined {
  const value = parseObject(text);
  const data = value?.data as Record<string, unknown> | undefined;
  if (!data || typeof data !== "object") return undefined;
  const { temp, hum } = data;
  if (typeof temp !== "number" || typeof hum !== "number" || !Number.isFinite(temp) || !Number.isFinite(hum))
    return undefined;
  const time = value!.time;
  const t = typeof time === "number" && Number.isFinite(time) && time > 0 ? Math.round(time) : arrival;
  const led = data.led === "ON" || data.led === "OFF" ? data.led : undefined;
  return { t, temp, hum, led };
}
