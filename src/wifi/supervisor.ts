/**
 * Keeps a station-mode Wi-Fi link up: connects, waits for an address,
 * reconnects after a drop with backoff, and tells the app when the network
 * goes away (hold MQTT) and comes back (resume MQTT).
 *
 * Platform-free: the radio is a ports.ts `WiFiPort` (the Moddable `wifi`
 * module on the device, a fake in the tests), time is a `Clock`.
 *
 *   idle ──start()──▶ connecting ──gotIP──▶ up ──disconnected──▶ waiting
 *                        │  ▲                                      │
 *      timeout/dropped ──┘  └────────────── backoff delay ─────────┘
 */
import type { Clock, Log, TimerId, WiFiEvent, WiFiPort } from "../ports";
import { Backoff } from "../mqtt/backoff";

export type WiFiState = "idle" | "connecting" | "up" | "waiting";

export interface WiFiSupervisorOptions {
  wifi: WiFiPort;
  clock: Clock;
  ssid: string;
  password: string;
  /** The link has an address: (re)start network traffic. */
  onUp?(): void;
  /** The link was lost after being up: hold network traffic. */
  onDown?(): void;
  log?: Log;
  /** Give up on one attempt when no address came within this many ms. Default 20000. */
  connectTimeout?: number;
  /** Backoff between attempts. Default: 1 s doubling to 60 s, full jitter. */
  backoff?: Backoff;
  /** Shortest wait between two attempts, ms. Default 500. */
  minDelay?: number;
}

export class WiFiSupervisor {
  private readonly options: WiFiSupervisorOptions;
  private readonly wifi: WiFiPort;
  private readonly clock: Clock;
  private readonly backoff: Backoff;
  private status: WiFiState = "idle";
  private timer: TimerId | undefined;
  /** Attempts started since `start()`. */
  attempts = 0;
  /** Times the link was lost after it had an address. */
  drops = 0;

  constructor(options: WiFiSupervisorOptions) {
    this.options = options;
    this.wifi = options.wifi;
    this.clock = options.clock;
    this.backoff = options.backoff ?? new Backoff(1000, 60000);
  }

  get state(): WiFiState {
    return this.status;
  }

  /** True while the link has an address. */
  get up(): boolean {
    return this.status === "up";
  }

  /** Signal strength in dBm while up, for diag. */
  rssi(): number | undefined {
    if (this.status !== "up") return undefined;
    try {
      return this.wifi.rssi();
    } catch {
      return undefined;
    }
  }

  start(): void {
    if (this.status !== "idle") return;
    this.wifi.onEvent = (event) => this.event(event);
    this.attempt();
  }

  /** Disconnects and stops retrying. `onDown` is not called. */
  stop(): void {
    if (this.status === "idle") return;
    this.clearTimer();
    this.status = "idle";
    this.wifi.onEvent = undefined;
    this.safely(() => this.wifi.disconnect());
  }

  private attempt(): void {
    this.clearTimer();
    this.status = "connecting";
    this.attempts++;
    this.log(`wifi: connecting${this.options.ssid ? ` to "${this.options.ssid}"` : ""} (attempt ${this.attempts})`);
    const timeout = this.options.connectTimeout ?? 20000;
    this.timer = this.clock.set(() => {
      this.timer = undefined;
      this.failed(`no address within ${timeout} ms`);
    }, timeout);
    const error = this.safely(() => this.wifi.connect(this.options.ssid, this.options.password));
    if (error !== undefined) this.failed(error);
  }

  private event(event: WiFiEvent): void {
    switch (this.status) {
      case "connecting":
        if (event === "gotIP") {
          this.clearTimer();
          this.status = "up";
          // As for MQTT: an accepted link starts the backoff over, so a flapping access point is rejoined at once.
          this.backoff.reset();
          this.log("wifi: got an address");
          this.options.onUp?.();
        } else if (event === "disconnected") {
          this.failed("disconnected while connecting");
        }
        break;
      case "up":
        if (event === "disconnected") {
          this.drops++;
          this.status = "waiting";
          this.log("wifi: link lost");
          this.options.onDown?.();
          if (this.status === "waiting") this.retryLater();
        }
        break;
      default:
        // idle or waiting: late events of an abandoned attempt
        break;
    }
  }

  private failed(reason: string): void {
    if (this.status !== "connecting") return;
    this.clearTimer();
    this.status = "waiting";
    this.log(`wifi: attempt failed (${reason})`);
    this.safely(() => this.wifi.disconnect());
    this.retryLater();
  }

  private retryLater(): void {
    const delay = Math.max(this.options.minDelay ?? 500, this.backoff.next());
    this.log(`wifi: retrying in ${delay} ms`);
    this.clearTimer();
    this.timer = this.clock.set(() => {
      this.timer = undefined;
      if (this.status === "waiting") this.attempt();
    }, delay);
  }

  private clearTimer(): void {
    this.clock.clear(this.timer);
    this.timer = undefined;
  }

  /** Runs a driver call; returns its error message, if it threw. */
  private safely(call: () => void): string | undefined {
    try {
      call();
      return undefined;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }

  private log(line: string): void {
    this.options.log?.(line);
  }
}
