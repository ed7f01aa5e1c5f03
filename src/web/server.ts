/**
 * The device's web server, platform-free: a route table over the HTTP
 * server port (ports.ts `HttpServerFactory`), with HTTP Basic for changes,
 * a same-origin check for browsers, and bounds on everything a client sends.
 *
 * A route either takes its whole body as text (`handle`, for small forms and
 * commands, at most `maxBody` bytes) or takes the body itself as it arrives
 * (`stream`, for a firmware upload): add one with `add()`.
 *
 * Bounds: at most LIMITS.connections connections at once (more are closed),
 * LIMITS.head bytes of request line and headers, LIMITS.headers header lines,
 * `maxBody` bytes of body per route (a larger body is read through and
 * dropped up to DISCARD_LIMIT bytes, then answered 413; beyond that the
 * connection is closed), and LIMITS.idle ms without traffic. Nothing here
 * blocks: a slow client holds one connection, never the device.
 */
import type { HttpExchange, HttpReply, HttpRequest, HttpServer, HttpServerFactory, Log } from "../ports";
import { decodeUtf8 } from "../utf8";

export const LIMITS = {
  /** Connections open at once. */
  connections: 4,
  /** Bytes of request line and headers. */
  head: 4096,
  /** Header lines. */
  headers: 32,
  /** ms without traffic before a connection is closed. */
  idle: 10000,
};

/** A body over its route's limit is read through and dropped up to this many bytes; beyond, the connection is closed. */
export const DISCARD_LIMIT = 65536;

/** The user HTTP Basic expects for changes. */
export const USER = "admin";

/** A request as a route sees it. */
export interface WebRequest {
  readonly method: string;
  /** The target's path, without the query. */
  readonly path: string;
  /** The target's query, without "?"; "" when none. */
  readonly query: string;
  header(name: string): string | undefined;
}

export interface Route {
  method: string;
  path: string;
  /** Changes something: HTTP Basic when a password is set, and no cross-site browser request. */
  change?: boolean;
  /** Largest body `handle` takes, bytes (default 0: none). */
  maxBody?: number;
  /** Answers from the whole body, decoded as UTF-8. */
  handle?(request: WebRequest, body: string): HttpReply;
  /** Takes the body itself, as it arrives (e.g. a firmware upload), and answers when it ends. */
  stream?(request: WebRequest): HttpExchange;
}

export interface WebServerOptions {
  log: Log;
  /** The HTTP Basic password for changes; "" leaves them open. */
  password: string;
  /** Named in the browser's password prompt (the device id). */
  realm: string;
  /** True in set-up mode: any other page redirects to "/", so a phone's captive-portal check opens it. */
  setup?(): boolean;
}

const NO_STORE = "no-store";

/** A one-line plain-text answer. */
export function text(status: number, message: string, headers: Record<string, string> = {}): HttpReply {
  headers["content-type"] = "text/plain; charset=utf-8";
  headers["cache-control"] = NO_STORE;
  return { status, headers, body: `${message}\n` };
}

/** A JSON answer. */
export function json(status: number, value: unknown): HttpReply {
  return {
    status,
    headers: { "content-type": "application/json", "cache-control": NO_STORE },
    body: JSON.stringify(value),
  };
}

export class WebServer {
  private readonly options: WebServerOptions;
  private readonly routes: Route[] = [];
  private server: HttpServer | undefined;

  constructor(options: WebServerOptions) {
    this.options = options;
  }

  /** Adds a route; a later one for the same method and path replaces it. */
  add(route: Route): void {
    const at = this.routes.findIndex((r) => r.method === route.method && r.path === route.path);
    if (at >= 0) this.routes[at] = route;
    else this.routes.push(route);
  }

  /** Starts serving on `port`. A failure to listen is traced, never thrown. */
  listen(factory: HttpServerFactory, port: number): boolean {
    const log = this.options.log;
    try {
      this.server = factory({
        port,
        maxConnections: LIMITS.connections,
        maxHead: LIMITS.head,
        idleTimeout: LIMITS.idle,
        onRequest: (request) => this.request(request),
        onError: (message) => log(`web: ${message}`),
      });
      return true;
    } catch (error) {
      log(`web: cannot serve on port ${port} (${error instanceof Error ? error.message : String(error)})`);
      return false;
    }
  }

  close(): void {
    const server = this.server;
    this.server = undefined;
    try {
      server?.close();
    } catch {
      // already closed
    }
  }

  /** What to do with one request (the adapters' `onRequest`). Never throws. */
  request(raw: HttpRequest): HttpExchange {
    try {
      return this.route(raw);
    } catch (error) {
      return this.answer(text(500, `internal error: ${error instanceof Error ? error.message : String(error)}`));
    }
  }

