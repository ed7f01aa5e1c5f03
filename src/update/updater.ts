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
 * The image is streamed: each chunk read from the HTTP client goes into the
 * hash and into the spare partition (the `UpdatePort`), never whole into
 * RAM; at most TURN_BYTES are handled per turn, so MQTT keeps its share of
 * the device while an image arrives. Nothing switches unless the whole body
 * arrived, its SHA-256 is the requested one and the platform accepts the
 * image; a failure cancels the partition write and the running firmware
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

import { Views } from "../mqtt/views";
import type { Clock, Hash, HttpClient, HttpGet, Log, Store, TimerId, UpdatePort, UpdateTarget } from "../ports";
import { checkVersion, type Location, parseRequest, resolveLocation } from "./request";
import { parseDigest, SHA256_BYTES, toHex } from "./sha256";

export type UpdateState = "idle" | "downloading" | "verifying" | "rebooting" | "trial";

/** How long a new firmware has to reach the broker before the device returns to the previous one. */
export const TRIAL_MS = 120000;
/** A download that brings no byte for this long fails. */
export const STALL_MS = 20000;
/** How often the stall is checked while downloading. */
const STALL_CHECK_MS = 5000;
/** Between `rebooting` and the restart: time for the message (and a web answer) to leave. */
export const REBOOT_DELAY_MS = 1000;
/** Bytes read from the network, hashed and written at a time. */
export const CHUNK = 2048;
/** Bytes handled in one turn before the rest waits for the next, so that MQTT is served meanwhile. */
export const TURN_BYTES = 16384;
/** Progress is reported at most every this many percent. */
export const PROGRESS_STEP = 10;
const MAX_REDIRECTS = 3;
/** Store key of the record of an installed update, read after the restart. */
export const RECORD_KEY = "ota";

