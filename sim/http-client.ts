/**
 * The core's HttpClient port over node:http and node:https, for firmware
 * downloads in the simulator. What arrives waits in a small queue until the
 * core reads it; above HIGH_WATER bytes the response is paused, so a fast
 * server never fills the simulator's memory while the core writes at its
 * own pace.
 */
import http from "node:http";
import https from "node:https";
import type { HttpClient, HttpGet, HttpGetOptions } from "../src/ports";

const HIGH_WATER = 65536;

export const nodeHttpClient: HttpClient = (options: HttpGetOptions): HttpGet => {
  const where = `${options.tls ? "https" : "http"}://${options.host}:${options.port}`;
  const chunks: Buffer[] = [];
  let available = 0;
  let received = 0;
  let closed = false;
  let ended = false;
  let paused = false;
  let response: http.IncomingMessage | undefined;

  const finish = (error?: string) => {
    if (closed) return;
    closed = true;
    request.destroy();
    options.onDone(error);
  };
  /** A clean end is told once the core has read every byte. */
  const maybeDone = () => {
    if (ended && available === 0 && !closed) setImmediate(() => finish());
  };

  const request = (options.tls ? https : http).get({
    host: options.host,
    port: options.port,
    path: options.path,
    agent: false,
    headers: { "user-agent": "dht-mqtt-esp32 (simulator)", "accept-encoding": "identity" },
  });
  request.on("error", (error: NodeJS.ErrnoException) =>
    finish(describe(error, where, response !== undefined, received)),
  );
  request.on("response", (res) => {
    if (closed) return;
    response = res;
    const header = res.headers["content-length"];
    const length = header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined;
    const location = typeof res.headers.location === "string" ? res.headers.location : undefined;
    res.on("data", (data: Buffer) => {
      if (closed) return;
      chunks.push(data);
      available += data.length;
      received += data.length;
      if (available > HIGH_WATER && !paused) {
        paused = true;
        res.pause();
      }
      options.onReadable(available);
    });
    res.on("end", () => {
      ended = true;
      maybeDone();
    });
    res.on("error", (error: NodeJS.ErrnoException) => finish(describe(error, where, true, received)));
    res.on("close", () => {
      if (!ended) finish(`the connection to ${where} closed after ${received} bytes of the body`);
    });
    options.onHeaders(res.statusCode ?? 0, length, location);
  });

  return {
    read(into: Uint8Array): number {
      let n = 0;
      while (n < into.length && chunks.length) {
        const chunk = chunks[0];
        const take = Math.min(chunk.length, into.length - n);
        into.set(chunk.subarray(0, take), n);
        n += take;
        if (take === chunk.length) chunks.shift();
        else chunks[0] = chunk.subarray(take);
      }
      available -= n;
      if (paused && available < HIGH_WATER / 2 && !closed) {
        paused = false;
        response?.resume();
      }
      maybeDone();
      return n;
    },
    close(): void {
      if (closed) return;
      closed = true;
      request.destroy();
    },
  };
};

function describe(error: NodeJS.ErrnoException, where: string, answered: boolean, received: number): string {
  switch (error.code) {
    case "ECONNREFUSED":
      return `connection refused by ${where}`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `cannot resolve the host of ${where}`;
    case "ETIMEDOUT":
      return `connection to ${where} timed out`;
    case "ECONNRESET":
      return answered
        ? `the connection to ${where} was reset after ${received} bytes of the body`
        : `connection reset by ${where}`;
    default:
      return error.message;
  }
}