  private route(raw: HttpRequest): HttpExchange {
    if (raw.headerCount > LIMITS.headers)
      return this.answer(text(431, `too many header lines (${raw.headerCount}; at most ${LIMITS.headers})`));
    const target = raw.target;
    const mark = target.indexOf("?");
    const request: WebRequest = {
      method: raw.method.toUpperCase(),
      path: mark < 0 ? target : target.slice(0, mark),
      query: mark < 0 ? "" : target.slice(mark + 1),
      header: (name) => raw.header(name),
    };
    let allowed = "";
    let route: Route | undefined;
    for (const r of this.routes) {
      if (r.path !== request.path) continue;
      if (r.method === request.method) route = r;
      else allowed += (allowed ? ", " : "") + r.method;
    }
    if (!route) {
      if (allowed)
        return this.answer(
          text(405, `${request.method} is not allowed on ${request.path} (allowed: ${allowed})`, { allow: allowed }),
        );
      if (request.method === "GET" && this.options.setup?.())
        return this.answer(text(302, "set-up: see /", { location: "/" }));
      return this.answer(text(404, `no page ${request.path}`));
    }
    if (route.change) {
      const password = this.options.password;
      if (password && !authorized(request.header("authorization"), password)) {
        return this.answer(
          text(401, "this change needs the web password (user admin)", {
            "www-authenticate": `Basic realm="${this.options.realm}", charset="UTF-8"`,
          }),
        );
      }
      const origin = request.header("origin");
      if (origin !== undefined && !sameOrigin(origin, request.header("host"))) {
        return this.answer(text(403, `a change from another site (${origin.slice(0, 80)}) is refused`));
      }
    }
    if (route.stream) return route.stream(request);
    const limit = route.maxBody ?? 0;
    const declared = contentLength(request.header("content-length"));
    if (declared === -1) return this.answer(text(400, "bad content-length"));
    const handle = route.handle;
    if (!handle) return this.answer(text(500, `no handler for ${request.path}`));
    return new Collected(limit, declared, (body) => handle(request, body));
  }

  /** An exchange that discards any body and gives `reply`. */
  private answer(reply: HttpReply): HttpExchange {
    return new Collected(-1, undefined, () => reply);
  }
}

/**
 * Collects a body of at most `limit` bytes, then answers from it as text. A
 * larger one is dropped as it arrives (413); past DISCARD_LIMIT the
 * connection is closed. `limit` -1: the answer is known already, any body is
 * dropped.
 */
class Collected implements HttpExchange {
  private readonly limit: number;
  private readonly answer: (body: string) => HttpReply;
  private buffer: Uint8Array | undefined;
  private length = 0;
  private total = 0;
  private readonly declared: number | undefined;

  constructor(limit: number, declared: number | undefined, answer: (body: string) => HttpReply) {
    this.limit = limit;
    this.declared = declared;
    this.answer = answer;
  }

  body(bytes: Uint8Array): boolean {
    this.total += bytes.length;
    if (this.total > DISCARD_LIMIT) return false;
    if (this.limit < 0) return true;
    if (this.total > this.limit || (this.declared !== undefined && this.declared > this.limit)) return true; // dropped
    // Sized to the declared length (bounded by the limit), so a small form takes a small buffer.
    const buffer = (this.buffer ??= new Uint8Array(this.declared !== undefined ? this.declared : this.limit));
    if (this.length + bytes.length > buffer.length) return true; // more than declared: dropped, answered 400 at the end
    buffer.set(bytes, this.length);
    this.length += bytes.length;
    return true;
  }

  end(respond: (reply: HttpReply) => void): void {
    if (this.limit < 0) {
      respond(this.answer(""));
      return;
    }
    if (this.total > this.limit || (this.declared !== undefined && this.declared > this.limit)) {
      respond(text(413, `request body too large (${this.declared ?? this.total} bytes; at most ${this.limit})`));
      return;
    }
    if (this.length !== this.total) {
      respond(text(400, `request body longer than its content-length (${this.declared})`));
      return;
    }
    const body = this.buffer ? decodeUtf8(this.buffer, 0, this.length) : "";
    this.buffer = undefined;
    if (body === undefined) {
      respond(text(400, "request body is not valid UTF-8"));
      return;
    }
    let reply: HttpReply;
    try {
      reply = this.answer(body);
    } catch (error) {
      reply = text(500, `internal error: ${error instanceof Error ? error.message : String(error)}`);
    }
    respond(reply);
  }

  abort(): void {
    this.buffer = undefined;
  }
}

/** The Content-Length header: undefined when absent, -1 when malformed. */
function contentLength(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return /^\d{1,9}$/.test(trimmed) ? Number(trimmed) : -1;
}

/** A browser's Origin matches the Host it sent the request to (scheme aside). */
function sameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  const at = origin.indexOf("://");
  return at > 0 && origin.slice(at + 3).toLowerCase() === host.trim().toLowerCase();
}

/** Checks an `Authorization: Basic …` header against admin:<password>, in time that does not depend on where they differ. */
export function authorized(header: string | undefined, password: string): boolean {
  if (header === undefined) return false;
  const match = /^\s*basic\s+([A-Za-z0-9+/]+=*)\s*$/i.exec(header);
  if (!match) return false;
  const bytes = decodeBase64(match[1]);
  const given = bytes ? decodeUtf8(bytes) : undefined;
  if (given === undefined) return false;
  const expected = `${USER}:${password}`;
  let differ = given.length ^ expected.length;
  for (let i = 0; i < expected.length; i++)
    differ |= expected.charCodeAt(i) ^ (i < given.length ? given.charCodeAt(i) : 0);
  return differ === 0;
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Standard base64 (padding optional); undefined if malformed. */
export function decodeBase64(text: string): Uint8Array | undefined {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x3d) end--; // =
  if (text.length - end > 2 || end % 4 === 1) return undefined;
  const out = new Uint8Array((end * 3) >> 2);
  let bits = 0;
  let value = 0;
  let at = 0;
  for (let i = 0; i < end; i++) {
    const digit = BASE64.indexOf(text.charAt(i));
    if (digit < 0) return undefined;
    value = (value << 6) | digit;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (value >> bits) & 0xff;
    }
  }
  return out;
}
