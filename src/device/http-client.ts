/**
 * ports.ts `HttpClient` over the SDK's ECMA-419 HTTP client
 * (`embedded:network/http/client`, examples/io/tcp/httpclient), on
 * `embedded:io/socket/tcp`, or Moddable's TLS socket for `https://`.
 *
 * - Host names are resolved with `Net.resolve`, through a resolver in the
 *   ECMA-419 shape the client asks for (it would otherwise bring a UDP DNS
 *   client of its own).
 * - `read()` never asks for more than was announced, and reads straight into
 *   the caller's buffer when it is filled whole (the usual case): the
 *   download allocates only for the last, shorter read of each segment.
 * - Only `content-length` and `location` are kept from the response headers.
 * - A body without Content-Length ends when the server closes the
 *   connection, which the client reports as an error: when bytes arrived,
 *   that is reported as the end, and the SHA-256 check decides.
 * - A TLS failure (an untrusted certificate) thrown inside a TCP callback is
 *   caught and reported as the request's error, never left to abort XS.
 */

import TCP from "embedded:io/socket/tcp";
import TLSSocket from "embedded:io/socket/tcp/tls";
import HTTPClient from "embedded:network/http/client";
import Net from "net";
import Timer from "timer";
import type { HttpClient, HttpGet, HttpGetOptions } from "../ports";
import { DOTTED, guardedTCP } from "./stream-socket";

interface ResolveOptions {
  host: string;
  onResolved(host: string, address: string): void;
  onError(error?: unknown): void;
}

/** The DNS resolver the client constructs (`new dns.io(dns)`), answering from `Net.resolve`. */
class NetResolver {
  resolve(options: ResolveOptions): void {
    const host = options.host;
    if (DOTTED.test(host)) {
      Timer.set(() => options.onResolved(host, host), 0);
      return;
    }
    try {
      Net.resolve(host, (_name, address) => {
        if (address) options.onResolved(host, address);
        else options.onError(new Error(`cannot resolve host ${host}`));
      });
    } catch (e) {
      Timer.set(() => options.onError(e), 0);
    }
  }
}

/** The TCP class handed to the TLS socket: an exception in a callback (a failed handshake) becomes the socket's error. */
const GuardedTCP = guardedTCP(TCP, (_error, callbacks) => callbacks.onError?.());

interface SdkRequest {
  read(buffer: Uint8Array): unknown;
  read(count: number): ArrayBuffer | undefined;
}

export const deviceHttpClient: HttpClient = (options: HttpGetOptions): HttpGet => {
  let closed = false;
  let readable = 0;
  let received = 0;
  let length: number | undefined;
  const socket = options.tls
    ? { io: TLSSocket, TCP: { io: GuardedTCP }, secure: { serverName: options.host } }
    : { io: TCP };
  const client = new HTTPClient({
    host: options.host,
    port: options.port,
    dns: { io: NetResolver },
    socket,
  } as never);
  /** The client is closed from a fresh stack: it still has work to do after calling onDone. */
  const closeLater = () =>
    Timer.set(() => {
      try {
        client.close();
      } catch {
        // already closed
      }
    }, 0);
  const end = (error: string | undefined) => {
    if (closed) return;
    closed = true;
    closeLater();
    options.onDone(error);
  };
  const request = client.request({
    method: "GET",
    path: options.path,
    headers: new Map([
      ["user-agent", "dht-mqtt-esp32"],
      ["connection", "close"],
    ]),
    headersMask: ["content-length", "location"],
    onHeaders(status: number, headers: Map<string, string>) {
      if (closed) return;
      const text = headers.get("content-length");
      length = text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
      options.onHeaders(status, length, headers.get("location"));
    },
    onReadable(count: number) {
      if (closed) return;
      readable = count;
      options.onReadable(count);
    },
    onDone(error: Error | null) {
      if (!error) end(undefined);
      else if (length === undefined && received > 0) end(undefined);
      else
        end(
          received > 0
            ? `the connection closed after ${received} bytes of the body`
            : `no connection to ${options.host}:${options.port}, or it closed before the answer`,
        );
    },
  }) as unknown as SdkRequest;

  return {
    read(into: Uint8Array): number {
      if (closed || readable <= 0) return 0;
      const n = Math.min(into.length, readable);
      if (n === into.length) request.read(into);
      else into.set(new Uint8Array(request.read(n)!));
      readable -= n;
      received += n;
      return n;
    },
    close(): void {
      if (closed) return;
      closed = true;
      closeLater();
    },
  };
};
