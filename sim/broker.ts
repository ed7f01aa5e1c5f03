/**
 * The simulator's embedded broker: aedes on a TCP port, and MQTT over
 * WebSocket at `/mqtt` on the dashboard's HTTP server. With credentials it
 * refuses any client that does not present them. The dashboard's controls can
 * stop it (every connection dropped, as in a crash) and start it again on the
 * same port, with its retained messages and sessions intact.
 */

import type http from "node:http";
import net from "node:net";
import type { Duplex } from "node:stream";
import { listen } from "./listen";

export interface BrokerOptions {
  host?: string;
  port: number;
  /** Credentials every client must present; none: open. */
  user?: string;
  password?: string;
}

export interface RunningBroker {
  port: number;
  readonly running: boolean;
  /** Takes an HTTP upgrade request: MQTT over WebSocket at `/mqtt`; anything else is refused. */
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Drops every connection and stops listening, as a crashed broker would. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const host = options.host ?? "127.0.0.1";
  // Loaded here, not at start: a simulator on another broker never needs them (see sim/start.mjs).
  const { Aedes } = await import("aedes");
  const { createWebSocketStream, WebSocketServer } = await import("ws");
  const aedes = await Aedes.createBroker();
  if (options.user !== undefined || options.password !== undefined) {
    const user = options.user ?? "";
    const password = Buffer.from(options.password ?? "");
    aedes.authenticate = (_client, username, pass, done) => {
      const ok = username === user && pass !== undefined && Buffer.compare(Buffer.from(pass), password) === 0;
      if (ok) done(null, true);
      else done(Object.assign(new Error("bad user name or password"), { returnCode: 4 }) as never, false);
    };
  }
  const sockets = new Set<Duplex>();
  const track = (socket: Duplex) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  let tcp: net.Server | undefined;
  let port = options.port;
  let running = false;
  const wss = new WebSocketServer({ noServer: true });
  wss.on("connection", (ws, req) => {
    const stream = createWebSocketStream(ws);
    track(stream);
    aedes.handle(stream as never, req as never);
  });

  const start = async () => {
    if (running) return;
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      track(socket);
      aedes.handle(socket);
    });
    await listen(server, port, host, "MQTT", "--port");
    port = (server.address() as net.AddressInfo).port;
    tcp = server;
    running = true;
  };
  const stop = async () => {
    if (!running) return;
    running = false;
    const server = tcp!;
    tcp = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    for (const ws of wss.clients) ws.terminate();
    await closed;
  };
  await start();
  return {
    get port() {
      return port;
    },
    get running() {
      return running;
    },
    upgrade(req, socket, head) {
      if (!running || (req.url ?? "").split("?")[0] !== "/mqtt") {
        socket.destroy();
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
    },
    stop,
    start,
    async close() {
      // aedes first, so what the devices said last (offline) reaches the other clients.
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await stop();
      wss.close();
    },
  };
}
