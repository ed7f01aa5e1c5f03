/**
 * The simulator's embedded broker: aedes on a TCP port, and, when `http` is
 * not 0, MQTT over WebSocket at `/mqtt` plus the dashboard on one HTTP port.
 */
import net from "node:net";
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { Aedes } from "aedes";
import { WebSocketServer, createWebSocketStream } from "ws";

export interface BrokerOptions {
  host?: string;
  port: number;
  /** Dashboard and WebSocket port; 0: none. */
  http: number;
}

export interface RunningBroker {
  port: number;
  http: number;
  close(): Promise<void>;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** Files the dashboard page may load, by URL path. */
function dashboardFiles(): Record<string, { file: string; type: string }> {
  return {
    "/": { file: path.join(here, "dashboard", "index.html"), type: "text/html; charset=utf-8" },
    "/mqtt.esm.js": { file: require.resolve("mqtt/dist/mqtt.esm"), type: "text/javascript; charset=utf-8" },
  };
}

export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const host = options.host ?? "127.0.0.1";
  const aedes = await Aedes.createBroker();
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    aedes.handle(socket);
  });
  await listen(tcp, options.port, host, "MQTT");
  let web: http.Server | undefined;
  let wss: WebSocketServer | undefined;
  if (options.http !== 0) {
    const files = dashboardFiles();
    web = http.createServer((req, res) => {
      const entry = files[(req.url ?? "/").split("?")[0]];
      if (!entry || req.method !== "GET") {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
        return;
      }
      fs.readFile(entry.file, (error, body) => {
        if (error) res.writeHead(500, { "content-type": "text/plain" }).end(`${error.message}\n`);
        else res.writeHead(200, { "content-type": entry.type, "cache-control": "no-store" }).end(body);
      });
    });
    wss = new WebSocketServer({ server: web, path: "/mqtt" });
    wss.on("connection", (socket, req) => aedes.handle(createWebSocketStream(socket) as never, req as never));
    try {
      await listen(web, options.http, host, "dashboard");
    } catch (error) {
      tcp.close();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      throw error;
    }
  }
  return {
    port: (tcp.address() as net.AddressInfo).port,
    http: web ? (web.address() as net.AddressInfo).port : 0,
    async close() {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      for (const client of wss?.clients ?? []) client.terminate();
      wss?.close();
      web?.closeAllConnections();
      await Promise.all([closeServer(tcp), web ? closeServer(web) : undefined]);
    },
  };
}

function listen(server: net.Server | http.Server, port: number, host: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        new Error(
          error.code === "EADDRINUSE"
            ? `${what} port ${port} on ${host} is already in use (choose another with --${what === "MQTT" ? "port" : "http"})`
            : `cannot listen on ${host}:${port} for ${what}: ${error.message}`,
        ),
      );
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
