/**
 * The dashboard's server: the only MQTT client (to the embedded broker or any
 * other), the history store, the page, a small HTTP API and a live feed
 * (Server-Sent Events) that pushes every reading and device change.
 *
 *   GET  /api/devices                         every device: id, prefix, online, last reading, LED, diag, errors
 *   GET  /api/history?id=&from=&to=[&format=csv]   readings with from ≤ t ≤ to (Unix ms), oldest first
 *   POST /api/led      {"id","state":"ON"|"OFF"|"TOGGLE"}   publishes the command on the device's led/set
 *   GET  /api/events                          the live feed
 *   GET  /api/sim, POST /api/sim/device, POST /api/sim/broker   the simulator's controls (npm start only)
 *
 * With credentials, every request needs them (HTTP Basic).
 */
import crypto from "node:crypto";
import http from "node:http";
import type { Duplex } from "node:stream";
import type { HistoryStore, Row } from "../history/store";
import { DAY_MS } from "../history/store";
import { listen } from "../listen";
import type { SimControls } from "./controls";
import { type DeviceView, Fleet, KINDS } from "./fleet";
import { buildPage } from "./page";

export interface DashboardOptions {
  host: string;
  port: number;
  /** The broker to watch, e.g. mqtt://127.0.0.1:1883. */
  broker: string;
  /** Credentials to log in to the broker with. */
  mqttUser?: string;
  mqttPassword?: string;
  /** Credentials the page and API ask for (HTTP Basic); none: open. */
  user?: string;
  password?: string;
  store: HistoryStore;
  /** Readings older than this many days are deleted. */
  retentionDays: number;
  /** The simulator's own devices and broker. */
  sim?: SimControls;
  /** Takes WebSocket upgrades (the embedded broker's MQTT over WebSocket at /mqtt). */
  upgrade?: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;
  log: (line: string) => void;
}

export interface RunningDashboard {
  port: number;
  fleet: Fleet;
  close(): Promise<void>;
}

