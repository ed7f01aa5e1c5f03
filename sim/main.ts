/**
 * `npm start`: the host simulator. Starts the embedded broker (unless
 * `--broker` is given) and N virtual devices running the core, and prints one
 * live status line. SIGINT/SIGTERM: every device publishes `offline`,
 * disconnects cleanly, and the process exits 0.
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { type BuiltPage, buildPage } from "../page/build";
import { type RunningBroker, startBroker } from "./broker";
import { parseArgs, type SimOptions, USAGE } from "./cli";
import { simControls } from "./dashboard/controls";
import { type RunningDashboard, startDashboard } from "./dashboard/server";
import { bufferedReadings, createDevice, flatJoin, type VirtualDevice } from "./device";
import { CHATTY_FLEET, checkFileLimit, FleetStatus, namesIn, watchFleet } from "./fleet";
import { openStore } from "./history/store";
import { isLoopback, urlHost } from "./listen";
import { nodeHttpServer } from "./node-http";

const tty = process.stdout.isTTY === true;
let statusShown = false;

function log(line: string): void {
  if (statusShown) process.stdout.write("\r\x1b[2K");
  statusShown = false;
  process.stdout.write(`${line}\n`);
}

function fatal(message: string): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(2);
}

/** Checks that a broker given with --broker answers at all, so a typo fails at once. */
function probe(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(5000, () => socket.destroy(new Error("timed out")));
    socket.once("connect", () => {
      socket.destroy();
      resolve();
    });
    socket.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `cannot reach broker ${host}:${port} (${error.code === "ECONNREFUSED" ? "connection refused" : error.message})`,
        ),
      ),
    );
  });
}

/** Whether `port` can be listened on at `host`. */
function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

function statusLine(devices: VirtualDevice[], where: string): string {
  if (devices.length === 1) {
    const { app } = devices[0];
    const r = app.telemetry.last;
    const reading = r ? `${r.temp.toFixed(1)} °C ${r.hum.toFixed(1)} %RH` : "no reading yet";
    const mqtt = app.client.connected ? "online" : `offline (${app.client.lastError || app.client.state})`;
    return `${app.id} | ${where} | mqtt ${mqtt} | ${reading} | led ${app.led ? "ON" : "OFF"} | sent ${app.telemetry.count} | cmds ${app.commands} (${app.badCommands} bad) | sensor errors ${app.sampler.sensorErrors} | queued ${app.client.queued} | dropped ${app.client.dropped}`;
  }
  fleet ??= new FleetStatus(devices, where);
  return fleet.line();
}
let fleet: FleetStatus | undefined;

/** The devices' ids: `sim-K` … `sim-(K+N-1)` (K from --first, default 1), or the configured id alone. */
function deviceIds(options: SimOptions): string[] {
  const base = options.config.id || "sim";
  if (options.config.id && options.devices === 1 && options.first === 1) return [base];
  return Array.from({ length: options.devices }, (_, i) => `${base}-${options.first + i}`);
}

