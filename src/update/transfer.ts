/**
 * One image on its way into the spare partition: the download (HTTP GET,
 * up to MAX_REDIRECTS redirects, reads in bounded turns) or the bytes a
 * pusher hands in, each chunk checked against the announced length and the
 * partition's capacity, written, hashed and counted for progress; at the end
 * the SHA-256 compared and the partition completed.
 *
 * Made when an update starts and let go when it ends (`close()`), so that an
 * idle device keeps none of it. The states, their timers and the answers
 * belong to the updater (./updater): a failure here is handed to its
 * `fail()`, directly, with no frame between (the progress report is
 * published from deep inside the download's callbacks, on a 512-slot stack
 * in the Moddable simulator).
 */

import { Views } from "../mqtt/views";
import type { HttpGet, TimerId, UpdateTarget } from "../ports";
import { type Location, resolveLocation } from "./request";
import { SHA256_BYTES, toHex } from "./sha256";
import type { Updater, UpdaterPorts } from "./updater";

/** Bytes read from the network, hashed and written at a time. */
export const CHUNK = 2048;
/** Bytes handled in one turn before the rest waits for the next, so that MQTT is served meanwhile. */
export const TURN_BYTES = 16384;
/** Progress is reported at most every this many percent. */
export const PROGRESS_STEP = 10;
const MAX_REDIRECTS = 3;

export class Transfer {
  /** Bytes received of the image. */
  received = 0;
  /** Its length, when the server (or the pusher) said it. */
  length: number | undefined;
  /** The last progress reported, percent. */
  progress = 0;
  /** Clock time the last bytes (or the answer's headers) arrived; the updater's stall check reads it. */
  lastActivity: number;
  /** The server's answer (status and headers) is in: the body is being read. */
  headers = false;
  /** Whether `expected` holds a digest to check (a pushed image may come without one). */
  private checkDigest = false;
  private readonly expected = new Uint8Array(SHA256_BYTES);
  private readonly actual = new Uint8Array(SHA256_BYTES);
  private nextProgress = PROGRESS_STEP;
  private partition: UpdateTarget | undefined;
  private download: HttpGet | undefined;
  /** Counts requests, so that a late callback of an earlier one (before a redirect, or after close) is ignored. */
  private generation = 0;
  private at: Location | undefined;
  private redirects = 0;
  private turn: TimerId | undefined;
  private chunk: Uint8Array | undefined;
  private chunkViews: Views | undefined;

  constructor(
    private readonly updater: Updater,
    private readonly ports: UpdaterPorts,
    /** Pushed by the web page (`write()`), not downloaded. */
    readonly pushed: boolean,
    length: number | undefined,
  ) {
    this.length = length;
    this.lastActivity = ports.clock.now();
  }

  /** The SHA-256 the image must have. */
  expect(digest: Uint8Array): void {
    this.expected.set(digest);
    this.checkDigest = true;
  }

  // ---- the download -----------------------------------------------------------

