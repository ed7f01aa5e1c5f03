/**
 * Helpers for the tests of the devices' own web pages: a run of free ports
 * (device i serves on P+i-1) and a small HTTP client that keeps status,
 * headers and body.
 */

import http from "node:http";
import net from "node:net";

function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** The first of `count` consecutive free loopback ports. */
export async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = 20000 + Math.floor(Math.random() * 40000);
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await free(first + i);
    if (ok) return first;
  }
  throw new Error(`no run of ${count} free ports`);
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body as JSON. */
  json<T = Record<string, unknown>>(): T;
}

export interface Call {
  method?: string;
  body?: string;
  headers?: Record<string, string>;
  /** HTTP Basic credentials, "user:password". */
  auth?: string;
}

/** One request; the body is read whole (as text, not decompressed). */
export function call(url: string, options: Call = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.auth) headers.authorization = `Basic ${Buffer.from(options.auth).toString("base64")}`;
    if (options.body !== undefined && !headers["content-type"])
      headers["content-type"] = "application/x-www-form-urlencoded";
    const request = http.request(
      url,
      { method: options.method ?? (options.body === undefined ? "GET" : "POST"), headers, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (c: Buffer) => chunks.push(c));
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text,
            json: <T>() => JSON.parse(text) as T,
          });
        });
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.setTimeout(5000, () => request.destroy(new Error(`${url}: no answer within 5 s`)));
    request.end(options.body);
  });
}

/** Polls `url` until `accept` takes its answer (a device restarting answers nothing for a moment). */
export async function until(url: string, accept: (a: Answer) => boolean, ms = 10000): Promise<Answer> {
  const end = Date.now() + ms;
  let last = "";
  for (;;) {
    try {
      const a = await call(url);
      if (accept(a)) return a;
      last = `${a.status} ${a.text}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > end) throw new Error(`${url}: not as expected within ${ms} ms; last: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
