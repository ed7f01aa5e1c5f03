/**
 * Fakes of the update ports for unit tests: a scripted HTTP client (the test
 * plays the server) and a spare partition in RAM with a boot loader's trial
 * flags. Platform-free, like ./fakes: they run on Node and inside XS.
 */
import type { HttpClient, HttpGet, HttpGetOptions, UpdatePort, UpdateTarget } from "../../src/ports";

/** One request the updater made; the test answers it. */
export class FakeDownload implements HttpGet {
  readonly options: HttpGetOptions;
  closed = false;
  /** Bytes "in the socket", not read yet: `queue[head..]`. */
  private queue = new Uint8Array(0);
  private head = 0;
  /** Bytes handed to the updater so far. */
  delivered = 0;
  /** The most bytes one read() may return (as a socket hands out what it has). */
  readSize = Infinity;

  constructor(options: HttpGetOptions) {
    this.options = options;
  }

  get url(): string {
    const o = this.options;
    return `${o.tls ? "https" : "http"}://${o.host}:${o.port}${o.path}`;
  }

  read(into: Uint8Array): number {
    const n = Math.min(into.length, this.queue.length - this.head, this.readSize);
    into.set(this.queue.subarray(this.head, this.head + n));
    this.head += n;
    this.delivered += n;
    return n;
  }

  close(): void {
    this.closed = true;
  }

  /** The status line and headers. */
  headers(status = 200, length?: number, location?: string): this {
    this.options.onHeaders(status, length, location);
    return this;
  }

  /** Body bytes arrive. */
  body(bytes: Uint8Array): this {
    const left = this.queue.subarray(this.head);
    const queue = new Uint8Array(left.length + bytes.length);
    queue.set(left);
    queue.set(bytes, left.length);
    this.queue = queue;
    this.head = 0;
    this.options.onReadable(queue.length);
    return this;
  }

  /** Bytes arrived but not read yet. */
  get waiting(): number {
    return this.queue.length - this.head;
  }

  /** The transfer ends (with an error, or cleanly). */
  done(error?: string): void {
    this.options.onDone(error);
  }
}

export class FakeHttp {
  readonly requests: FakeDownload[] = [];
  readonly client: HttpClient = (options) => {
    const request = new FakeDownload(options);
    this.requests.push(request);
    return request;
  };

  get last(): FakeDownload {
    const r = this.requests[this.requests.length - 1];
    if (!r) throw new Error("no HTTP request was made");
    return r;
  }
}

/** The spare partition in RAM, and the boot loader's view of the running firmware. */
export class RamUpdate implements UpdatePort {
  capacity: number;
  installable = true;
  trial = false;
  /** Partitions opened, with what each was told. */
  readonly opened: { byteLength?: number; version: string }[] = [];
  /** The bytes written since the last open: `store[0..length)`. */
  private store = new Uint8Array(0);
  length = 0;
  completed = 0;
  closedBeforeComplete = 0;
  confirms = 0;
  rollbacks = 0;
  /** When set, complete() throws this. */
  refuse: string | undefined;
  /** When set, the write at this byte offset throws. */
  failAt: number | undefined;
  /** What complete() says the image's version is. */
  imageVersion: string | undefined;
  private open_ = false;

  constructor(capacity = 1 << 20) {
    this.capacity = capacity;
  }

  open(options: { byteLength?: number; version: string }): UpdateTarget {
    this.opened.push({ ...options });
    this.length = 0;
    this.open_ = true;
    let complete = false;
    return {
      write: (bytes) => {
        if (this.failAt !== undefined && this.length + bytes.length > this.failAt)
          throw new Error("flash write failed");
        if (this.length + bytes.length > this.store.length) {
          const grown = new Uint8Array(Math.max(this.store.length * 2, this.length + bytes.length));
          grown.set(this.store.subarray(0, this.length));
          this.store = grown;
        }
        this.store.set(bytes, this.length);
        this.length += bytes.length;
      },
      complete: () => {
        if (this.refuse) throw new Error(this.refuse);
        complete = true;
        this.completed++;
        return this.imageVersion;
      },
      close: () => {
        if (!this.open_) return;
        this.open_ = false;
        if (!complete) this.closedBeforeComplete++;
      },
    };
  }

  /** What the partition holds. */
  get written(): Uint8Array {
    return this.store.subarray(0, this.length);
  }

  /** Whether the partition holds exactly `bytes`. */
  holds(bytes: Uint8Array): boolean {
    if (bytes.length !== this.length) return false;
    for (let i = 0; i < bytes.length; i++) if (bytes[i] !== this.store[i]) return false;
    return true;
  }

  get isOpen(): boolean {
    return this.open_;
  }

  confirm(): void {
    this.confirms++;
    this.trial = false;
  }

  rollback(): void {
    this.rollbacks++;
  }
}

/** `length` bytes of a pattern. */
export function image(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 255;
  }
  return out;
}