/** Largest request body taken, bytes. */
const BODY_MAX = 4096;
const FLUSH_MS = 200;
const PRUNE_MS = 3_600_000;
/** Most rows one history request returns (7 days at 1 s is 604,800). */
const HISTORY_MAX = 1_000_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const { store, log, sim } = options;
  const files = await buildPage();
  const feeds = new Set<http.ServerResponse>();
  const send = (event: string, data: unknown) => {
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of feeds) res.write(text);
  };
  const view = (d: DeviceView) => ({ ...d, sim: sim?.state(d.id) ?? null });
  const fleet = new Fleet(
    store,
    { reading: (id, row) => send("reading", { id, ...row }), device: (d) => send("device", view(d)) },
    log,
  );
  await fleet.load();

  const prune = async () => {
    try {
      const n = await store.prune(Date.now() - options.retentionDays * DAY_MS);
      if (n) log(`history: ${n} readings older than ${options.retentionDays} days deleted`);
    } catch (error) {
      log(`history: pruning failed: ${(error as Error).message}`);
    }
  };
  await prune();
  const pruneTimer = setInterval(prune, PRUNE_MS);
  const flushTimer = setInterval(() => void fleet.flush(), FLUSH_MS);

  // The client id follows the store, so a restarted dashboard resumes its broker session.
  const clientId = `dashboard-${crypto.createHash("sha1").update(store.where).digest("hex").slice(0, 10)}`;
  const { default: mqtt } = await import("mqtt"); // loaded when a dashboard starts (see sim/start.mjs)
  const client = mqtt.connect(options.broker, {
    clientId,
    clean: false,
    username: options.mqttUser,
    password: options.mqttPassword,
    reconnectPeriod: 1000,
    connectTimeout: 5000,
  });
  let mqttError: string | undefined;
  let closing = false;
  let subscribed: () => void = () => {};
  const ready = new Promise<void>((resolve) => (subscribed = resolve));
  client.on("connect", () => {
    mqttError = undefined;
    client.subscribe(
      KINDS.map((k) => `+/+/${k}`),
      { qos: 1 },
      (error) => {
        if (error) log(`dashboard: subscribe failed: ${error.message}`);
        subscribed();
      },
    );
    send("broker", { connected: true, running: sim?.broker?.running() ?? true });
  });
  client.on("close", () => send("broker", { connected: false, running: sim?.broker?.running() ?? false }));
  client.on("error", (error) => {
    if (closing) return;
    if (error.message !== mqttError) log(`dashboard: broker ${options.broker}: ${error.message}`);
    mqttError = error.message;
  });
  client.on("message", (topic, payload) => fleet.message(topic, payload));

  const expected =
    options.user !== undefined || options.password !== undefined
      ? `Basic ${Buffer.from(`${options.user ?? ""}:${options.password ?? ""}`).toString("base64")}`
      : undefined;
  const authorized = (req: http.IncomingMessage) => {
    if (!expected) return true;
    const given = Buffer.from(req.headers.authorization ?? "");
    const want = Buffer.from(expected);
    return given.length === want.length && crypto.timingSafeEqual(given, want);
  };

  const server = http.createServer((req, res) => {
    if (!authorized(req)) {
      res
        .writeHead(401, {
          "www-authenticate": 'Basic realm="dashboard", charset="UTF-8"',
          "content-type": "text/plain",
        })
        .end("user name and password required\n");
      return;
    }
    route(req, res).catch((error: Error) => {
      const status = error instanceof HttpError ? error.status : 500;
      if (!res.headersSent) res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: error.message }));
    });
  });
  // MQTT over WebSocket: the broker checks its own credentials in CONNECT.
  server.on("upgrade", (req, socket, head) => {
    if (options.upgrade) options.upgrade(req, socket, head);
    else socket.destroy();
  });

  const route = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://dashboard");
    const key = `${req.method} ${url.pathname}`;
    const file = req.method === "GET" ? files[url.pathname] : undefined;
    if (file) {
      res.writeHead(200, { "content-type": file.type, "cache-control": "no-cache" }).end(file.body);
      return;
    }
    switch (key) {
      case "GET /api/devices":
        return json(res, fleet.list().map(view));
      case "GET /api/history":
        return history(url, res);
      case "POST /api/led":
        return led(await body(req), res);
      case "GET /api/events":
        return feed(req, res);
      case "GET /api/sim":
        if (!sim) throw new HttpError(404, "no simulator here");
        return json(res, {
          broker: sim.broker ? { running: sim.broker.running() } : null,
          devices: Object.fromEntries(sim.ids().map((id) => [id, sim.state(id)])),
        });
      case "POST /api/sim/device": {
        if (!sim) throw new HttpError(404, "no simulator here");
        const change = await body(req);
        const id = String(change.id ?? "");
        let state: unknown;
        try {
          state = await sim.change(id, change);
        } catch (error) {
          throw new HttpError(sim.state(id) ? 400 : 404, (error as Error).message);
        }
        const device = fleet.get(id);
        if (device) send("device", view(device));
        return json(res, state);
      }
      case "POST /api/sim/broker": {
        if (!sim?.broker) throw new HttpError(404, "the simulator uses another broker");
        const { running } = await body(req);
        if (typeof running !== "boolean") throw new HttpError(400, "running must be true or false");
        if (running) await sim.broker.start();
        else await sim.broker.stop();
        log(`broker: ${running ? "started" : "stopped"} from the dashboard`);
        send("broker", { connected: client.connected, running: sim.broker.running() });
        return json(res, { running: sim.broker.running() });
      }
    }
    throw new HttpError(
      url.pathname.startsWith("/api/") && ["GET", "POST"].indexOf(req.method ?? "") < 0 ? 405 : 404,
      `no ${req.method} ${url.pathname}`,
    );
  };

  const history = async (url: URL, res: http.ServerResponse) => {
    const id = url.searchParams.get("id");
    if (!id) throw new HttpError(400, `id is required, e.g. /api/history?id=sim-1&from=0&to=${Date.now()}`);
    const to = time(url.searchParams.get("to"), "to") ?? Date.now();
    const from = time(url.searchParams.get("from"), "from") ?? to - 3_600_000;
    if (from > to) throw new HttpError(400, "from must not be after to");
    await fleet.flush(); // include what arrived a moment ago
    const rows: Row[] = await store.range(id, from, to);
    if (rows.length > HISTORY_MAX) rows.length = HISTORY_MAX;
    if (url.searchParams.get("format") === "csv") {
      let text = "t,temp,hum\n";
      for (const r of rows) text += `${r.t},${r.temp},${r.hum}\n`;
      res
        .writeHead(200, {
          "content-type": "text/csv; charset=utf-8",
          "content-disposition": `attachment; filename="${id}.csv"`,
        })
        .end(text);
      return;
    }
    json(res, rows);
  };

  const led = async (input: Record<string, unknown>, res: http.ServerResponse) => {
    const id = String(input.id ?? "");
    const state = String(input.state ?? "").toUpperCase();
    if (["ON", "OFF", "TOGGLE"].indexOf(state) < 0) throw new HttpError(400, 'state must be "ON", "OFF" or "TOGGLE"');
    const device = fleet.get(id);
    if (!device) throw new HttpError(404, `no device "${id}"`);
    if (!client.connected) throw new HttpError(503, "the dashboard is not connected to the broker");
    const losant = device.prefix === "losant";
    const topic = losant ? `losant/${id}/command` : `${device.prefix}/${id}/led/set`;
    const payload = losant
      ? JSON.stringify(state === "TOGGLE" ? { name: "toggle" } : { name: "led", payload: { state } })
      : state;
    await client.publishAsync(topic, payload, { qos: 1 });
    json(res, { topic, payload }, 202);
  };

  const feed = (req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    res.write(
      `retry: 1000\nevent: hello\ndata: ${JSON.stringify({ devices: fleet.list().map(view), broker: { connected: client.connected, running: sim?.broker?.running() ?? client.connected } })}\n\n`,
    );
    feeds.add(res);
    req.once("close", () => feeds.delete(res));
  };

  const ping = setInterval(() => {
    for (const res of feeds) res.write(": ping\n\n");
  }, 15000);

  // Devices started next (npm start) are heard from their first message on; an unreachable broker holds nothing up for long.
  await Promise.race([ready, new Promise((resolve) => setTimeout(resolve, 2000))]);
  try {
    await listen(server, options.port, options.host, "dashboard", "--http");
  } catch (error) {
    clearInterval(pruneTimer);
    clearInterval(flushTimer);
    clearInterval(ping);
    await client.endAsync(true);
    throw error;
  }
  return {
    port: (server.address() as { port: number }).port,
    fleet,
    async close() {
      closing = true;
      clearInterval(pruneTimer);
      clearInterval(flushTimer);
      clearInterval(ping);
      for (const res of feeds) res.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await client.endAsync();
      await fleet.flush();
      await store.close();
    },
  };
}

function time(value: string | null, name: string): number | undefined {
  if (value === null || value === "") return undefined;
  if (!/^-?\d+$/.test(value))
    throw new HttpError(400, `${name} must be a time in Unix milliseconds, e.g. ${Date.now()}`);
  return Number(value);
}

function json(res: http.ServerResponse, value: unknown, status = 200): void {
  res
    .writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" })
    .end(JSON.stringify(value));
}

async function body(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_MAX) throw new HttpError(413, `the request body is over ${BODY_MAX} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    const value = JSON.parse(text);
    if (value !== null && typeof value === "object" && !Array.isArray(value)) return value;
  } catch {
    // fall through
  }
  throw new HttpError(400, "the body must be a JSON object");
}
