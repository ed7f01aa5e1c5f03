/**
 * Firmware updates over the air: one explicit state machine.
 *
 *   idle ──request──▶ downloading ──body complete──▶ verifying ──image accepted──▶ rebooting ──▶ restart
 *     ▲                    │                              │
 *     └──── failed ◀───────┴──────────────────────────────┘
 *
 *   boot ──firmware on trial──▶ trial ──broker reached──▶ idle (confirmed: `done`)
 *                                 └──── window over ────▶ rollback (restart: the previous firmware reports `rolled-back`)
 *
 * This file owns the states, their timers and the answers. The image itself
 * is streamed by a Transfer (./transfer), made when an update starts: each
 * chunk goes into the hash and into the spare partition (the `UpdatePort`),
 * never whole into RAM, at most TURN_BYTES a turn, so MQTT keeps its share
 * of the device while an image arrives. Nothing switches unless the whole
 * body arrived, its SHA-256 is the requested one and the platform accepts
 * the image; a failure cancels the partition write and the running firmware
 * carries on. Each state owns its timer (stall check, restart delay, trial
 * window), set and cleared in `go()`, the one transition function.
 *
 * What happened is published on `<p>/<id>/ota` as JSON (see
 * ../../shared/interface.md, "Firmware updates"). The outcome of an update
 * that restarts the device is told by the firmware that runs afterwards:
 * a record in the store says which version was installed, and after the
 * first connection the device reports `done` (the new firmware confirmed
 * itself) or `rolled-back` (the boot loader returned to this one).
 *
 * Images also arrive pushed (the web page's `POST /update`): `begin()`,
 * `write()` in bounded chunks, `end()`, with the same checks and answers.
 */

import type { Clock, Hash, HttpClient, Log, Store, TimerId, UpdatePort } from "../ports";
import { keepRecord, readRecord } from "./record";
import { checkVersion, parseRequest } from "./request";
import { parseDigest, SHA256_BYTES } from "./sha256";
import { errorText, Transfer, tooLarge } from "./transfer";

export type UpdateState = "idle" | "downloading" | "verifying" | "rebooting" | "trial";

/** How long a new firmware has to reach the broker before the device returns to the previous one. */
export const TRIAL_MS = 120000;
/** A download that brings no byte for this long fails. */
export const STALL_MS = 20000;
/** How often the stall is checked while downloading. */
const STALL_CHECK_MS = 5000;
/** Between `rebooting` and the restart: time for the message (and a web answer) to leave. */
export const REBOOT_DELAY_MS = 1000;
export { RECORD_KEY } from "./record";

/** An answer, as published on the `ota` topic. */
export interface UpdateAnswer {
  state: "downloading" | "verifying" | "rebooting" | "done" | "failed" | "rolled-back";
  version: string;
  progress?: number;
  error?: string;
  detail?: string;
}

export interface UpdaterPorts {
  clock: Clock;
  log: Log;
  /** Keeps the record of an installed update across the restart. */
  store?: Store;
  /** None: updates are answered `unsupported`. */
  update?: UpdatePort;
  /** None: `ota/set` downloads are answered `unsupported` (pushed images still work). */
  http?: HttpClient;
  /** The SHA-256 the images are checked with (reset before each). */
  hash: Hash;
  /** Restarts the device into the new firmware. */
  restart?: () => void;
  /** Publishes one answer on the `ota` topic (QoS 1, not retained). */
  report(answer: UpdateAnswer): void;
}

export interface UpdaterOptions {
  /** The running firmware's version. */
  version: string;
  /** The trial window, ms; TRIAL_MS unless a test shortens it. */
  window?: number;
}

export class Updater {
  state: UpdateState = "idle";
  /** The running firmware's version. */
  readonly running: string;
  /** The version being installed. */
  target = "";

  private readonly ports: UpdaterPorts;
  private readonly window: number;
  /** The image on its way (./transfer): made when an update starts, let go when it ends (an idle device keeps none). */
  private transfer: Transfer | undefined;
  /** The timer of the current state (see go()). */
  private timer: TimerId | undefined;
  /** This boot was a trial, and the broker was reached. */
  private confirmed = false;
  /** How the last update that was started ended, when it failed. */
  private lastFailure: UpdateAnswer | undefined;

  constructor(ports: UpdaterPorts, options: UpdaterOptions) {
    this.ports = ports;
    this.running = options.version;
    this.window = options.window ?? TRIAL_MS;
    if (ports.update?.trial) {
      ports.log(
        `update: version ${this.running} is on trial: it must reach the broker within ${Math.round(this.window / 1000)} s`,
      );
      this.go("trial");
    }
  }