/** Whether `store` keeps an installed update whose outcome is still to be reported (at the next connect). */
export function updateOutcomeKept(store: Store | undefined): boolean {
  try {
    return !!store?.get(RECORD_KEY);
  } catch {
    return false;
  }
}

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
  /** Bytes received of the image being installed. */
  received = 0;
  /** Its length, when the server (or the pusher) said it. */
  length: number | undefined;
  /** The last progress reported, percent. */
  progress = 0;

  private readonly ports: UpdaterPorts;
  private readonly window: number;
  /** The digest the image must have: the request's own (an idle device keeps none). */
  private expected: Uint8Array | undefined;
  /** The download's buffer: made when an update starts, let go when it ends (an idle device keeps none). */
  private chunk: Uint8Array | undefined;
  private chunkViews: Views | undefined;
  /** Whether `expected` holds a digest to check (a pushed image may come without one). */
  private checkDigest = false;
  private pushed = false;
  private download: HttpGet | undefined;
  /** Counts requests, so that a late callback of an earlier one is ignored. */
  private generation = 0;
  private at: Location | undefined;
  private redirects = 0;
  private headers = false;
  private partition: UpdateTarget | undefined;
  /** The timer of the current state (see go()). */
  private timer: TimerId | undefined;
  private turn: TimerId | undefined;
  private lastActivity = 0;
  private nextProgress = 0;
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
    this.expected = parsed.sha256;
    this.checkDigest = true;
    this.pushed = false;
    this.startDownload(parsed.version, undefined);
    this.redirects = 0;
    this.get(parsed.location);
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
      return this.refuse(version, "too-large", this.tooLargeText(length));
    this.expected = digest;
    this.checkDigest = options.sha256 !== undefined;
    this.pushed = true;
    this.startDownload(version, length);
    const failure = this.openPartition();
    return failure ?? { state: "downloading", version, progress: 0 };
  }

  /** The next bytes of a pushed image (any size; the caller bounds its reads). Undefined, or the failure that ended the update. */
  write(bytes: Uint8Array): UpdateAnswer | undefined {
    if (this.state !== "downloading" || !this.pushed)
      return { state: "failed", version: this.target, error: "bad-request", detail: "no pushed update in progress" };
    return this.consume(bytes) ? undefined : this.lastFailure;
  }

  /** The pushed image is complete: verify and install. Answers `rebooting` (the device restarts in REBOOT_DELAY_MS) or `failed`. */
  end(): UpdateAnswer {
    if (this.state !== "downloading" || !this.pushed)
      return { state: "failed", version: this.target, error: "bad-request", detail: "no pushed update in progress" };
    this.finish();
    return (this.state as UpdateState) === "rebooting"
      ? { state: "rebooting", version: this.target }
      : this.lastFailure!;
  }

  /** The push broke off (the connection closed early). */
  abort(reason: string): void {
    if (this.state === "downloading" && this.pushed)
      this.fail("truncated", `upload ended after ${this.received} bytes (${reason})`);
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
    const record = this.readRecord();
    if (!record) return;
    this.keep("");
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
      this.lastActivity = clock.now();
      this.timer = clock.repeat(() => this.checkStall(), STALL_CHECK_MS);
    } else if (next === "rebooting") {
      this.timer = clock.set(() => this.reboot(), REBOOT_DELAY_MS);
    } else if (next === "trial") {
      this.timer = clock.set(() => this.expire(), this.window);
    }
  }

  private startDownload(version: string, length: number | undefined): void {
    this.target = version;
    this.received = 0;
    this.length = length;
    this.progress = 0;
    this.nextProgress = PROGRESS_STEP;
    this.headers = false;
    this.lastFailure = undefined;
    this.ports.hash.reset();
    this.go("downloading");
    this.ports.log(`update: ${version || "an image"}: ${this.pushed ? "receiving" : "downloading"}`);
    this.ports.report({ state: "downloading", version, progress: 0 });
  }

  private get(at: Location): void {
    const http = this.ports.http!;
    const generation = ++this.generation;
    const current = () => generation === this.generation && this.state === "downloading";
    this.at = at;
    this.headers = false;
    try {
      this.download = http({
        tls: at.tls,
        host: at.host,
        port: at.port,
        path: at.path,
        onHeaders: (status, length, location) => {
          if (current()) this.onHeaders(status, length, location);
        },
        onReadable: () => {
          if (current()) this.pump();
        },
        onDone: (error) => {
          if (current()) this.onDone(error);
        },
      });
    } catch (e) {
      this.fail("unreachable", `cannot download from ${this.where()} (${errorText(e)})`);
    }
  }

  private onHeaders(status: number, length: number | undefined, location: string | undefined): void {
    this.lastActivity = this.ports.clock.now();
    if (status >= 300 && status < 400 && location !== undefined) {
      const next = resolveLocation(this.at!, location);
      if (!next)
        this.fail(
          "http-error",
          `HTTP ${status} from ${this.where()} redirects to an address the device cannot fetch: ${location.slice(0, 100)}`,
        );
      else if (++this.redirects > MAX_REDIRECTS)
        this.fail("http-error", `more than ${MAX_REDIRECTS} redirects, the last from ${this.where()}`);
      else {
        this.closeRequest();
        this.get(next);
      }
      return;
    }
    if (status !== 200) {
      this.fail("http-error", `HTTP ${status} from ${this.where()}`);
      return;
    }
    if (length !== undefined && length > this.ports.update!.capacity) {
      this.fail("too-large", this.tooLargeText(length));
      return;
    }
    this.length = length;
    this.headers = true;
    if (this.openPartition()) return;
    this.pump();
  }

  /** Opens the spare partition; the failure if it cannot be. */
  private openPartition(): UpdateAnswer | undefined {
    try {
      this.partition = this.ports.update!.open({ byteLength: this.length, version: this.target });
      return undefined;
    } catch (e) {
      this.fail("write-failed", `cannot open the spare partition (${errorText(e)})`);
      return this.lastFailure;
    }
  }

  /** Reads what arrived, up to TURN_BYTES; the rest on the next turn. */
  private pump(): void {
    const request = this.download;
    if (this.state !== "downloading" || !request || !this.headers || this.turn !== undefined) return;
    let budget = TURN_BYTES;
    const chunk = (this.chunk ??= new Uint8Array(CHUNK));
    const views = (this.chunkViews ??= new Views(chunk, 4));
    while (budget > 0) {
      let n: number;
      try {
        n = request.read(chunk);
      } catch (e) {
        this.fail("truncated", `download from ${this.where()} failed after ${this.received} bytes (${errorText(e)})`);
        return;
      }
      if (n <= 0) return;
      if (!this.consume(n === CHUNK ? chunk : views.get(0, n))) return;
      budget -= n;
    }
    this.turn = this.ports.clock.set(() => {
      this.turn = undefined;
      this.pump();
    }, 0);
  }

  /** One chunk: into the partition and the hash. False when it ended the update. */
  private consume(bytes: Uint8Array): boolean {
    const n = bytes.length;
    const update = this.ports.update!;
    if (this.received + n > update.capacity || (this.length !== undefined && this.received + n > this.length)) {
      if (this.received + n > update.capacity) this.fail("too-large", this.tooLargeText(this.received + n));
      else this.fail("bad-image", `more than the ${this.length} bytes announced arrived`);
      return false;
    }
    try {
      this.partition!.write(bytes);
    } catch (e) {
      this.fail("write-failed", `writing the spare partition failed at byte ${this.received} (${errorText(e)})`);
      return false;
    }
    this.ports.hash.write(bytes);
    this.received += n;
    this.lastActivity = this.ports.clock.now();
    const length = this.length;
    if (length !== undefined && length > 0) {
      const percent = Math.floor((this.received * 100) / length);
      if (percent >= this.nextProgress) {
        this.progress = percent - (percent % PROGRESS_STEP);
        this.nextProgress = this.progress + PROGRESS_STEP;
        this.ports.report({ state: "downloading", version: this.target, progress: this.progress });
      }
    }
    return true;
  }

  private onDone(error: string | undefined): void {
    if (error !== undefined) {
      if (!this.headers) this.fail("unreachable", `cannot download from ${this.where()} (${error})`);
      else
        this.fail(
          "truncated",
          `download from ${this.where()} ended after ${this.received}${this.length === undefined ? "" : ` of ${this.length}`} bytes (${error})`,
        );
      return;
    }
    if (!this.headers) {
      this.fail("unreachable", `no answer from ${this.where()}`);
      return;
    }
    this.closeRequest();
    this.finish();
  }

  /** The whole body is in: check it, then switch. */
  private finish(): void {
    const length = this.length;
    if (length !== undefined && this.received < length) {
      this.fail("truncated", `${this.pushed ? "upload" : "download"} ended after ${this.received} of ${length} bytes`);
      return;
    }
    if (this.received === 0) {
      this.fail("truncated", "the image is empty");
      return;
    }
    this.go("verifying");
    this.ports.report({ state: "verifying", version: this.target });
    const actual = new Uint8Array(SHA256_BYTES);
    this.ports.hash.digest(actual);
    const expected = this.expected;
    if (this.checkDigest && expected && !same(actual, expected)) {
      this.fail("digest-mismatch", `the image's SHA-256 is ${toHex(actual)}, not the requested ${toHex(expected)}`);
      return;
    }
    const update = this.ports.update!;
    if (!update.installable) {
      this.fail(
        "unsupported",
        `${this.received} bytes received and verified (SHA-256 ${toHex(actual)}), but this platform cannot install firmware`,
      );
      return;
    }
    let version: string | undefined;
    try {
      version = this.partition!.complete();
    } catch (e) {
      this.fail("bad-image", `the image was refused: ${errorText(e)}`);
      return;
    }
    this.release();
    if (!this.target && version) this.target = version;
    this.keep(this.target || "?");
    this.ports.log(`update: ${this.target}: ${this.received} bytes verified and installed; restarting`);
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
    if (this.state !== "downloading" || this.ports.clock.now() - this.lastActivity < STALL_MS) return;
    const seconds = Math.round(STALL_MS / 1000);
    if (this.pushed) this.fail("timeout", `nothing received for ${seconds} s after ${this.received} bytes`);
    else if (!this.headers) this.fail("unreachable", `no answer from ${this.where()} within ${seconds} s`);
    else this.fail("timeout", `nothing received from ${this.where()} for ${seconds} s after ${this.received} bytes`);
  }

  /** Ends the update in progress: cancels the partition write, reports `failed`. */
  private fail(code: string, detail: string): void {
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
    this.closeRequest();
    this.chunk = this.chunkViews = this.expected = undefined;
    this.ports.clock.clear(this.turn);
    this.turn = undefined;
    const partition = this.partition;
    this.partition = undefined;
    if (partition) {
      try {
        partition.close();
      } catch {
        // already gone
      }
    }
  }

  private closeRequest(): void {
    const request = this.download;
    this.download = undefined;
    this.generation++;
    if (!request) return;
    try {
      request.close();
    } catch {
      // already closed
    }
  }

  private busyText(): string {
    const what =
      this.state === "trial"
        ? `version ${this.running} is on trial until it reaches the broker`
        : `an update to ${this.target || "a pushed image"} is ${this.state === "downloading" ? `downloading (${this.progress} %)` : this.state}`;
    return `${what}; try again later`;
  }

  private tooLargeText(length: number): string {
    return `the image (${length} bytes) is larger than the spare partition (${this.ports.update!.capacity} bytes)`;
  }

  private where(): string {
    const at = this.at;
    return at ? `${at.tls ? "https" : "http"}://${at.host}:${at.port}${at.path}` : "the server";
  }

  /** The version an installed update was to run, or undefined. */
  private readRecord(): string | undefined {
    try {
      const text = this.ports.store?.get(RECORD_KEY);
      return text ? text : undefined;
    } catch {
      return undefined;
    }
  }

  private keep(version: string): void {
    try {
      this.ports.store?.set(RECORD_KEY, version);
    } catch (e) {
      this.ports.log(`update: cannot keep the update record (${errorText(e)})`);
    }
  }
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0 && a.length === b.length;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
