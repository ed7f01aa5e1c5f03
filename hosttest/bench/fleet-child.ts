/**
 * One side of the fleet benchmark (./fleet.ts), run in its own process:
 *
 *   node build/fleet-child.mjs MODE N PORT INTERVAL WINDOW [DATA]
 *
 * (built from this file by ./fleet.ts with sim/bundle.mjs, as `npm start`
 * builds the simulator; `node --import tsx` runs it unbuilt).
 *
 * MODE `ours`: N virtual devices of the simulator (`createDevice`, each with
 * its data folder under DATA, as `npm start -- --devices N --data DATA
 * --fresh` runs them); `ours-in-memory`: the same without data folders (the
 * offline buffer in RAM, nothing kept on disk, as MQTT.js keeps it); `mqttjs`: N MQTT.js clients doing the same job the
 * way its users write it (Last Will; at each connect the device's three
 * subscriptions, `online`, the LED state and the three discovery configs at
 * QoS 1 retained, and a diag; the state payload at QoS 1 every INTERVAL ms); `bare`:
 * N sockets that sent a CONNECT and got their CONNACK, and do nothing else:
 * the floor.
 *
 * Prints one JSON line: time from the first connect to the last CONNACK,
 * memory before and after (RSS; V8 heap + buffers, after a compacting gc), and the CPU the
 * process spent over WINDOW ms of steady running with the messages it
 * published meanwhile.
 */
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import mqttPacket from "mqtt-packet";
import { createDevice, flatJoin, type VirtualDevice } from "../../sim/device";
import { compactHeap, namesIn } from "../../sim/fleet";
import { buildConfig } from "../../src/app/config";
import { discoveryMessages, topicsFor } from "../../src/app/topics";

const [mode, countArg, portArg, intervalArg, windowArg, DATA] = process.argv.slice(2);
const N = Number(countArg);
const PORT = Number(portArg);
const INTERVAL = Number(intervalArg);
const WINDOW = Number(windowArg);
const HOST = "127.0.0.1";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Memory after one compacting full collection, as the simulator makes once its fleet is online (each side
 * alike), and a second's wait: V8 gives the evacuated pages back to the system from a background thread.
 */
async function memory(): Promise<{ rss: number; js: number; heap: number; heapTotal: number }> {
  compactHeap();
  await sleep(1000);
  const m = process.memoryUsage();
  return { rss: m.rss, js: m.heapUsed + m.external, heap: m.heapUsed, heapTotal: m.heapTotal };
}

interface Fleet {
  connected(): number;
  /** State messages written so far. */
  messages(): number;
}