  /**
   * `ota/set`: validates, then downloads, verifies and installs. Never throws.
   * A retained request is refused: it would come again at every connect, and
   * an image that is rolled back would be installed again and again. The
   * empty message that clears a retained one is ignored.
   */
  request(text: string, retained = false): void {
    if (text.trim() === "") return;
    const parsed = parseRequest(text);
    if ("error" in parsed) {
      this.refuse(parsed.version, "bad-request", parsed.error);
      return;
    }
    if (retained) {
      this.refuse(
        parsed.version,
        "bad-request",
        "a retained ota/set is ignored (it would install again at every connect): publish it without retain, and clear the retained one with an empty retained message",
      );
      return;
    }
    if (this.state !== "idle") {
      this.refuse(parsed.version, "busy", this.busyText());
      return;
    }
    if (parsed.version === this.running) {
      this.ports.log(`update: ${parsed.version} is already running; nothing to do`);
      this.ports.report({ state: "done", version: this.running });
      return;
    }
    if (!this.ports.update || !this.ports.http) {
      this.refuse(parsed.version, "unsupported", "this device cannot download firmware updates");
      return;
    }
    this.start(parsed.version, false, undefined, parsed.sha256);
    this.transfer!.get(parsed.location);
  }

  // ---- pushed images (the web page's POST /update) ---------------------------

  /**
   * A firmware image is about to be pushed, `byteLength` bytes if known.
   * `version` and `sha256` (64 hex digits) are checked when given; without
   * a digest, the platform's own check of the image (its appended SHA-256)
   * is what stands between a damaged file and the boot loader. Answers
   * `downloading` (go on with `write()`), `done` (that version already
   * runs: nothing to push) or `failed`.
   */
  begin(options: { version?: string; sha256?: string; byteLength?: number }): UpdateAnswer {
    const version = options.version ?? "";
    if (options.version !== undefined) {
      const bad = checkVersion(options.version);
      if (bad) return this.refuse("", "bad-request", bad);
    }
    const digest = new Uint8Array(SHA256_BYTES);
    if (options.sha256 !== undefined && !parseDigest(options.sha256.trim(), digest)) {
      return this.refuse(version, "bad-request", `"sha256" must be the image's SHA-256 as 64 hex digits`);
    }
    if (this.state !== "idle") return this.refuse(version, "busy", this.busyText());
    if (version === this.running) {
      this.ports.report({ state: "done", version: this.running });
      return { state: "done", version: this.running };
    }
    const update = this.ports.update;
    if (!update) return this.refuse(version, "unsupported", "this device cannot install firmware updates");
    const length = options.byteLength;
    if (length !== undefined && !(Number.isInteger(length) && length > 0))
      return this.refuse(
        version,
        "bad-request",
        `the image's length must be a positive number of bytes, not ${length}`,
      );
    if (length !== undefined && length > update.capacity)
      return this.refuse(version, "too-large", tooLarge(length, update.capacity));
    this.start(version, true, length, options.sha256 !== undefined ? digest : undefined);
    return this.transfer!.open() ? { state: "downloading", version, progress: 0 } : this.lastFailure!;
  }

  /** The next bytes of a pushed image (any size; the caller bounds its reads). Undefined, or the failure that ended the update. */
  write(bytes: Uint8Array): UpdateAnswer | undefined {
    const transfer = this.transfer;
    if (this.state !== "downloading" || !transfer?.pushed)
      return { state: "failed", version: this.target, error: "bad-request", detail: "no pushed update in progress" };
    return transfer.consume(bytes) ? undefined : this.lastFailure;
  }

  /** The pushed image is complete: verify and install. Answers `rebooting` (the device restarts in REBOOT_DELAY_MS) or `failed`. */
  end(): UpdateAnswer {
    if (this.state !== "downloading" || !this.transfer?.pushed)
      return { state: "failed", version: this.target, error: "bad-request", detail: "no pushed update in progress" };
    this.finish();
    return (this.state as UpdateState) === "rebooting"
      ? { state: "rebooting", version: this.target }
      : this.lastFailure!;
  }

  /** The push broke off (the connection closed early). */
  abort(reason: string): void {
    const transfer = this.transfer;
    if (this.state === "downloading" && transfer?.pushed)
      this.fail("truncated", `upload ended after ${transfer.received} bytes (${reason})`);
  }

  // ---- events from the app --------------------------------------------------

  /** MQTT reached the broker: confirms a firmware on trial, and tells how the last update ended. */
  connected(): void {
    const update = this.ports.update;
    if (this.state === "trial" && update) {
      this.go("idle");
      try {
        update.confirm();
        this.confirmed = true;
        this.ports.log(`update: version ${this.running} reached the broker: confirmed`);
      } catch (e) {
        this.ports.log(`update: cannot confirm version ${this.running} (${errorText(e)})`);
      }
    }
    const record = readRecord(this.ports.store);
    if (!record) return;
    keepRecord(this.ports.store, this.ports.log, "");
    if (this.confirmed || record === this.running) {
      this.ports.report({ state: "done", version: this.running });
    } else {
      this.ports.log(`update: version ${record} did not reach the broker; back to version ${this.running}`);
      this.ports.report({ state: "rolled-back", version: this.running });
    }
  }

