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
 *
 * Set-up mode, beside those states: with no network configured
 * (`unconfigured`), or when the link has not been up for `setup.after` ms
 * (2 minutes), the supervisor opens the access point `setup.name` so that a
 * phone can reach the device's page. The station keeps trying meanwhile; the
 * access point closes as soon as the station has an address.
 */

import { Backoff } from "../mqtt/backoff";
import type { Clock, Log, TimerId, WiFiEvent, WiFiPort } from "../ports";

export type WiFiState = "idle" | "connecting" | "up" | "waiting" | "unconfigured";

/** How long the link may stay down before set-up mode, ms. */
export const SETUP_AFTER = 120000;

export interface WiFiSupervisorOptions {
  wifi: WiFiPort;
  clock: Clock;
  ssid: string;
  password: string;
  /** Whether an empty `ssid` means "no network configured" (a real radio; the default) rather than a simulated link. */
  requireSsid?: boolean;
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
  /** The set-up access point: its name, its WPA2 password ("" for an open one), and after how long without a link it opens (default SETUP_AFTER). */
  setup?: { name: string; password: string; after?: number };
  /** Set-up mode began (`address`: the access point's, if known) or ended. */
  onSetup?(active: boolean, address?: string): void;
}

export class WiFiSupervisor {
  private readonly options: WiFiSupervisorOptions;
  private readonly wifi: WiFiPort;
  private readonly clock: Clock;
  private readonly backoff: Backoff;
  private status: WiFiState = "idle";
  private timer: TimerId | undefined;
  private setupTimer: TimerId | undefined;
  private accessPoint = false;
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

  /** True while in set-up mode (the access point is open). */
  get setup(): boolean {
    return this.accessPoint;
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
    if (!this.options.ssid && this.options.requireSsid !== false) {
      this.status = "unconfigured";
      this.openSetup("no Wi-Fi network is configured");
      return;
    }
    this.armSetup();
    this.attempt();
  }

  /** Disconnects, closes the access point and stops retrying. `onDown` and `onSetup` are not called. */
  stop(): void {
    if (this.status === "idle") return;
    this.clearTimer();
    this.clock.clear(this.setupTimer);
    this.setupTimer = undefined;
    if (this.accessPoint) {
      this.accessPoint = false;
      this.safely(() => this.wifi.closeAccessPoint?.());
    }
    this.status = "idle";
    this.wifi.onEvent = undefined;
    this.safely(() => this.wifi.disconnect());
  }

  /** Set-up mode after `setup.after` ms without a link, unless the link comes up first. */
  private armSetup(): void {
    const setup = this.options.setup;
    if (!setup || this.accessPoint) return;
    const after = setup.after ?? SETUP_AFTER;
    this.clock.clear(this.setupTimer);
    this.setupTimer = this.clock.set(() => {
      this.setupTimer = undefined;
      if (this.status !== "up") this.openSetup(`no Wi-Fi link for ${Math.round(after / 1000)} s`);
    }, after);
  }

  private openSetup(reason: string): void {
    const setup = this.options.setup;
    if (!setup || this.accessPoint) return;
    const open = this.wifi.openAccessPoint;
    if (!open) {
      this.log(`wifi: ${reason}, and this platform has no access point for set-up mode`);
      return;
    }
    let address: string | undefined;
    const error = this.safely(() => {
      address = open.call(this.wifi, setup.name, setup.password);
    });
    if (error !== undefined) {
      this.log(`wifi: ${reason}; cannot open the set-up access point (${error})`);
      return;
    }
    this.accessPoint = true;
    this.log(
      `wifi: set-up mode (${reason}): access point "${setup.name}" (${setup.password ? "WPA2" : "open"})${address ? ` at ${address}` : ""}`,
    );
    this.options.onSetup?.(true, address);
  }

  private closeSetup(): void {
    if (!this.accessPoint) return;
    this.accessPoint = false;
    this.safely(() => this.wifi.closeAccessPoint?.());
    this.log("wifi: left set-up mode (access point closed)");
    this.options.onSetup?.(false);
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
          this.clock.clear(this.setupTimer);
          this.setupTimer = undefined;
          this.status = "up";
          // As for MQTT: an accepted link starts the backoff over, so a flapping access point is rejoined at once.
          this.backoff.reset();
          const address = this.address();
          this.log(`wifi: got an address${address ? ` (${address})` : ""}`);
          this.closeSetup();
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
          this.armSetup();
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

  /** The station's address, if the port knows it. */
  address(): string | undefined {
    try {
      return this.wifi.address?.();
    } catch {
      return undefined;
    }
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
