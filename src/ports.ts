/**
 * Ports: the only way hardware, time and the network reach the core.
 *
 * Interfaces only. The device entry hands the core Moddable implementations
 * (ECMA-419 IO, Timer, wifi, Preference); the simulator hands it Node ones.
 * Nothing in here may name Node, the DOM or Moddable.
 */

/** Opaque timer handle, as returned by Moddable's `Timer.set` or Node's timer functions. */
export type TimerId = unknown;

/** Monotonic time and one-shot/repeating timers (Moddable `Timer`). */
export interface Clock {
  /** Milliseconds from an arbitrary origin; never goes backwards. */
  now(): number;
  /**
   * Calls `callback` once after `ms` milliseconds. `replacing`: a one-shot
   * timer of this clock that the caller gives up (cleared first if still
   * pending), whose record the clock may reuse rather than make a new one:
   * a timer set again and again (the next reading) then allocates nothing.
   */
  set(callback: () => void, ms: number, replacing?: TimerId): TimerId;
  /** Calls `callback` every `ms` milliseconds until cleared. */
  repeat(callback: () => void, ms: number): TimerId;
  /** Cancels a timer; `undefined` is ignored. */
  clear(id: TimerId | undefined): void;
}

/** Options of a stream socket, shaped like ECMA-419 `TCP` (plus an optional TLS block). */
export interface SocketOptions {
  /** Host name or dotted address. */
  host: string;
  port: number;
  /** Disable Nagle: small MQTT packets must leave at once. */
  nodelay?: boolean;
  /** Present for `mqtts://`: the server is verified against `ca` (PEM text or resource name), else the system store. */
  tls?: { ca?: string; serverName?: string };
  /** `count` bytes can be read now. */
  onReadable(count: number): void;
  /** `count` bytes can be written now. The first call means: connected. */
  onWritable(count: number): void;
  /**
   * The connection failed or was closed by the peer. No callback follows.
   * `lasting`: retrying soon cannot help (e.g. the server's certificate is not trusted).
   */
  onError(message: string, lasting?: boolean): void;
}

/** An open stream socket (ECMA-419 `TCP` instance, read into a caller-owned buffer). */
export interface Socket {
  /** Copies up to `into.length` received bytes into `into`; returns how many. */
  read(into: Uint8Array): number;
  /**
   * Queues bytes for sending. The bytes are copied: the caller may reuse its
   * buffer at once.
   *
   * Flow control belongs to the socket adapter: `write` never throws "would
   * block"; bytes beyond what the transport takes now wait in the adapter's
   * queue and leave in order. `onWritable(count)` reports the room left after
   * that queue. The MQTT session only reads it as a hint: it writes small
   * control packets (acknowledgements, PINGREQ) at once, but takes a message
   * out of its outbound store only when it fits the room, so that a slow
   * link keeps messages where they can still be dropped by policy.
   */
  write(bytes: Uint8Array): void;
  /** Closes at once; no callback follows. */
  close(): void;
}

export type SocketFactory = (options: SocketOptions) => Socket;

/** One digital output pin (ECMA-419 `Digital` in output mode). */
export interface DigitalOut {
  write(value: 0 | 1): void;
}

/** What the Wi-Fi driver reports (Moddable `wifi` messages). */
export type WiFiEvent = "connected" | "gotIP" | "disconnected";

/** A station-mode Wi-Fi interface (Moddable `wifi` module), with an access point for set-up. */
export interface WiFiPort {
  /** Starts connecting; progress arrives through `onEvent`. */
  connect(ssid: string, password: string): void;
  disconnect(): void;
  /** Signal strength of the current access point in dBm, if connected. */
  rssi(): number | undefined;
  onEvent: ((event: WiFiEvent) => void) | undefined;
  /**
   * Opens an access point named `ssid` beside the station (set-up mode), WPA2
   * with `password`, open when it is "". On the device it also answers every
   * DNS name with its own address (a captive portal). Returns the access
   * point's address, if known. A port without it has no set-up mode.
   */
  openAccessPoint?(ssid: string, password: string): string | undefined;
  /** Closes the access point (and its DNS); the station carries on. */
  closeAccessPoint?(): void;
  /** The station's address while it has one, for the trace line that says where the page is. */
  address?(): string | undefined;
}

/** A temperature/humidity reading in °C and %RH. */
export interface Reading {
  temp: number;
  hum: number;
}

/** The outcome of one sensor read: a reading, or a named failure. */
export type SensorResult = { ok: true; temp: number; hum: number } | { ok: false; error: string; detail?: string };

/** A temperature/humidity sensor the app can sample. */
export interface Sensor {
  /** Reads once, synchronously. Never throws. */
  read(): SensorResult;
  /** Shortest allowed time between two reads, ms. */
  readonly minInterval: number;
}

/**
 * A region of NOR flash (the ECMA-419 `embedded:storage/flash` model): an
 * erase sets a whole block to 0xFF; a write can only clear bits.
 */
export interface Flash {
  /** Size of the region, a multiple of `blockLength`. */
  readonly byteLength: number;
  /** The erase unit. */
  readonly blockLength: number;
  /** Copies `into.length` bytes starting at `offset` into `into`. */
  read(offset: number, into: Uint8Array): void;
  write(offset: number, bytes: Uint8Array): void;
  eraseBlock(block: number): void;
}

/** Small persistent key/value store (Moddable `Preference`). */
export interface Store {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
  /** Forgets a key (the web page's reset); a store without it cannot forget settings. */
  delete?(key: string): void;
}

