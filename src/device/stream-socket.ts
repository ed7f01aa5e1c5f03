/**
 * ports.ts `Socket` over an ECMA-419 TCP socket, and over Moddable's TLS
 * socket for `mqtts://`. The SDK's classes come in through `SocketSdk`
 * (./socket.ts hands in the real ones), so this logic also runs under Node
 * and XS with fakes (hosttest/unit/device-socket.test.ts).
 *
 * - Host names are resolved first with `Net.resolve` (the ECMA-419 socket
 *   takes a dotted address only).
 * - `read()` never asks the socket for more than it announced: the TCP
 *   socket throws when asked for more than is buffered.
 * - `write()` never throws "would block": what does not fit in the socket's
 *   writable space waits in a small queue and leaves on the next `onWritable`.
 * - A TLS failure (e.g. an untrusted certificate) is reported through
 *   `onError`; it never escapes from a socket callback.
 */
import type { Socket, SocketOptions } from "../ports";

/** The part of an ECMA-419 stream socket this adapter uses. */
export interface Stream {
  read(buffer: Uint8Array): unknown;
  write(buffer: Uint8Array): unknown;
  close(): void;
}

/** The callbacks of an ECMA-419 TCP socket. */
export interface StreamCallbacks {
  onReadable(count: number): void;
  onWritable(count: number): void;
  onError(): void;
}

/** The SDK parts the adapter uses. */
export interface SocketSdk {
  /** `embedded:io/socket/tcp`. */
  TCP: new (
    options: StreamCallbacks & { address: string; port: number; nodelay?: boolean },
  ) => Stream;
  /** `embedded:io/socket/tcp/tls`: it opens its TCP socket with `new options.TCP.io({...options, ...its own callbacks})`. */
  TLSSocket: new (
    options: StreamCallbacks & {
      address: string;
      host: string;
      port: number;
      secure: Record<string, unknown>;
      TCP: { io: unknown };
    },
  ) => Stream;
  /** `Net.resolve`: the address, or undefined when the name cannot be resolved. */
  resolve(host: string, callback: (name: string, address?: string) => void): void;
  /** `Timer.set` and `Timer.clear`. */
  setTimer(callback: () => void, ms: number): unknown;
  clearTimer(id: unknown): void;
  /** A resource (a CA certificate) by name: `new Resource(name)`. */
  resource(name: string): unknown;
}

/** Added to the 32 bytes the TLS socket's write() already keeps back: 96 in all, as in its onWritable. */
const TLS_MARGIN = 64;
/** The most data the TLS socket takes in one write (one record). */
const MAX_RECORD = 16384;

/** A dotted IPv4 address: no DNS needed. */
export const DOTTED = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/**
 * The TCP class to hand Moddable's TLS socket (`TCP: { io }`): it opens its
 * TCP socket with `new io({...its own options, ...its callbacks})`, and runs
 * the handshake and decryption inside those callbacks. What they throw goes
 * to `onThrow` (with the callbacks the TLS socket gave) instead of out of a
 * socket callback, where XS would abort. The TLS socket passes its own
 * options on, not `TCP.nodelay`: `nodelay` is set here.
 */
export function guardedTCP(
  TCP: SocketSdk["TCP"],
  onThrow: (error: unknown, callbacks: StreamCallbacks) => void,
  nodelay?: boolean,
): unknown {
  // A plain function: the TLS socket calls it with `new`, and the TCP socket it returns is the result.
  return function GuardedTCP(options: StreamCallbacks & { address: string; port: number }) {
    const guard = (callback: (count: number) => void) => (count: number) => {
      try {
        callback(count);
      } catch (e) {
        onThrow(e, options);
      }
    };
    const tcp = { ...options, onReadable: guard(options.onReadable), onWritable: guard(options.onWritable) };
    return new TCP(nodelay === undefined ? tcp : { ...tcp, nodelay });
  };
}

export class StreamSocket implements Socket {
  private readonly options: SocketOptions;
  private readonly sdk: SocketSdk;
  private stream: Stream | undefined;
  private closed = false;
  private readable = 0;
  /** Room in the socket's send buffer, as last reported. */
  private space = 0;
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private connected = false;
  /** The pending hand-over of TLS data to the reader (see onReadable). */
  private deliver: unknown;
  /** The pending encryption of what was written over TLS (see write). */
  private flushing: unknown;

  constructor(options: SocketOptions, sdk: SocketSdk) {
    this.options = options;
    this.sdk = sdk;
    const host = options.host;
    if (DOTTED.test(host)) {
      this.open(host);
    } else {
      try {
        sdk.resolve(host, (_name, address) => {
          if (this.closed) return;
          if (address) this.open(address);
          else this.fail(`cannot resolve host ${host}`);
        });
      } catch (e) {
        this.failLater(`cannot resolve host ${host} (${String(e)})`);
      }
    }
  }

  read(into: Uint8Array): number {
    const stream = this.stream;
    if (!stream || this.closed || this.readable <= 0) return 0;
    const n = Math.min(into.length, this.readable);
    const view = n === into.length ? into : into.subarray(0, n);
    const got = stream.read(view);
    // TCP fills the view exactly; the TLS socket returns how many bytes it copied.
    const count = typeof got === "number" ? Math.min(got, n) : this.options.tls ? 0 : n;
    this.readable -= count;
    return count;
  }

