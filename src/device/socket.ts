/**
 * ports.ts `Socket` over ECMA-419 `embedded:io/socket/tcp`, and over
 * Moddable's TLS socket (`embedded:io/socket/tcp/tls`) for `mqtts://`.
 *
 * - Host names are resolved first with `Net.resolve` (the ECMA-419 socket
 *   takes a dotted address only).
 * - `read()` never asks the socket for more than it announced: the TCP
 *   socket throws when asked for more than is buffered.
 * - `write()` never throws "would block": what does not fit in the socket's
 *   writable space waits in a small queue and leaves on the next `onWritable`.
 */
import TCP from "embedded:io/socket/tcp";
import TLSSocket from "embedded:io/socket/tcp/tls";
import Net from "net";
import Timer from "timer";
import Resource from "Resource";
import type { Socket, SocketFactory, SocketOptions } from "../ports";

/** The part of an ECMA-419 stream socket this adapter uses. */
interface Stream {
  read(buffer: Uint8Array): unknown;
  write(buffer: Uint8Array): unknown;
  close(): void;
}

const DOTTED = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

class DeviceSocket implements Socket {
  private readonly options: SocketOptions;
  private stream: Stream | undefined;
  private closed = false;
  private readable = 0;
  /** Room in the socket's send buffer, as last reported. */
  private space = 0;
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private connected = false;

  constructor(options: SocketOptions) {
    this.options = options;
    const host = options.host;
    if (DOTTED.test(host)) {
      this.open(host);
    } else {
      try {
        Net.resolve(host, (_name, address) => {
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
    const n = into.length < this.readable ? into.length : this.readable;
    const view = n === into.length ? into : into.subarray(0, n);
    const got = stream.read(view);
    // TCP fills the view exactly; the TLS socket returns how many bytes it copied.
    const count = typeof got === "number" ? (got < n ? got : n) : this.options.tls ? 0 : n;
    this.readable -= count;
    return count;
  }

  write(bytes: Uint8Array): void {
    if (this.closed || !this.stream) return;
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
      onError: () => this.fail(this.connected ? "connection closed" : `cannot connect to ${options.host}:${options.port}`),
    };
    try {
      if (options.tls) {
        const secure: Record<string, unknown> = { serverName: options.tls.serverName ?? options.host };
        if (options.tls.ca) secure.certificate = new Resource(options.tls.ca);
        this.stream = new TLSSocket({
          address,
          host: options.host,
          port: options.port,
          secure,
          TCP: { io: TCP, nodelay: options.nodelay },
          ...callbacks,
        } as never) as unknown as Stream;
      } else {
        this.stream = new TCP({ address, port: options.port, nodelay: options.nodelay, ...callbacks }) as unknown as Stream;
      }
    } catch (e) {
      this.failLater(`cannot connect to ${options.host}:${options.port} (${String(e)})`);
    }
  }

  private onReadable(count: number): void {
    if (this.closed) return;
    this.readable = count;
    this.options.onReadable(count);
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
    while (this.queue.length && this.space > 0 && !this.closed) {
      const head = this.queue[0];
      const part = head.length <= this.space ? head : head.subarray(0, this.space);
      if (part === head) this.queue.shift();
      else this.queue[0] = head.subarray(part.length);
      this.queued -= part.length;
      this.send(part);
    }
  }

  private send(bytes: Uint8Array): void {
    try {
      const left = this.stream!.write(bytes);
      this.space = typeof left === "number" && !this.options.tls ? left : this.space - bytes.length;
    } catch (e) {
      this.fail(`write failed (${String(e)})`);
    }
  }

  private fail(message: string): void {
    if (this.closed) return;
    this.close();
    this.options.onError(message);
  }

  /** Reports a failure from inside the constructor after the caller has the socket. */
  private failLater(message: string): void {
    Timer.set(() => this.fail(message), 0);
  }
}

export const deviceSocket: SocketFactory = (options) => new DeviceSocket(options);
