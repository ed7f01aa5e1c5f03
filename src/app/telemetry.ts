/**
 * Readings on their way out: each fresh reading published as
 * `{"data":{"temp":…,"hum":…}}` without building an object or a string, or,
 * with the offline buffer (../store/readings), written to flash first and
 * sent from there in capture order, at most REPLAY_WINDOW unacknowledged at a
 * time so commands are never starved by a replay; and the count of readings
 * dropped (full outbound queue, full buffer), reported as one `queue-full`
 * error on the error lane, which never displaces a reading.
 *
 * This is the device's hot path: no allocation per reading (the bench's XS
 * rows), and no extra frame between the sampler's handler and the client.
 */

import { Views } from "../mqtt/views";
import type { Flash } from "../ports";
import { type LoggedReading, ReadingLog } from "../store/readings";
import type { App } from "./app";
import { STATE_MAX, writeState } from "./state";
import { round1 } from "./topics";

/** Buffered readings sent and not yet acknowledged, at most: commands are never starved by a replay. */
const REPLAY_WINDOW = 4;
let sharedStateViews: Views | undefined;
/** The reading being replayed, shared the same way: used only within pump(). */
let sharedTaken: LoggedReading | undefined;
/** Before this (2017-07-14), a wall clock has not been set. */
const CLOCK_SET_MS = 1.5e12;

export class Telemetry {
  /** The latest reading, rounded as published. */
  last: { temp: number; hum: number } | undefined;
  /** Clock time (ms) of the latest reading. */
  lastAt: number | undefined;
  /** Readings taken. */
  count = 0;
  /** The offline buffer, when the platform has flash for it and `buffer` is not 0. */
  readonly log: ReadingLog | undefined;
  private dropsUnreported = 0;
  /** Where a state payload is written before the client copies it: shared by the process's apps, made at first use. */
  private readonly views = (sharedStateViews ??= new Views(new Uint8Array(STATE_MAX), 8));
  private readonly taken = (sharedTaken ??= { time: 0, temp: 0, hum: 0, timed: false });
  private pumping = false;

  constructor(
    private readonly app: App,
    flash: Flash | undefined,
  ) {
    this.log = flash && app.config.buffer > 0 ? new ReadingLog(flash) : undefined;
    if (this.log?.pending)
      app.ports.log(`buffer: ${this.log.pending} readings kept from before the restart, to be sent first`);
  }

  /**
   * A fresh reading. With the offline buffer it is written to flash first
   * and leaves in capture order; it is live (`{"data":…}`) when it was taken
   * while connected with nothing waiting, else it carries its capture time.
   */
  reading(temp: number, hum: number): void {
    const app = this.app;
    const last = (this.last ??= { temp: 0, hum: 0 });
    last.temp = round1(temp);
    last.hum = round1(hum);
    this.lastAt = app.ports.clock.now();
    this.count++;
    const log = this.log;
    if (log) {
      const dropped = log.dropped;
      const live = app.client.connected && log.pending === 0;
      log.append(this.wallSeconds(), temp, hum, !live);
      this.dropsUnreported += log.dropped - dropped;
      this.reportDrops();
      this.pump();
    } else {
      this.reportDrops();
      const length = writeState(this.views.buffer, temp, hum, app.losant ? app.led : undefined);
      app.send(app.topics.state, this.views.get(0, length), app.config.qos);
    }
    app.changed();
  }

  /** Sends buffered readings, oldest first, while fewer than REPLAY_WINDOW wait for the broker. */
  pump(): void {
    const log = this.log;
    if (!log || this.pumping) return;
    const app = this.app;
    this.pumping = true;
    try {
      const r = this.taken;
      while (app.client.connected && log.inFlight < REPLAY_WINDOW && log.take(r)) {
        const time = r.timed && r.time > 0 ? r.time * 1000 : undefined;
        const length = writeState(this.views.buffer, r.temp, r.hum, app.losant ? app.led : undefined, time);
        if (!app.send(app.topics.state, this.views.get(0, length), app.config.qos)) {
          log.untake();
          break;
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  /** The broker has the oldest reading sent: it leaves the buffer. */
  delivered(): void {
    if (!this.log) return;
    this.log.acknowledge();
    this.pump();
  }

  /** A reading was dropped from the full outbound queue: counted, reported by `reportDrops()`. */
  dropped(): void {
    this.dropsUnreported++;
  }

  /** Reports the readings dropped since the last report as one `queue-full` error, when connected. */
  reportDrops(): void {
    const n = this.dropsUnreported;
    const app = this.app;
    if (n === 0 || !app.topics.error || !app.client.connected) return;
    const detail = `outbound queue full: dropped ${n} reading${n === 1 ? "" : "s"}`;
    if (app.send(app.topics.error, JSON.stringify({ error: "queue-full", detail }), 0, false, "event")) {
      this.dropsUnreported = 0;
      app.ports.log(`error: queue-full: ${detail}`);
      app.remember("queue-full", detail);
    }
  }

  /** Unix seconds, or 0 while the wall clock is unknown. */
  private wallSeconds(): number {
    const ms = this.app.ports.wallClock?.() ?? 0;
    return ms > CLOCK_SET_MS ? Math.floor(ms / 1000) : 0;
  }
}