  write(bytes: Uint8Array): void {
    if (this.closed || !this.stream) return;
    if (this.options.tls) {
      // Encrypting needs as much stack again as the caller's own frames take:
      // it runs from a fresh stack, in one record for all written meanwhile.
      this.queue.push(bytes.slice());
      this.queued += bytes.length;
      this.flushing ??= this.sdk.setTimer(() => {
        this.flushing = undefined;
        this.flush();
      }, 0);
      return;
    }
    if (this.queued === 0 && bytes.length <= this.space) {
      this.send(bytes);
      return;
    }
    this.queue.push(bytes.slice());
    this.queued += bytes.length;
    this.flush();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.queued = 0;
    if (this.deliver !== undefined) this.sdk.clearTimer(this.deliver);
    if (this.flushing !== undefined) this.sdk.clearTimer(this.flushing);
    this.deliver = this.flushing = undefined;
    const stream = this.stream;
    this.stream = undefined;
    try {
      stream?.close();
    } catch {
      // already gone
    }
  }

  private open(address: string): void {
    const options = this.options;
    const callbacks = {
      onReadable: (count: number) => this.onReadable(count),
      onWritable: (count: number) => this.onWritable(count),
      onError: () =>
        this.fail(this.connected ? "connection closed" : `cannot connect to ${options.host}:${options.port}`),
    };
    try {
      if (options.tls) {
        const secure: Record<string, unknown> = { serverName: options.tls.serverName ?? options.host };
        if (options.tls.ca) secure.certificate = this.sdk.resource(options.tls.ca);
        this.stream = new this.sdk.TLSSocket({
          address,
          host: options.host,
          port: options.port,
          secure,
          TCP: { io: this.tlsTCP() },
          ...callbacks,
        });
      } else {
        this.stream = new this.sdk.TCP({ address, port: options.port, nodelay: options.nodelay, ...callbacks });
      }
    } catch (e) {
      this.failLater(`cannot connect to ${options.host}:${options.port} (${String(e)})`);
    }
  }

  /**
   * The TCP class handed to the TLS socket. The TLS socket runs the handshake
   * and decrypts records inside the TCP callbacks, so a TLS failure (a
   * certificate no trusted CA signed, a name that does not match, an alert)
   * throws out of a socket callback, where nothing catches it and XS aborts.
   * Here it closes this socket and reports the error instead.
   */
  private tlsTCP(): unknown {
    const options = this.options;
    return guardedTCP(
      this.sdk.TCP,
      (e) => {
        // A failed handshake (untrusted certificate, wrong name) will fail again: it waits the longest.
        if (this.connected) this.fail(`connection closed (${String(e)})`);
        else this.fail(`TLS handshake with ${options.host}:${options.port} failed (${String(e)})`, true);
      },
      options.nodelay,
    );
  }

  private onReadable(count: number): void {
    if (this.closed) return;
    this.readable = count;
    if (!this.options.tls) {
      this.options.onReadable(count);
      return;
    }
    // The TLS socket announces a record from deep inside its own callbacks;
    // what the reader does next (parse, answer, encrypt the answer) needs the
    // stack those frames take, so the data is handed over from a fresh one.
    this.deliver ??= this.sdk.setTimer(() => {
      this.deliver = undefined;
      if (!this.closed && this.readable > 0) this.options.onReadable(this.readable);
    }, 0);
  }

  private onWritable(count: number): void {
    if (this.closed) return;
    this.connected = true;
    this.space = count;
    this.flush();
    if (!this.closed && this.queued === 0) this.options.onWritable(this.space);
  }

  /** Sends queued bytes while there is room, splitting a chunk larger than the room. */
  private flush(): void {
    if (this.options.tls) {
      this.flushRecords();
      return;
    }
    while (this.queue.length && this.space > 0 && !this.closed) {
      const head = this.queue[0];
      const part = head.length <= this.space ? head : head.subarray(0, this.space);
      if (part === head) this.queue.shift();
      else this.queue[0] = head.subarray(part.length);
      this.queued -= part.length;
      this.send(part);
    }
  }

  /** TLS: the queued bytes as few records as the room allows (each costs header, IV, MAC and padding). */
  private flushRecords(): void {
    while (this.queued > 0 && this.space > 0 && !this.closed) {
      let size = Math.min(this.queued, this.space);
      if (size > MAX_RECORD) size = MAX_RECORD;
      const record = new Uint8Array(size);
      let filled = 0;
      while (filled < size) {
        const head = this.queue[0];
        const take = Math.min(head.length, size - filled);
        record.set(take === head.length ? head : head.subarray(0, take), filled);
        if (take === head.length) this.queue.shift();
        else this.queue[0] = head.subarray(take);
        filled += take;
      }
      this.queued -= size;
      this.send(record);
    }
  }

  private send(bytes: Uint8Array): void {
    try {
      const left = this.stream!.write(bytes);
      // TCP returns the room left. The TLS socket returns the TCP room left
      // minus 32 bytes, but a record costs up to 69 bytes more than its data
      // (header, IV, HMAC-SHA256, padding of the CBC suites): keep the 96-byte
      // margin its onWritable keeps, or the next record can make TCP throw
      // "would block".
      if (typeof left !== "number") this.space -= bytes.length;
      else this.space = this.options.tls ? Math.max(0, left - TLS_MARGIN) : left;
    } catch (e) {
      this.fail(`write failed (${String(e)})`);
    }
  }

  private fail(message: string, lasting = false): void {
    if (this.closed) return;
    this.close();
    this.options.onError(message, lasting);
  }

  /** Reports a failure from inside the constructor after the caller has the socket. */
  private failLater(message: string): void {
    this.sdk.setTimer(() => this.fail(message), 0);
  }
}