async function main(): Promise<void> {
  let options: SimOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    fatal((error as Error).message);
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return;
  }
  const files = checkFileLimit(options.devices);
  if (files) fatal(files);
  let broker: RunningBroker | undefined;
  let address = options.broker;
  const ids = deviceIds(options);
  // Each device's id comes from its number (the platform's id, as an ESP32's from its MAC), so a fleet's devices
  // share one configuration; a single configured id stays in it.
  const config = { ...options.config, id: ids.length === 1 ? ids[0] : "" };
  if (address) {
    try {
      await probe(address.host, address.port);
    } catch (error) {
      // A typo fails at once; but a device restarted in the middle of an outage, with readings
      // waiting in its offline buffer, carries on like a rebooted device and retries.
      const waiting = options.fresh
        ? 0
        : ids.reduce((n, id) => n + bufferedReadings(path.join(options.data, id), options.config), 0);
      if (waiting === 0) fatal((error as Error).message);
      log(`broker: ${(error as Error).message}; ${waiting} readings wait in the offline buffer: retrying with backoff`);
    }
  } else {
    const secured = options.brokerUser !== undefined || options.brokerPassword !== undefined;
    if (!isLoopback(options.host) && !secured) {
      log(
        `warning: the embedded broker${options.http ? " and the dashboard listen" : " listens"} on ${options.host} without credentials: anyone on the network can read and command the devices (set --brokerUser and --brokerPassword)`,
      );
    }
    try {
      broker = await startBroker({
        host: options.host,
        port: options.port,
        user: options.brokerUser,
        password: options.brokerPassword,
      });
    } catch (error) {
      fatal((error as Error).message);
    }
    address = { tls: false, host: urlHost(options.host), port: broker.port };
    // The simulator's own devices log in like any other client.
    if (secured && !config.mqttUser) {
      config.mqttUser = options.brokerUser ?? "";
      config.mqttPassword = options.brokerPassword ?? "";
    }
  }
  const where = `${address.tls ? "mqtts" : "mqtt"}://${address.host}:${address.port}`;

  // --web P: device i serves its page on P+i-1.
  const web = options.config.web;
  const webPort = (i: number) => (web === "off" ? web : web + i);
  let page: BuiltPage | undefined;
  if (web !== "off") {
    if (web + ids.length - 1 > 65535)
      fatal(`--web ${web} with ${ids.length} devices needs ports up to ${web + ids.length - 1}, beyond 65535`);
    for (let i = 0; i < ids.length; i++) {
      const port = web + i;
      if (!(await portFree(port, options.host))) fatal(`web port ${port} on ${options.host} is already in use`);
    }
    try {
      page = await buildPage();
    } catch (error) {
      fatal(`cannot build the device page: ${(error as Error).message}`);
    }
  }
  const http = nodeHttpServer(options.host);
  const devices: VirtualDevice[] = [];
  let dashboard: RunningDashboard | undefined;
  if (options.http !== 0) {
    try {
      const store = await openStore(options.db);
      dashboard = await startDashboard({
        host: options.host,
        port: options.http,
        broker: where,
        mqttUser: config.mqttUser || undefined,
        mqttPassword: config.mqttPassword || undefined,
        user: options.brokerUser,
        password: options.brokerPassword,
        store,
        retentionDays: options.retention,
        sim: simControls(devices, broker),
        upgrade: broker?.upgrade,
        log,
      });
      const web = `${urlHost(options.host)}:${dashboard.port}`;
      log(
        `${broker ? `broker: mqtt://${urlHost(options.host)}:${broker.port}, ws://${web}/mqtt, ` : ""}dashboard http://${web}/ (history in ${store.where})`,
      );
    } catch (error) {
      await Promise.all(devices.map((d) => d.stop()));
      await broker?.close();
      fatal((error as Error).message);
    }
  } else if (broker) {
    log(`broker: mqtt://${urlHost(options.host)}:${broker.port}`);
  }

  // A fleet: only the first device's own lines are shown; the status line counts the others.
  const quiet = ids.length > CHATTY_FLEET;
  if (quiet) log(`${ids.length} devices: log lines of ${ids[0]} only (the status line counts them all)`);
  const drop = () => {};
  const folders = namesIn(options.data);
  const root = path.normalize(options.data).replace(/(.)[\\/]+$/, "$1"); // as path.join gives it: no trailing separator
  try {
    if (ids.length > 1) fs.mkdirSync(options.data, { recursive: true }); // where each new device makes its folder
  } catch (error) {
    fatal(`cannot make the data folder ${options.data}: ${(error as Error).message}`);
  }
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    const dataDir = flatJoin(root, id);
    // One configuration for the whole fleet unless each device serves its page on a port of its own.
    const deviceConfig = web === "off" ? config : { ...config, web: webPort(i) };
    devices.push(
      createDevice(
        deviceConfig,
        id,
        address,
        {
          dataDir,
          folderExists: folders.has(id),
          fresh: options.fresh,
          sequence: options.sequence,
          faults: options.faults,
          http,
          page,
          setup: options.setup,
        },
        quiet && i > 0 ? drop : log,
      ),
    );
    // Connections start while the rest are made (they are paced in the socket adapter).
    if (i % 500 === 499) await new Promise((resolve) => setImmediate(resolve));
  }

  if (devices.length > 1) watchFleet(devices, log);

  let last = "";
  const draw = () => {
    const line = statusLine(devices, where);
    if (tty) {
      process.stdout.write(`\r\x1b[2K${line.slice(0, (process.stdout.columns || 200) - 1)}`);
      statusShown = true;
    } else if (line !== last) {
      process.stdout.write(`${line}\n`);
    }
    last = line;
  };
  const drawTimer = setInterval(draw, tty ? 250 : 1000);
  draw();

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(drawTimer);
    log(`${signal}: publishing offline and disconnecting`);
    const guard = setTimeout(() => {
      log("shutdown took too long; exiting");
      process.exit(1);
    }, 5000);
    await Promise.all(devices.map((d) => d.stop()));
    await dashboard?.close();
    await broker?.close();
    clearTimeout(guard);
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

void main();