/** One line of trace (Moddable `trace`, or the simulator's log). */
export type Log = (line: string) => void;

/** An incremental digest (SHA-256 for firmware images): node:crypto, the SDK's `Crypt.Digest`, or ./update/sha256. */
export interface Hash {
  /** Starts a new digest. */
  reset(): void;
  /** Adds `bytes`; any split of a message gives the same digest. */
  write(bytes: Uint8Array): void;
  /** Writes the digest into `out` (32 bytes for SHA-256). `reset()` before hashing again. */
  digest(out: Uint8Array): void;
}

/**
 * The spare firmware partition being written, shaped like an ECMA-419
 * `embedded:update` instance: bytes are written in order, then `complete()`
 * checks the image and makes it the one to boot next; `close()` before
 * `complete()` cancels, leaving the running firmware and the boot choice as
 * they were.
 */
export interface UpdateTarget {
  /** Appends `bytes` (copied before returning). Throws if the flash write fails. */
  write(bytes: Uint8Array): void;
  /**
   * Checks the image and switches the next boot to it. Throws, with a
   * sentence saying why, when the platform refuses the image. Returns the
   * image's own version when the platform can read it from the image.
   */
  complete(): string | undefined;
  /** Lets go of the partition; before `complete()`, cancels the update. */
  close(): void;
}

/**
 * Firmware updates on one platform: the spare partition, and the boot
 * loader's trial of a new firmware (ESP-IDF app rollback; the simulator's
 * tiny boot loader).
 */
export interface UpdatePort {
  /** Bytes the spare partition holds. */
  readonly capacity: number;
  /**
   * False where an image can be downloaded and verified but not installed
   * (the Moddable simulator): the update then fails as `unsupported` after
   * verifying.
   */
  readonly installable: boolean;
  /** The running firmware was just switched to and waits for `confirm()`; otherwise the boot loader returns to the previous one. */
  readonly trial: boolean;
  /** Opens the spare partition for a new image. `version`: what the request says the image is ("" if unknown). */
  open(options: { byteLength?: number; version: string }): UpdateTarget;
  /** The running firmware works (it reached the broker): keep it. */
  confirm(): void;
  /** The running firmware on trial failed: return to the previous one. Restarts the device. */
  rollback(): void;
}

/** An HTTP(S) GET, shaped after the SDK's `embedded:network/http/client` request. */
export interface HttpGetOptions {
  tls: boolean;
  host: string;
  port: number;
  /** Path and query, starting with "/". */
  path: string;
  /** The status line and headers arrived. `length`: Content-Length if given; `location`: the Location header if given. */
  onHeaders(status: number, length: number | undefined, location: string | undefined): void;
  /** `count` bytes of the body can be read now. */
  onReadable(count: number): void;
  /**
   * The transfer ended: without `error`, after every byte of the body was
   * read; with one (refused, unreachable, reset, closed early), at once, and
   * bytes not yet read are lost. Nothing follows.
   */
  onDone(error?: string): void;
}

export interface HttpGet {
  /** Copies up to `into.length` bytes of the body into `into`; returns how many. */
  read(into: Uint8Array): number;
  /** Cancels; no callback follows. */
  close(): void;
}

export type HttpClient = (options: HttpGetOptions) => HttpGet;

/** The head of one HTTP request, as a server adapter hands it to the core. */
export interface HttpRequest {
  /** `GET`, `POST` …, as sent. */
  readonly method: string;
  /** The request target as sent: path and query, e.g. `/state.json?x=1`. */
  readonly target: string;
  /** How many header lines the request had. */
  readonly headerCount: number;
  /** A header's value by its lower-case name, or undefined. */
  header(name: string): string | undefined;
}

/** A whole answer. The adapter adds `content-length` and sends the body as it is. */
export interface HttpReply {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** Text (sent as UTF-8) or bytes (e.g. a page kept in flash). */
  body: string | Uint8Array;
}

/** What the core makes of one request: it takes the body as it arrives, then answers once. */
export interface HttpExchange {
  /**
   * Body bytes in arrival order; the view is valid only during the call.
   * Returns false to stop: the adapter closes the connection unanswered.
   */
  body(bytes: Uint8Array): boolean;
  /** The body is complete (or there was none): answer by calling `respond` once, now or later. */
  end(respond: (reply: HttpReply) => void): void;
  /** The connection closed or failed before the answer was sent. */
  abort(): void;
}

/** What an HTTP server adapter must honour. */
export interface HttpServerOptions {
  port: number;
  /** Connections open at once, at most: one more is closed at once. */
  maxConnections: number;
  /** Bytes of request line and headers, at most: beyond, the connection is closed (or answered 431). */
  maxHead: number;
  /** A connection with nothing received or sent for this long is closed, ms. */
  idleTimeout: number;
  /** Each request, once its head has arrived. Never throws. */
  onRequest(request: HttpRequest): HttpExchange;
  /** The server cannot listen (e.g. the port is in use), now or later. */
  onError(message: string): void;
}

/** A listening server. */
export interface HttpServer {
  /** Stops listening and closes every open connection. */
  close(): void;
}

/**
 * Starts an HTTP/1.1 server: ECMA-419 `embedded:network/http/server` over
 * `embedded:io/socket/listener` on the device, node:http in the simulator.
 * Throws when the port cannot be opened.
 */
export type HttpServerFactory = (options: HttpServerOptions) => HttpServer;