  get(at: Location): void {
    const http = this.ports.http!;
    const generation = ++this.generation;
    const current = () => generation === this.generation && this.updater.state === "downloading";
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
      this.updater.fail("unreachable", `cannot download from ${this.where()} (${errorText(e)})`);
    }
  }

  private onHeaders(status: number, length: number | undefined, location: string | undefined): void {
    const updater = this.updater;
    this.lastActivity = this.ports.clock.now();
    if (status >= 300 && status < 400 && location !== undefined) {
      const next = resolveLocation(this.at!, location);
      if (!next)
        updater.fail(
          "http-error",
          `HTTP ${status} from ${this.where()} redirects to an address the device cannot fetch: ${location.slice(0, 100)}`,
        );
      else if (++this.redirects > MAX_REDIRECTS)
        updater.fail("http-error", `more than ${MAX_REDIRECTS} redirects, the last from ${this.where()}`);
      else {
        this.closeRequest();
        this.get(next);
      }
      return;
    }
    if (status !== 200) {
      updater.fail("http-error", `HTTP ${status} from ${this.where()}`);
      return;
    }
    const capacity = this.ports.update!.capacity;
    if (length !== undefined && length > capacity) {
      updater.fail("too-large", tooLarge(length, capacity));
      return;
    }
    this.length = length;
    this.headers = true;
    if (!this.open()) return;
    this.pump();
  }

  /** Reads what arrived, up to TURN_BYTES; the rest on the next turn. */
  private pump(): void {
    const request = this.download;
    if (this.updater.state !== "downloading" || !request || !this.headers || this.turn !== undefined) return;
    let budget = TURN_BYTES;
    const chunk = (this.chunk ??= new Uint8Array(CHUNK));
    const views = (this.chunkViews ??= new Views(chunk, 4));
    while (budget > 0) {
      let n: number;
      try {
        n = request.read(chunk);
      } catch (e) {
        this.updater.fail(
          "truncated",
          `download from ${this.where()} failed after ${this.received} bytes (${errorText(e)})`,
        );
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

  private onDone(error: string | undefined): void {
    const updater = this.updater;
    if (error !== undefined) {
      if (!this.headers) updater.fail("unreachable", `cannot download from ${this.where()} (${error})`);
      else
        updater.fail(
          "truncated",
          `download from ${this.where()} ended after ${this.received}${this.length === undefined ? "" : ` of ${this.length}`} bytes (${error})`,
        );
      return;
    }
    if (!this.headers) {
      updater.fail("unreachable", `no answer from ${this.where()}`);
      return;
    }
    this.closeRequest();
    updater.finish();
  }

  /** Where the image comes from, for messages. */
  where(): string {
    const at = this.at;
    return at ? `${at.tls ? "https" : "http"}://${at.host}:${at.port}${at.path}` : "the server";
  }

  // ---- into the partition -------------------------------------------------------

  /** Opens the spare partition; false (the update failed) if it cannot be. */
  open(): boolean {
    try {
      this.partition = this.ports.update!.open({ byteLength: this.length, version: this.updater.target });
      return true;
    } catch (e) {
      this.updater.fail("write-failed", `cannot open the spare partition (${errorText(e)})`);
      return false;
    }
  }

  /** One chunk: into the partition and the hash. False when it ended the update. */
  consume(bytes: Uint8Array): boolean {
    const n = bytes.length;
    const capacity = this.ports.update!.capacity;
    if (this.received + n > capacity || (this.length !== undefined && this.received + n > this.length)) {
      if (this.received + n > capacity) this.updater.fail("too-large", tooLarge(this.received + n, capacity));
      else this.updater.fail("bad-image", `more than the ${this.length} bytes announced arrived`);
      return false;
    }
    try {
      this.partition!.write(bytes);
    } catch (e) {
      this.updater.fail(
        "write-failed",
        `writing the spare partition failed at byte ${this.received} (${errorText(e)})`,
      );
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
        this.ports.report({ state: "downloading", version: this.updater.target, progress: this.progress });
      }
    }
    return true;
  }

  /** Why the image is not whole (fewer bytes than announced, or none), or undefined. */
  shortfall(): string | undefined {
    const length = this.length;
    if (length !== undefined && this.received < length)
      return `${this.pushed ? "upload" : "download"} ended after ${this.received} of ${length} bytes`;
    if (this.received === 0) return "the image is empty";
    return undefined;
  }

  /** Finishes the hash: why the digest is not the requested one, or undefined. */
  mismatch(): string | undefined {
    this.ports.hash.digest(this.actual);
    if (!this.checkDigest || same(this.actual, this.expected)) return undefined;
    return `the image's SHA-256 is ${toHex(this.actual)}, not the requested ${toHex(this.expected)}`;
  }

  /** The image's SHA-256 as hex (after `mismatch()`). */
  digestHex(): string {
    return toHex(this.actual);
  }

  /** Asks the platform to accept the image; its version, if it says one. Throws when the image is refused. */
  complete(): string | undefined {
    return this.partition!.complete();
  }

  /** Lets everything go: the request, the next turn, the buffer; an unfinished partition write is cancelled. */
  close(): void {
    this.closeRequest();
    this.chunk = this.chunkViews = undefined;
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
}

export function tooLarge(length: number, capacity: number): string {
  return `the image (${length} bytes) is larger than the spare partition (${capacity} bytes)`;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0 && a.length === b.length;
}
