/**
 * ports.ts `HttpServerFactory` over the SDK's ECMA-419 HTTP server
 * (`embedded:network/http/server`) on `embedded:io/socket/listener`: the
 * ESP32 and the Moddable simulator alike.
 *
 * The SDK's server reads the request line and headers a byte at a time into
 * a string and keeps every header, with no limit. The listener handed to it
 * here wraps each accepted socket to add the bounds the core asks for: the
 * head may not exceed `maxHead` bytes, and a connection with nothing read or
 * written for `idleTimeout` ms is closed. Connections beyond
 * `maxConnections` are closed as they arrive. The server answers one request
 * per connection, then closes it.
 */

import Listener from "embedded:io/socket/listener";
import TCP from "embedded:io/socket/tcp";
import HTTPServer from "embedded:network/http/server";
import Timer from "timer";
import type { HttpExchange, HttpReply, HttpServerFactory, HttpServerOptions } from "../ports";

/** The parts of an accepted socket the SDK's server uses. */
interface Stream {
  read(count?: number): unknown;
  write(data: unknown, options?: unknown): number;
  close(): void;
  format: string;
}

/** The callbacks the SDK's server gives an accepted socket. */
interface SocketCallbacks {
  from: Accepted;
  onReadable(count: number): void;
  onWritable(count: number): void;
  onError(message?: string): void;
}

/** What the listener hands the server for one accepted connection: `new from.constructor({from, …})` opens it. */
interface Accepted {
  constructor: new (options: SocketCallbacks) => Bounded;
  close(): void;
  /** The socket, once opened. */
  socket?: Bounded;
}

/** An accepted socket with a bound on its request head and an idle timeout. */
class Bounded {
  private readonly tcp: Stream;
  private readonly limits: HttpServerOptions;
  private readonly callbacks: SocketCallbacks;
  private timer: Timer | undefined;
  private headBytes = 0;
  /** The head has arrived (the core has the request): no more head bound. */
  headDone = false;
  private closed = false;

  constructor(raw: unknown, callbacks: SocketCallbacks, limits: HttpServerOptions) {
    this.callbacks = callbacks;
    this.limits = limits;
    this.tcp = new TCP({
      from: raw as TCP,
      onReadable: (count: number) => this.onReadable(count),
      onWritable: (count: number) => this.onWritable(count),
      onError: () => this.fail("connection lost"),
    }) as unknown as Stream;
    this.touch();
  }

  get format(): string {
    return this.tcp.format;
  }

  set format(value: string) {
    this.tcp.format = value;
  }

  read(count?: number): unknown {
    // The server reads the head (and chunk sizes) a byte at a time in "number" format.
    if (!this.headDone && this.tcp.format === "number") this.headBytes++;
    return count === undefined ? this.tcp.read() : this.tcp.read(count);
  }

  write(data: unknown, options?: unknown): number {
    return options === undefined ? this.tcp.write(data) : this.tcp.write(data, options);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    Timer.clear(this.timer);
    this.timer = undefined;
    this.tcp.close();
  }

  private onReadable(count: number): void {
    if (this.closed) return;
    this.touch();
    this.callbacks.onReadable(count);
    if (!this.closed && !this.headDone && this.headBytes > this.limits.maxHead)
      this.fail(`request head over ${this.limits.maxHead} bytes`);
  }

  private onWritable(count: number): void {
    if (this.closed) return;
    this.touch();
    this.callbacks.onWritable(count);
  }

  private touch(): void {
    if (this.timer) Timer.schedule(this.timer, this.limits.idleTimeout);
    else
      this.timer = Timer.set(() => {
        this.timer = undefined;
        this.fail("idle");
      }, this.limits.idleTimeout);
  }

  /** Ends the connection through the server, so that it forgets it and tells the route. */
  private fail(reason: string): void {
    if (this.closed) return;
    Timer.clear(this.timer);
    this.timer = undefined;
    this.callbacks.onError(reason);
  }
}

export const deviceHttpServer: HttpServerFactory = (options) => {
  let open = 0;
  let latest: Accepted | undefined;

  /** The listener the server reads connections from: each comes wrapped in a Bounded socket. */
  class BoundedListener extends Listener {
    read(): TCP | undefined {
      const raw = super.read();
      if (!raw) return raw;
      // The server opens the socket with `new from.constructor(…)`: a plain function (not an arrow) returning the socket.
      // biome-ignore lint/complexity/useArrowFunction: called with `new`
      const open = function (callbacks: SocketCallbacks): Bounded {
        return (accepted.socket = new Bounded(raw, callbacks, options));
      };
      const accepted: Accepted = {
        constructor: open as unknown as Accepted["constructor"],
        close: () => raw.close(),
      };
      latest = accepted;
      return accepted as unknown as TCP;
    }
  }

  const server = new HTTPServer({
    io: BoundedListener as unknown as typeof Listener,
    port: options.port,
    onConnect(connection) {
      const accepted = latest;
      latest = undefined;
      if (open >= options.maxConnections) {
        connection.close();
        return;
      }
      open++;
      let exchange: HttpExchange | undefined;
      let body: Uint8Array | undefined;
      let sent = 0;
      let finished = false;
      const finish = (aborted: boolean) => {
        if (finished) return;
        finished = true;
        open--;
        if (aborted) exchange?.abort();
        exchange = undefined;
        body = undefined;
      };
      connection.accept({
        onRequest(request) {
          if (accepted?.socket) accepted.socket.headDone = true;
          const headers = request.headers;
          exchange = options.onRequest({
            method: request.method,
            target: request.path,
            headerCount: headers.size,
            header: (name) => headers.get(name),
          });
        },
        onReadable(count) {
          const chunk = this.read(count);
          if (!chunk || !exchange) return;
          if (!exchange.body(new Uint8Array(chunk))) {
            finish(true);
            this.close();
          }
        },
        onResponse(response) {
          const active = exchange;
          if (!active) return;
          active.end((reply: HttpReply) => {
            if (finished) return;
            body = typeof reply.body === "string" ? new Uint8Array(ArrayBuffer.fromString(reply.body)) : reply.body;
            response.status = reply.status;
            for (const name of Object.keys(reply.headers)) response.headers.set(name, reply.headers[name]);
            response.headers.set("content-length", body.length);
            response.headers.set("connection", "close");
            connection.respond(response);
          });
        },
        onWritable(count) {
          const bytes = body;
          if (!bytes) return;
          const n = Math.min(count, bytes.length - sent);
          if (n <= 0) return;
          this.write(sent === 0 && n === bytes.length ? bytes : bytes.subarray(sent, sent + n));
          sent += n;
        },
        onDone() {
          finish(false);
        },
        onError() {
          finish(true);
        },
      });
    },
  });
  return {
    close() {
      server.close();
    },
  };
};
