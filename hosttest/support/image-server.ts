/**
 * An HTTP server for update tests, on a free loopback port: each path serves
 * an image whole, slowly (a few KiB at a time), or truncated (the connection
 * closes after part of the announced Content-Length). Anything else is 404.
 */
import http from "node:http";
import type net from "node:net";
import { listenOnLoopback } from "./listen";

export interface Served {
  body: Uint8Array;
  /** Slow: this many bytes per tick. */
  bytesPerTick?: number;
  tickMs?: number;
  /** Truncated: the connection closes after this many bytes of the body. */
  truncateAt?: number;
  /** Without Content-Length (the body ends when the connection closes). */
  noLength?: boolean;
}

export interface ImageServer {
  port: number;
  url(path: string): string;
  /** Requests received, by path. */
  hits: Map<string, number>;
  close(): Promise<void>;
}

export async function serveImages(routes: Record<string, Served>): Promise<ImageServer> {
  const hits = new Map<string, number>();
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const route = routes[path];
    if (!route || req.method !== "GET") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    const body = Buffer.from(route.body.buffer, route.body.byteOffset, route.body.byteLength);
    res.writeHead(
      200,
      route.noLength
        ? { "content-type": "application/octet-stream" }
        : { "content-type": "application/octet-stream", "content-length": String(body.length) },
    );
    if (route.truncateAt !== undefined) {
      res.write(body.subarray(0, route.truncateAt), () => setTimeout(() => req.socket.destroy(), 20));
      return;
    }
    if (!route.bytesPerTick) {
      res.end(body);
      return;
    }
    let at = 0;
    const tick = () => {
      if (res.destroyed) return;
      const n = Math.min(route.bytesPerTick!, body.length - at);
      res.write(body.subarray(at, at + n));
      at += n;
      if (at >= body.length) {
        res.end();
        return;
      }
      const timer = setTimeout(() => {
        timers.delete(timer);
        tick();
      }, route.tickMs ?? 50);
      timers.add(timer);
    };
    tick();
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const port = await listenOnLoopback(server);
  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