async function ours(): Promise<Fleet> {
  // The bench's data folder, reused by each of its runs (--fresh empties rather than deletes, see sim/device.ts), else one of our own.
  let dir = DATA;
  if (!dir) {
    const own = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-ours-"));
    process.on("exit", () => fs.rmSync(own, { recursive: true, force: true }));
    dir = own;
  }
  const { config } = buildConfig({ interval: INTERVAL, qos: 1 });
  const devices: VirtualDevice[] = [];
  const broker = { tls: false, host: HOST, port: PORT };
  const folders = namesIn(dir); // as the simulator's command line does
  for (let i = 1; i <= N; i++) {
    devices.push(
      createDevice(
        config,
        `sim-${i}`,
        broker,
        {
          dataDir: mode === "ours-in-memory" ? undefined : flatJoin(dir, `sim-${i}`),
          folderExists: folders.has(`sim-${i}`),
          fresh: true,
          faults: { sensor: 0, wifi: 0 },
        },
        () => {},
      ),
    );
    // As the command line does: connections start while the rest are made.
    if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return {
    connected: () => {
      let n = 0;
      for (const d of devices) if (d.app.client.connected) n++;
      return n;
    },
    messages: () => {
      let n = 0;
      for (const d of devices) n += d.app.client.published ?? d.app.telemetry.count;
      return n;
    },
  };
}

function mqttjs(): Fleet {
  const clients: mqtt.MqttClient[] = [];
  let messages = 0;
  let connected = 0;
  const { config } = buildConfig({ interval: INTERVAL, qos: 1 });
  const startedAt = Date.now();
  for (let i = 1; i <= N; i++) {
    const id = `mqttjs-${i}`;
    const topics = topicsFor(config, id);
    const client = mqtt.connect({
      host: HOST,
      port: PORT,
      clientId: id,
      clean: false,
      keepalive: 30,
      reconnectPeriod: 1000,
      will: { topic: topics.status, payload: Buffer.from("offline"), qos: 1, retain: true },
    });
    let timer: NodeJS.Timeout | undefined;
    let reconnects = -1;
    client.on("connect", () => {
      connected++;
      reconnects++;
      // The device's job at each connect (../../src/app/app.ts connected()): its three subscriptions, then
      // online, the LED state and the Home Assistant discovery configs (QoS 1, retained) and a diag (QoS 0).
      client.subscribe([topics.command, topics.configSet, topics.otaSet], { qos: 1 });
      client.publish(topics.status, "online", { qos: 1, retain: true });
      client.publish(topics.led, "OFF", { qos: 1, retain: true });
      for (const m of discoveryMessages(config, topics, { id, model: "ESP32 + DHT11", version: "0.1.0" }))
        client.publish(m.topic, m.payload, { qos: 1, retain: true });
      const uptime = Math.round((Date.now() - startedAt) / 1000);
      const diag = { version: "0.1.0", uptime, rssi: -60, heap: 0, reconnects, sensorErrors: 0, dropped: 0 };
      client.publish(topics.diag, JSON.stringify({ ...diag, queued: 0, buffered: 0, refused: 0 }), { qos: 0 });
      if (timer === undefined)
        timer = setInterval(() => {
          const temp = Math.round((22 + Math.random() * 4) * 10) / 10;
          const hum = Math.round((40 + Math.random() * 20) * 10) / 10;
          client.publish(topics.state, JSON.stringify({ data: { temp, hum } }), { qos: 1 }, () => messages++);
        }, INTERVAL);
    });
    client.on("close", () => {
      if (client.connected === false && connected > 0) connected--;
    });
    clients.push(client);
  }
  return { connected: () => clients.filter((c) => c.connected).length, messages: () => messages };
}

function bare(): Fleet {
  let connected = 0;
  const sockets: net.Socket[] = [];
  for (let i = 1; i <= N; i++) {
    const socket = net.connect({ host: HOST, port: PORT });
    socket.setNoDelay(true);
    socket.on("connect", () =>
      socket.write(
        mqttPacket.generate({
          cmd: "connect",
          clientId: `bare-${i}`,
          keepalive: 0,
          clean: true,
          protocolId: "MQTT",
          protocolVersion: 4,
        }),
      ),
    );
    socket.once("data", () => connected++);
    socket.on("error", () => {});
    sockets.push(socket);
  }
  return { connected: () => connected, messages: () => 0 };
}

async function main(): Promise<void> {
  await sleep(200);
  const before = await memory();
  const started = performance.now();
  const startCpu = process.cpuUsage();
  const fleet = mode.startsWith("ours") ? await ours() : mode === "mqttjs" ? mqttjs() : bare();
  let connectMs = NaN;
  let connectCpu = { user: NaN, system: NaN };
  const deadline = started + 120000;
  while (performance.now() < deadline) {
    if (fleet.connected() >= N) {
      connectMs = performance.now() - started;
      connectCpu = process.cpuUsage(startCpu);
      break;
    }
    await sleep(10);
  }
  await sleep(Math.max(2000, INTERVAL + 500));
  const after = await memory();
  const cpu = await window(fleet);
  const online = fleet.connected();
  process.stdout.write(
    `${JSON.stringify({
      mode,
      n: N,
      connectMs,
      connectCpuMs: (connectCpu.user + connectCpu.system) / 1000,
      online,
      rssPerDevice: (after.rss - before.rss) / N,
      jsPerDevice: (after.js - before.js) / N,
      heapPerDevice: (after.heap - before.heap) / N,
      heapTotalPerDevice: (after.heapTotal - before.heapTotal) / N,
      ...cpu,
    })}\n`,
  );
  if (process.env.FLEET_PAIRED) {
    // Windows side by side with another fleet (see pairedCpu in ./fleet.ts): each SIGUSR2 measures one more.
    process.on("SIGUSR2", () => void window(fleet).then((w) => process.stdout.write(`${JSON.stringify(w)}\n`)));
    process.stdout.write("paired-ready\n");
    return;
  }
  process.exit(0);
}

/** Process CPU over WINDOW ms, and the state messages written meanwhile. */
async function window(fleet: Fleet): Promise<{
  cpuMs: number;
  cpuSystemMs: number;
  messages: number;
  seconds: number;
  cpuUsPerMessage: number;
}> {
  const cpu0 = process.cpuUsage();
  const m0 = fleet.messages();
  const t0 = performance.now();
  await sleep(WINDOW);
  const cpu = process.cpuUsage(cpu0);
  const m1 = fleet.messages();
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    cpuSystemMs: cpu.system / 1000,
    messages: m1 - m0,
    seconds: (performance.now() - t0) / 1000,
    cpuUsPerMessage: m1 > m0 ? (cpu.user + cpu.system) / (m1 - m0) : Number.NaN,
  };
}

void main();