  /** The device stops: a transfer in progress is cancelled, timers cleared. */
  stop(): void {
    if (this.state === "downloading" || this.state === "verifying")
      this.ports.log(`update: ${this.target} cancelled: the device is stopping`);
    this.release();
    this.ports.clock.clear(this.timer);
    this.timer = undefined;
    this.state = "idle";
  }

  // ---- the machine ------------------------------------------------------------

  /** The one transition: leaves the current state's timer behind and starts the next state's. */
  private go(next: UpdateState): void {
    const clock = this.ports.clock;
    clock.clear(this.timer);
    this.timer = undefined;
    this.state = next;
    if (next === "downloading") {
      this.timer = clock.repeat(() => this.checkStall(), STALL_CHECK_MS);
    } else if (next === "rebooting") {
      this.timer = clock.set(() => this.reboot(), REBOOT_DELAY_MS);
    } else if (next === "trial") {
      this.timer = clock.set(() => this.expire(), this.window);
    }
  }

  /** An update starts: a new transfer, the `downloading` state and its answer. */
  private start(version: string, pushed: boolean, length: number | undefined, digest: Uint8Array | undefined): void {
    this.target = version;
    this.lastFailure = undefined;
    const transfer = (this.transfer = new Transfer(this, this.ports, pushed, length));
    if (digest) transfer.expect(digest);
    this.ports.hash.reset();
    this.go("downloading");
    this.ports.log(`update: ${version || "an image"}: ${pushed ? "receiving" : "downloading"}`);
    this.ports.report({ state: "downloading", version, progress: 0 });
  }

  /** The whole body is in: check it, then switch. @internal (called by the transfer) */
  finish(): void {
    const transfer = this.transfer!;
    const short = transfer.shortfall();
    if (short) {
      this.fail("truncated", short);
      return;
    }
    this.go("verifying");
    this.ports.report({ state: "verifying", version: this.target });
    const mismatch = transfer.mismatch();
    if (mismatch) {
      this.fail("digest-mismatch", mismatch);
      return;
    }
    const received = transfer.received;
    if (!this.ports.update!.installable) {
      this.fail(
        "unsupported",
        `${received} bytes received and verified (SHA-256 ${transfer.digestHex()}), but this platform cannot install firmware`,
      );
      return;
    }
    let version: string | undefined;
    try {
      version = transfer.complete();
    } catch (e) {
      this.fail("bad-image", `the image was refused: ${errorText(e)}`);
      return;
    }
    this.release();
    if (!this.target && version) this.target = version;
    keepRecord(this.ports.store, this.ports.log, this.target || "?");
    this.ports.log(`update: ${this.target}: ${received} bytes verified and installed; restarting`);
    this.go("rebooting");
    this.ports.report({ state: "rebooting", version: this.target });
  }

  private reboot(): void {
    const restart = this.ports.restart;
    if (restart) {
      restart();
      return;
    }
    this.ports.log(`update: ${this.target} is installed; restart the device to run it`);
    this.go("idle");
  }

  /** The trial window is over without reaching the broker. */
  private expire(): void {
    this.ports.log(
      `update: version ${this.running} did not reach the broker within ${Math.round(this.window / 1000)} s: returning to the previous firmware`,
    );
    this.go("idle");
    try {
      this.ports.update?.rollback();
    } catch (e) {
      this.ports.log(`update: cannot return to the previous firmware (${errorText(e)})`);
    }
  }

  private checkStall(): void {
    const t = this.transfer;
    if (this.state !== "downloading" || !t || this.ports.clock.now() - t.lastActivity < STALL_MS) return;
    const seconds = Math.round(STALL_MS / 1000);
    if (t.pushed) this.fail("timeout", `nothing received for ${seconds} s after ${t.received} bytes`);
    else if (!t.headers) this.fail("unreachable", `no answer from ${t.where()} within ${seconds} s`);
    else this.fail("timeout", `nothing received from ${t.where()} for ${seconds} s after ${t.received} bytes`);
  }

  /** Ends the update in progress: cancels the partition write, reports `failed`. @internal (called by the transfer too) */
  fail(code: string, detail: string): void {
    const version = this.target;
    this.release();
    this.go("idle");
    this.ports.log(`update: ${version || "image"} failed: ${code}: ${detail}`);
    this.lastFailure = { state: "failed", version, error: code, detail };
    this.ports.report(this.lastFailure);
  }

  /** Answers a request that was not started; an update in progress carries on. */
  private refuse(version: string, code: string, detail: string): UpdateAnswer {
    this.ports.log(`update: ${version || "request"} refused: ${code}: ${detail}`);
    const answer: UpdateAnswer = { state: "failed", version, error: code, detail };
    this.ports.report(answer);
    return answer;
  }

  private release(): void {
    this.transfer?.close();
    this.transfer = undefined;
  }

  private busyText(): string {
    const what =
      this.state === "trial"
        ? `version ${this.running} is on trial until it reaches the broker`
        : `an update to ${this.target || "a pushed image"} is ${this.state === "downloading" ? `downloading (${this.transfer?.progress ?? 0} %)` : this.state}`;
    return `${what}; try again later`;
  }
}
