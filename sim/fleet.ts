/**
 * What the simulator needs to run a fleet in one process: the status line
 * (online / connecting / messages per second / dropped), the check that the
 * process may open a file per device, and quiet per-device logs.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import v8 from "node:v8";
import vm from "node:vm";
import type { VirtualDevice } from "./device";
import { connectingNow } from "./node-ports";

/** Devices whose own log lines are all shown; in a larger fleet only the first device's are (the status line counts the rest). */
export const CHATTY_FLEET = 10;

/** The status line of a fleet; messages per second are counted between two calls. */
export class FleetStatus {
  private lastCount = -1;
  private lastAt = 0;
  private rate = 0;

  constructor(
    private readonly devices: VirtualDevice[],
    private readonly where: string,
  ) {}

  line(now = performance.now()): string {
    let online = 0;
    let connecting = 0;
    let waiting = 0;
    let on = 0;
    let published = 0;
    let dropped = 0;
    for (const device of this.devices) {
      const app = device.app;
      const client = app.client;
      const state = client.state;
      if (state === "connected") online++;
      else if (state === "connecting" || state === "handshake") connecting++;
      else if (state === "waiting" || state === "paused") waiting++;
      if (app.led) on++;
      published += client.published;
      dropped += app.readingsDropped;
    }
    if (this.lastCount >= 0 && now - this.lastAt >= 900) {
      this.rate = ((published - this.lastCount) * 1000) / (now - this.lastAt);
      this.lastCount = published;
      this.lastAt = now;
    } else if (this.lastCount < 0) {
      this.lastCount = published;
      this.lastAt = now;
    }
    const { waiting: queued } = connectingNow();
    const first = this.devices[0]?.app.id ?? "";
    const last = this.devices[this.devices.length - 1]?.app.id ?? "";
    return (
      `${this.devices.length} devices (${first} … ${last}) | ${this.where} | ${online} online, ${connecting} connecting` +
      `${queued ? ` (${queued} waiting their turn)` : ""}, ${waiting} retrying | ${Math.round(this.rate)} msg/s | ${dropped} dropped | ${on} LEDs on`
    );
  }
}

/** The process's limit of open files (`ulimit -n`), or undefined when it cannot be read. */
export function fileLimit(): number | undefined {
  try {
    const text = execFileSync("/bin/sh", ["-c", "ulimit -n"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    return text === "unlimited" ? Infinity : Number(text) || undefined;
  } catch {
    return undefined;
  }
}

/** Files a fleet of `devices` keeps open: a socket each, the flash files kept open, and the rest of the process. */
export function filesNeeded(devices: number): number {
  return devices + 256 + 64;
}

/** A sentence when the file limit is too low for `devices`, else undefined. */
export function checkFileLimit(devices: number, limit = fileLimit()): string | undefined {
  const needed = filesNeeded(devices);
  if (limit === undefined || limit >= needed) return undefined;
  return `--devices ${devices} needs about ${needed} open files (one socket per device), but this shell allows ${limit}: raise it with \`ulimit -n ${needed}\` (up to \`ulimit -Hn\`), or split the fleet over processes with --first`;
}

/** The names in folder `dir` (none when it does not exist): a fleet reads its data folder once rather than each device's. */
export function namesIn(dir: string): Set<string> {
  return new Set(fs.existsSync(dir) ? fs.readdirSync(dir) : []);
}

/**
 * Says as soon as every device of a fleet is online, and how long after the
 * process started (the status line comes once a second), and again each
 * time all are back after some went offline (a broker restart), with how
 * long that took: a look every 50 ms. Each time, the heap is compacted.
 */
export function watchFleet(devices: VirtualDevice[], log: (line: string) => void): void {
  let lostAt = -1; // when some were first seen offline; -1 while all are online
  let first = true;
  const timer = setInterval(() => {
    let all = true;
    for (const device of devices)
      if (!device.app.client.connected) {
        all = false;
        break;
      }
    const now = performance.now();
    if (!all) {
      if (lostAt < 0) lostAt = now;
      return;
    }
    if (lostAt < 0 && !first) return;
    const n = devices.length;
    if (first) log(`all ${n} devices online, ${(now / 1000).toFixed(2)} s after start`);
    else log(`all ${n} devices online again, ${((now - lostAt) / 1000).toFixed(2)} s after the first went offline`);
    first = false;
    lostAt = -1;
    compactHeap();
  }, 50);
  timer.unref();
}

let collect: (() => void) | undefined;

/**
 * One full collection that also compacts the old generation. A fleet coming
 * online (at start, or after a broker restart) makes garbage that outlives
 * the young generation, and it lies on the same pages as the devices' own
 * objects; an ordinary collection frees it but keeps the pages. Moving the
 * live objects together gives them back: about 1.4 KiB a device at 10,000.
 * Compaction is asked for this collection only, and V8's `gc` is reached
 * without `--expose-gc` on the command line.
 */
export function compactHeap(): void {
  if (!collect) {
    v8.setFlagsFromString("--expose-gc");
    collect = vm.runInNewContext("gc") as () => void;
  }
  v8.setFlagsFromString("--compact-on-every-full-gc");
  try {
    collect();
  } finally {
    v8.setFlagsFromString("--no-compact-on-every-full-gc");
  }
}
