/**
 * `npm run bench -- --fleet`: the simulator as a fleet, measured in one run
 * beside MQTT.js clients and bare sockets, against mosquitto (a fresh one per
 * measurement, with `set_tcp_nodelay true` and no connection limit):
 *
 * - per device at 1,000 and 10,000: RSS and JS memory (V8 heap + buffers),
 *   CPU per message, and the time from the first connect to the last
 *   CONNACK, each side in its own process (./fleet-child.ts, built into one
 *   file as `npm start` builds the simulator, sim/bundle.mjs);
 * - the command → LED report round trip through the simulator's command
 *   line, beside the broker's own echo (publish → the same client);
 * - TCP segments per state message on loopback (tshark), ours and MQTT.js's.
 *
 * mosquitto and every child raise their soft file limit to the hard one
 * (`ulimit -n`); a size the hard limit cannot hold is left out, and said so.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { bundle } from "../../sim/bundle.mjs";
import { findMosquitto, freePort, waitForPort } from "../support/mosquitto.ts";
import { runSim, runStarted, START_FLAGS } from "../support/sim.ts";
import type { BenchRow } from "./table.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");

export type Row = BenchRow;

interface ChildResult {
  mode: string;
  n: number;
  connectMs: number;
  /** CPU the process spent until all were connected, ms. */
  connectCpuMs: number;
  online: number;
  rssPerDevice: number;
  jsPerDevice: number;
  heapPerDevice: number;
  cpuMs: number;
  messages: number;
  seconds: number;
  cpuUsPerMessage: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

function hardFileLimit(): number {
  try {
    const text = execFileSync("/bin/sh", ["-c", "ulimit -Hn"], { encoding: "utf8" }).trim();
    return text === "unlimited" ? Infinity : Number(text);
  } catch {
    return 1024;
  }
}

/** Runs `command` with the soft file limit raised to the hard one. */
function spawnRaised(command: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  const line = command.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  return spawn("/bin/sh", ["-c", `ulimit -n "$(ulimit -Hn)"; exec ${line}`], {
    cwd: options.cwd ?? root,
    env: options.env ? { ...process.env, ...options.env } : process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

interface Broker {
  port: number;
  stop(): Promise<void>;
}

async function startBroker(): Promise<Broker> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-mosquitto-"));
  const conf = path.join(dir, "mosquitto.conf");
  fs.writeFileSync(
    conf,
    `${[
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      "persistence false",
      "max_connections -1",
      "set_tcp_nodelay true",
      "log_dest none",
    ].join("\n")}\n`,
  );
  const child = spawnRaised([findMosquitto(), "-c", conf]);
  await waitForPort(port);
  return {
    port,
    stop: () =>
      new Promise((resolve) => {
        child.once("exit", () => {
          fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill("SIGKILL");
      }),
  };
}

/** The fleet child, built as `npm start` builds the simulator (one bundle, run without a TypeScript loader). */
let childScript: Promise<string> | undefined;

/** The command line of a ./fleet-child.ts run (the child bundled once). */
async function childCommand(
  mode: string,
  n: number,
  port: number,
  interval: number,
  windowMs: number,
  flags: string[],
  data: string,
): Promise<string[]> {
  childScript ??= bundle("hosttest/bench/fleet-child.ts", "fleet-child");
  const script = await childScript;
  return [process.execPath, ...flags, script, mode, String(n), String(port), String(interval), String(windowMs), data];
}

async function runChild(
  mode: string,
  n: number,
  port: number,
  interval: number,
  windowMs: number,
  flags: string[],
  data: string,
): Promise<ChildResult> {
  const child = spawnRaised(await childCommand(mode, n, port, interval, windowMs, flags, data));
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  const line = out.trim().split("\n").pop() ?? "";
  if (code !== 0 || !line.startsWith("{"))
    throw new Error(`fleet child ${mode} ${n} failed (${code}): ${err.slice(-2000)}`);
  return JSON.parse(line) as ChildResult;
}

/** The median of `xs` (the upper one of an even count). */
function middle(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

/** One window of ./fleet-child.ts: process CPU and the state messages written meanwhile. */
interface CpuWindow {
  cpuMs: number;
  messages: number;
  cpuUsPerMessage: number;
}

/**
 * CPU per message of ours and of MQTT.js measured side by side: both fleets
 * up at once, each against its own mosquitto, and each window taken at the
 * same time in both, so that both see the same machine (on a shared VM, one
 * side's lone 10 s window moves by ±25 % from run to run). `rounds` windows.
 */
async function pairedCpu(
  n: number,
  interval: number,
  windowMs: number,
  rounds: number,
  data: string,
): Promise<{ ours: CpuWindow[]; mqttjs: CpuWindow[]; ratios: number[] }> {
  const brokers: Broker[] = [];
  const children: ChildProcess[] = [];
  const outputs: string[] = [];
  /** The next line of child `i` that `match` accepts (its output is kept whole: the lines come in order). */
  const nextLine = async (i: number, from: number, match: (line: string) => boolean): Promise<[string, number]> => {
    const deadline = performance.now() + 180000;
    for (;;) {
      const lines = outputs[i].split("\n");
      for (let k = from; k < lines.length - 1; k++) if (match(lines[k])) return [lines[k], k + 1];
      if (performance.now() > deadline || children[i].exitCode !== null)
        throw new Error(`paired fleet child ${i} stopped: ${outputs[i].slice(-1000)}`);
      await sleep(50);
    }
  };
  try {
    const at: number[] = [];
    for (const [i, mode] of ["ours", "mqttjs"].entries()) {
      const broker = await startBroker();
      brokers.push(broker);
      const flags = mode === "ours" ? START_FLAGS : [];
      const child = spawnRaised(await childCommand(mode, n, broker.port, interval, windowMs, flags, data), {
        env: { FLEET_PAIRED: "1" },
      });
      children.push(child);
      outputs.push("");
      child.stdout!.on("data", (d) => (outputs[i] += d));
      child.stderr!.on("data", () => {});
      // One side connects before the other starts: their connections do not crowd each other.
      at.push((await nextLine(i, 0, (line) => line === "paired-ready"))[1]);
    }
    const ours: CpuWindow[] = [];
    const mqttjs: CpuWindow[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const child of children) child.kill("SIGUSR2");
      const got: CpuWindow[] = [];
      for (let i = 0; i < children.length; i++) {
        const [line, next] = await nextLine(i, at[i], (l) => l.startsWith("{"));
        at[i] = next;
        got.push(JSON.parse(line) as CpuWindow);
      }
      ours.push(got[0]);
      mqttjs.push(got[1]);
      ratios.push(got[0].cpuUsPerMessage / got[1].cpuUsPerMessage);
    }
    return { ours, mqttjs, ratios };
  } finally {
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    for (const broker of brokers) await broker.stop();
  }
}

interface CliResult {
  n: number;
  /** Process RSS once all are online and a reading interval has passed, bytes. */
  rss: number;
  connectMs: number;
  /** Process CPU over the window / state messages the status line counted, µs. */
  cpuUsPerMessage: number;
}

/** RSS (bytes) and CPU time (ms, user + system) of process `pid`, from /proc (Linux). */
function procStats(pid: number): { rss: number; cpuMs: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) * 1024;
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  return { rss, cpuMs: (ticks * 1000) / 100 };
}

/**
 * The simulator's own command line, as `npm start` runs it (node sim/start.mjs:
 * the bundle), with `--devices n --http 0 --fresh` against a fresh mosquitto:
 * RSS from /proc once all are online, CPU per message over `windowMs`.
 */
export async function measureCli(n: number, interval: number, windowMs: number, data: string): Promise<CliResult> {
  const broker = await startBroker();
  const child = spawnRaised([
    process.execPath,
    ...START_FLAGS,
    path.join(root, "sim", "start.mjs"),
    "--broker",
    `mqtt://127.0.0.1:${broker.port}`,
    "--devices",
    String(n),
    "--http",
    "0",
    "--fresh",
    "--data",
    data,
    "--interval",
    String(interval),
    "--qos",
    "1",
  ]);
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    const started = performance.now();
    // A fleet says when all are online, timed from its start (the status line comes once a second when piped).
    const online = n === 1 ? /\| mqtt online \|/ : new RegExp(`all ${n} devices online, ([\\d.]+) s after start`);
    let seen: RegExpExecArray | null;
    while (!(seen = online.exec(out))) {
      if (performance.now() - started > 180000 || child.exitCode !== null)
        throw new Error(`the simulator did not bring ${n} devices online: ${out.slice(-1000)}`);
      await sleep(50);
    }
    const connectMs = seen[1] ? Number(seen[1]) * 1000 : performance.now() - started;
    await sleep(Math.max(2000, interval + 500));
    const before = procStats(child.pid!);
    const count = () => {
      const lines = out.split("\n");
      let sum = 0;
      for (const line of lines.slice(-200)) {
        const m = /\| (\d+) msg\/s \|/.exec(line);
        if (m) sum = Number(m[1]);
      }
      return sum;
    };
    // Messages: the status line's rate (one line a second when stdout is not a terminal), averaged over the window.
    const rates: number[] = [];
    const until = performance.now() + windowMs;
    while (performance.now() < until) {
      await sleep(1000);
      rates.push(count());
    }
    const after = procStats(child.pid!);
    const rate = rates.reduce((a, b) => a + b, 0) / rates.length;
    const messages = n === 1 ? windowMs / interval : (rate * windowMs) / 1000;
    return { n, rss: after.rss, connectMs, cpuUsPerMessage: ((after.cpuMs - before.cpuMs) * 1000) / messages };
  } finally {
    child.kill("SIGTERM");
    await exited;
    await broker.stop();
  }
}

/** One side at one size, against its own fresh mosquitto; ours with npm start's Node flags unless `flags` says otherwise. */
async function measure(
  mode: string,
  n: number,
  interval: number,
  windowMs: number,
  data: string,
  flags = mode.startsWith("ours") ? START_FLAGS : [],
): Promise<ChildResult> {
  const broker = await startBroker();
  try {
    return await runChild(mode, n, broker.port, interval, windowMs, flags, data);
  } finally {
    await broker.stop();
  }
}

/** TCP_NODELAY on an MQTT.js client's socket (it leaves Nagle on by default). */
function nodelay(client: mqtt.MqttClient): void {
  (client.stream as unknown as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Round trips of each kind made and not counted, first. */
const WARM_UP = 3000;

/** Round trips of one kind, ms, sorted. */
export interface RoundTrips {
  /** Through the simulator (`npm start`). */
  device: number[];
  /** Through an MQTT.js client that answers commands (./rt-responder.ts mqttjs). */
  mqttjs: number[];
  /** Through a bare socket that answers commands (./rt-responder.ts bare): the floor for a device process. */
  bare: number[];
  /** The broker's echo: the peer's publish back to itself. */
  echo: number[];
}

/** A responder of ./rt-responder.ts, once it says it is subscribed. */
async function startResponder(mode: string, port: number, id: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(here, "rt-responder.ts"), mode, String(port), id],
    {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rt-responder ${mode} not ready within 20 s`)), 20000);
    child.stdout!.on("data", (d: Buffer) => {
      if (!d.toString().includes("ready")) return;
      clearTimeout(timer);
      resolve();
    });
    child.once("exit", (code) => reject(new Error(`rt-responder ${mode} exited (${code})`)));
  });
  return child;
}

/**
 * Command → LED report through the simulator's command line, through an MQTT.js
 * device and a bare-socket device (each in its own process, as the simulator),
 * and the broker's echo, interleaved; ms.
 */
export async function roundTrip(count: number): Promise<RoundTrips> {
  const broker = await startBroker();
  const sim = runStarted([
    "--broker",
    `mqtt://127.0.0.1:${broker.port}`,
    "--http",
    "0",
    "--fresh",
    "--discovery",
    "off",
    "--interval",
    "60000",
  ]);
  const responders: ChildProcess[] = [];
  const peer = mqtt.connect({ host: "127.0.0.1", port: broker.port, clientId: "bench-peer", reconnectPeriod: 0 });
  try {
    await sim.waitFor("mqtt: connected", 20000);
    responders.push(await startResponder("mqttjs", broker.port, "mqttjs-1"));
    responders.push(await startResponder("bare", broker.port, "bare-1"));
    if (!peer.connected)
      await new Promise<void>((resolve, reject) => {
        peer.once("connect", () => resolve());
        peer.once("error", reject);
      });
    nodelay(peer); // else Nagle and delayed ACKs add 40 ms to the peer's own writes
    const kinds = ["sim-1", "mqttjs-1", "bare-1"];
    await peer.subscribeAsync([...kinds.map((id) => `devices/${id}/led`), "bench/echo"], { qos: 1 });
    await sleep(300); // the retained LED states arrive first
    let waiting: ((topic: string) => void) | undefined;
    peer.on("message", (topic) => waiting?.(topic));
    const once = (send: () => void, topic: string) =>
      new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no message on ${topic} within 5 s`)), 5000);
        const start = performance.now();
        waiting = (t) => {
          if (t !== topic) return;
          clearTimeout(timer);
          waiting = undefined;
          resolve(performance.now() - start);
        };
        send();
      });
    const command = (id: string) =>
      once(() => peer.publish(`devices/${id}/led/set`, "ON", { qos: 1 }), `devices/${id}/led`);
    const times: RoundTrips = { device: [], mqttjs: [], bare: [], echo: [] };
    // Warm-up first: a just-started simulator (and the peer) compile their code on background threads for
    // about the first 1.5 s of round trips, which then take 2–6 ms a few times in a hundred.
    for (let i = 0; i < count + WARM_UP; i++) {
      const device = await command("sim-1");
      const mqttjs = await command("mqttjs-1");
      const bare = await command("bare-1");
      const echo = await once(() => peer.publish("bench/echo", i % 2 ? "ON" : "OFF", { qos: 1 }), "bench/echo");
      if (i < WARM_UP) continue;
      times.device.push(device);
      times.mqttjs.push(mqttjs);
      times.bare.push(bare);
      times.echo.push(echo);
    }
    for (const list of Object.values(times)) list.sort((a: number, b: number) => a - b);
    return times;
  } finally {
    peer.end(true);
    for (const child of responders) child.kill();
    sim.child.kill("SIGINT");
    await sim.exited;
    await broker.stop();
  }
}

/** TCP segments that carried client → broker bytes, and the state PUBLISHes among them, from a tshark capture. */
function countSegments(file: string, port: number): { segments: number; publishes: number } {
  const text = execFileSync(
    "tshark",
    [
      "-r",
      file,
      "-d",
      `tcp.port==${port},mqtt`,
      "-Y",
      `tcp.dstport==${port} && tcp.len>0`,
      "-T",
      "fields",
      "-e",
      "tcp.len",
      "-e",
      "mqtt.msgtype",
      "-e",
      "mqtt.topic",
    ],
    {
      encoding: "utf8",
      maxBuffer: 64 << 20,
    },
  );
  let segments = 0;
  let publishes = 0;
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    segments++;
    const [, types = "", topics = ""] = line.split("\t");
    const t = types.split(",");
    const names = topics.split(",");
    for (let i = 0; i < t.length; i++) if (t[i] === "3" && (names[i] ?? "").endsWith("/state")) publishes++;
  }
  return { segments, publishes };
}

async function capture<T>(port: number, work: () => Promise<T>): Promise<{ file: string; result: T }> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "fleet-capture-")), "lo.pcapng");
  const tshark = spawn("tshark", ["-i", "lo", "-f", `tcp port ${port}`, "-w", file, "-q"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  tshark.stderr!.on("data", (d) => (err += d));
  const until = Date.now() + 10000;
  while (!/Capturing on/.test(err)) {
    if (Date.now() > until || tshark.exitCode !== null) throw new Error(`tshark did not start: ${err}`);
    await sleep(50);
  }
  await sleep(300);
  const result = await work();
  await sleep(300);
  tshark.kill("SIGINT");
  await new Promise((r) => tshark.once("exit", r));
  return { file, result };
}

/** Segments per state message: 20 of our devices (the command line, QoS 1) and 20 MQTT.js clients publishing the same payload. */
export async function segments(): Promise<{
  ours: { segments: number; publishes: number };
  mqttjs: { segments: number; publishes: number };
}> {
  execFileSync("tshark", ["--version"], { stdio: "ignore" });
  const broker = await startBroker();
  try {
    const sim = runSim([
      "--broker",
      `mqtt://127.0.0.1:${broker.port}`,
      "--http",
      "0",
      "--fresh",
      "--devices",
      "20",
      "--interval",
      "2000",
      "--qos",
      "1",
    ]);
    let ours: { segments: number; publishes: number };
    try {
      await sim.waitFor(/20 online/, 30000);
      await sleep(2500); // past the announcements
      const cap = await capture(broker.port, () => sleep(6000));
      ours = countSegments(cap.file, broker.port);
      fs.rmSync(path.dirname(cap.file), { recursive: true, force: true });
    } finally {
      sim.child.kill("SIGINT");
      await sim.exited;
    }
    const clients: mqtt.MqttClient[] = [];
    for (let i = 1; i <= 20; i++)
      clients.push(mqtt.connect({ host: "127.0.0.1", port: broker.port, clientId: `seg-${i}`, reconnectPeriod: 0 }));
    await Promise.all(clients.map((c) => new Promise((r) => c.once("connect", r))));
    for (const c of clients) nodelay(c); // as ours: a state message must leave at once
    const cap = await capture(broker.port, async () => {
      for (let round = 0; round < 3; round++) {
        for (const [i, c] of clients.entries())
          c.publish(`devices/seg-${i + 1}/state`, JSON.stringify({ data: { temp: 23.5, hum: 41 } }), { qos: 1 });
        await sleep(2000);
      }
    });
    const mqttjs = countSegments(cap.file, broker.port);
    fs.rmSync(path.dirname(cap.file), { recursive: true, force: true });
    for (const c of clients) c.end(true);
    return { ours, mqttjs };
  } finally {
    await broker.stop();
  }
}

export async function benchFleet(sizes = [1000, 10000]): Promise<{ rows: Row[]; results: Record<string, unknown> }> {
  // One data folder for every run of ours, kept until the end, as a user's `data` is: each run starts
  // it with --fresh (which empties rather than deletes, see sim/device.ts). Deleting a fleet's folders
  // between runs would slow the next run's new files for about 30 s (ext4 scans recently freed inodes).
  const data = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-data-"));
  try {
    return await fleetRuns(sizes, data);
  } finally {
    fs.rmSync(data, { recursive: true, force: true });
  }
}

async function fleetRuns(sizes: number[], data: string): Promise<{ rows: Row[]; results: Record<string, unknown> }> {
  const rows: Row[] = [];
  const results: Record<string, unknown> = {};
  const hard = hardFileLimit();
  const interval = 2000;
  // First, on a quiet machine (the fleets after it leave the kernel writing their files back for a while).
  // Three rounds of 2,000 each (a broker and its devices each), the median of each ratio: one round's
  // ratio moves by ±0.3 with where the processes land on this machine's two cores.
  const rounds: (RoundTrips & { ratios: Record<string, number> })[] = [];
  const ratioOf = (rt: RoundTrips, kind: "echo" | "bare" | "mqttjs", q: number) =>
    percentile(rt.device, q) / percentile(rt[kind], q);
  for (let i = 0; i < 3; i++) {
    const rt = await roundTrip(2000);
    const ratios: Record<string, number> = {};
    for (const kind of ["echo", "bare", "mqttjs"] as const)
      for (const q of [50, 99]) ratios[`${kind}${q}`] = ratioOf(rt, kind, q);
    ratios.bareEcho50 = percentile(rt.bare, 50) / percentile(rt.echo, 50);
    ratios.bareEcho99 = percentile(rt.bare, 99) / percentile(rt.echo, 99);
    rounds.push({ ...rt, ratios });
  }
  const r = (key: string) => middle(rounds.map((round) => round.ratios[key]));
  const r50 = r("echo50");
  const r99 = r("echo99");
  const rt = rounds.find((round) => round.ratios.echo50 === r50)!;
  const p = (xs: number[], q: number) => percentile(xs, q);
  const times = (xs: number[]) => `p50 ${p(xs, 50).toFixed(3)} ms, p99 ${p(xs, 99).toFixed(3)} ms`;
  results.roundTrip = {
    deviceMs: { p50: p(rt.device, 50), p99: p(rt.device, 99) },
    mqttjsMs: { p50: p(rt.mqttjs, 50), p99: p(rt.mqttjs, 99) },
    bareMs: { p50: p(rt.bare, 50), p99: p(rt.bare, 99) },
    echoMs: { p50: p(rt.echo, 50), p99: p(rt.echo, 99) },
    samples: rt.device.length,
    ratios: Object.fromEntries(Object.keys(rt.ratios).map((key) => [key, r(key)])),
    rounds: rounds.map((round) => round.ratios),
  };
  const how =
    "MQTT.js peer → mosquitto → device → mosquitto → peer, QoS 1, `ON` each time (unchanged: no store.json write, which adds about 0.2 ms); each device its own process: the simulator (npm start), an MQTT.js client that answers, a bare socket that answers (the PUBACK and the report in one write: the floor for any device process); beside the broker's echo, peer → mosquitto → peer. 2,000 of each kind, interleaved, after 3,000 of each not counted (the code compiled), in each of 3 rounds: the median ratios, the times of the median round by p50";
  rows.push(
    {
      metric: "command → LED report round trip",
      ours: times(rt.device),
      peer: `broker echo ${times(rt.echo)}`,
      ratio: `p50 ${r50.toFixed(2)}×, p99 ${r99.toFixed(2)}× (rounds ${rounds.map((round) => `${round.ratios.echo50.toFixed(2)}/${round.ratios.echo99.toFixed(2)}`).join(", ")})`,
      goal: `${r50 <= 2.5 ? "p50 ≤2.5× ok" : "p50 ≤2.5× MISSED"}; ${r99 <= 1.5 ? "p99 ≤1.5× ok" : "p99 ≤1.5× MISSED"}`,
      note: `${how}. The floor (bare-socket device) is p50 ${r("bareEcho50").toFixed(2)}×, p99 ${r("bareEcho99").toFixed(2)}× the echo: the device's path crosses the broker twice`,
    },
    {
      metric: "round trip beside the floor and MQTT.js",
      ours: times(rt.device),
      peer: `bare socket ${times(rt.bare)}; MQTT.js ${times(rt.mqttjs)}`,
      ratio: `${r("bare50").toFixed(2)}× / ${r("bare99").toFixed(2)}× bare, ${r("mqttjs50").toFixed(2)}× / ${r("mqttjs99").toFixed(2)}× MQTT.js (p50 / p99)`,
      goal: "-",
      note: "the same round trips as the row above, the same round",
    },
  );

  // The command line with one device: what a simulator process costs before its devices.
  const cliOne = await measureCli(1, interval, 3000, data);
  results.cli_1 = cliOne;
  for (const n of sizes) {
    if (hard < n + 512) {
      rows.push({
        metric: `fleet of ${n}`,
        ours: "-",
        peer: "-",
        ratio: "-",
        goal: "not run",
        note: `the hard file limit (ulimit -Hn) is ${hard}; ${n} clients and mosquitto need ${n + 512}`,
      });
      continue;
    }
    const windowMs = 10000;
    const bare = await measure("bare", n, interval, windowMs, data);
    // Three rounds of each, interleaved, ours making new data folders each time (a fleet's first start): the
    // medians of the time to all connected, which moves by ±30 % from run to run here (and MQTT.js's, whose
    // clients all connect at once, by more when the broker's accept backlog overflows and SYNs are retried).
    const jsRuns: ChildResult[] = [];
    const oursRuns: ChildResult[] = [];
    for (let round = 0; round < 3; round++) {
      jsRuns.push(await measure("mqttjs", n, interval, windowMs, data));
      const folder = path.join(data, `round-${round}`);
      fs.mkdirSync(folder, { recursive: true });
      oursRuns.push(await measure("ours", n, interval, windowMs, folder));
    }
    const js = jsRuns[0];
    const ours = oursRuns[0];
    const connect = (runs: ChildResult[]) => middle(runs.map((r) => r.connectMs));
    const seconds = (runs: ChildResult[]) => runs.map((r) => (r.connectMs / 1000).toFixed(2)).join(", ");
    // Ours with nothing kept on disk (the offline buffer in RAM), as the MQTT.js clients keep theirs: equal work.
    const inMemory = await measure("ours-in-memory", n, interval, windowMs, data);
    const cli = await measureCli(n, interval, windowMs, data);
    const cliPerDevice = (cli.rss - cliOne.rss) / (n - 1);
    // Ours again with Node's defaults (no flag), to show what npm start's flag is worth.
    const plain = n >= 10000 ? await measure("ours", n, interval, windowMs, data, []) : undefined;
    const paired = await pairedCpu(n, interval, windowMs, 3, data);
    results[`fleet_${n}`] = {
      ours,
      oursInMemory: inMemory,
      mqttjs: js,
      bare,
      connectRuns: { ours: oursRuns.map((r) => r.connectMs), mqttjs: jsRuns.map((r) => r.connectMs) },
      cli: { ...cli, rssPerDevice: cliPerDevice },
      ...(plain ? { oursNodeDefaults: plain } : {}),
      cpuSideBySide: paired,
    };
    const k = n.toLocaleString("en");
    rows.push(
      {
        metric: `RSS per device, ${k} (fleet)`,
        ours: kib(ours.rssPerDevice),
        peer: `MQTT.js ${kib(js.rssPerDevice)}; bare ${kib(bare.rssPerDevice)}`,
        ratio: `${(ours.rssPerDevice / bare.rssPerDevice).toFixed(1)}× bare, ${(ours.rssPerDevice / js.rssPerDevice).toFixed(2)}× MQTT.js`,
        goal: n >= 10000 ? (ours.rssPerDevice <= 2 * bare.rssPerDevice ? "≤2× bare ok" : "≤2× bare MISSED") : "-",
        note: `process RSS after all connected and a settle, less before, / N; each side its own process and broker; ours: N createDevice (sim/device.ts) with a data folder each, built and run as npm start runs the simulator (node ${START_FLAGS.join(" ")}: a 2 MiB young generation; MQTT.js and bare: node's defaults)`,
      },
      ...(plain
        ? [
            {
              metric: `RSS per device, ${k}, ours with Node's defaults`,
              ours: kib(plain.rssPerDevice),
              peer: `bare ${kib(bare.rssPerDevice)}`,
              ratio: `${(plain.rssPerDevice / bare.rssPerDevice).toFixed(1)}× bare`,
              goal: "-",
              note: `as the row above without npm start's ${START_FLAGS.join(" ")} (V8 grows the young generation to 32 MiB in the start-up burst and keeps it); ${plain.cpuUsPerMessage.toFixed(1)} µs CPU per message`,
            },
          ]
        : []),
      {
        metric: `RSS per device, ${k}, the command line`,
        ours: kib(cliPerDevice),
        peer: `MQTT.js ${kib(js.rssPerDevice)}; bare ${kib(bare.rssPerDevice)}`,
        ratio: `${(cliPerDevice / bare.rssPerDevice).toFixed(1)}× bare, ${(cliPerDevice / js.rssPerDevice).toFixed(2)}× MQTT.js`,
        goal: n >= 10000 ? (cliPerDevice <= 2 * bare.rssPerDevice ? "≤2× bare ok" : "≤2× bare MISSED") : "-",
        note: `node sim/start.mjs (npm start) --devices ${n} --http 0 --fresh: RSS from /proc once all are online, less the same with --devices 1 (${kib(cliOne.rss)}), / (N−1); all ${k} online in ${(cli.connectMs / 1000).toFixed(1)} s from the process's start (new data folders), ${cli.cpuUsPerMessage.toFixed(1)} µs CPU per message (status line's msg/s)`,
      },
      {
        metric: `JS memory per device, ${k}`,
        ours: kib(ours.jsPerDevice),
        peer: `MQTT.js ${kib(js.jsPerDevice)}; bare ${kib(bare.jsPerDevice)}`,
        ratio: `${(ours.jsPerDevice / js.jsPerDevice).toFixed(2)}× MQTT.js`,
        goal: "-",
        note: "V8 heap used + external (buffers) after a compacting gc, less before, / N",
      },
      {
        metric: `time to all connected, ${k}`,
        ours: `${(connect(oursRuns) / 1000).toFixed(2)} s (${seconds(oursRuns)})`,
        peer: `MQTT.js ${(connect(jsRuns) / 1000).toFixed(2)} s (${seconds(jsRuns)}); bare ${(bare.connectMs / 1000).toFixed(2)} s`,
        ratio: `${(connect(oursRuns) / connect(jsRuns)).toFixed(2)}×`,
        goal: connect(oursRuns) <= connect(jsRuns) ? "≤ MQTT.js ok" : "≤ MQTT.js MISSED",
        note: `first connect to last CONNACK, the medians of 3 interleaved runs each (each run in brackets); each connection does the device's job: its subscriptions, online, the LED state and three discovery configs (QoS 1, retained) and a diag (bare: CONNECT only); ours: each device's data folder and offline-buffer file made meanwhile (new folders each run), 64 connections opening at once (the socket adapter paces); MQTT.js and bare: all at once, as their users write it. CPU until then (all threads), first run: ours ${(ours.connectCpuMs / 1000).toFixed(2)} s, MQTT.js ${(js.connectCpuMs / 1000).toFixed(2)} s`,
      },
      {
        metric: `time to all connected, ${k}, nothing on disk`,
        ours: `${(inMemory.connectMs / 1000).toFixed(2)} s`,
        peer: `MQTT.js ${(connect(jsRuns) / 1000).toFixed(2)} s (median)`,
        ratio: `${(inMemory.connectMs / connect(jsRuns)).toFixed(2)}×`,
        goal: "-",
        note: `as the row above, ours without data folders (the offline buffer in RAM, as MQTT.js keeps its own): equal work. CPU until then ${(inMemory.connectCpuMs / 1000).toFixed(2)} s; ${inMemory.cpuUsPerMessage.toFixed(1)} µs CPU per message; RSS ${kib(inMemory.rssPerDevice)} a device`,
      },
      {
        metric: `CPU per message, ${k}`,
        ours: `${middle(paired.ours.map((w) => w.cpuUsPerMessage)).toFixed(1)} µs`,
        peer: `MQTT.js ${middle(paired.mqttjs.map((w) => w.cpuUsPerMessage)).toFixed(1)} µs`,
        ratio: `${middle(paired.ratios).toFixed(2)}× (windows ${paired.ratios.map((x) => x.toFixed(2)).join(", ")})`,
        goal: middle(paired.ratios) <= 1 ? "≤ MQTT.js ok" : "≤ MQTT.js MISSED",
        note: `both fleets up at once, each against its own mosquitto, process CPU over the same ${windowMs / 1000} s windows / state messages written (QoS 1, every ${interval / 1000} s per device), ${paired.ratios.length} windows, the medians; each alone (the runs above): ours ${ours.cpuUsPerMessage.toFixed(1)} µs, MQTT.js ${js.cpuUsPerMessage.toFixed(1)} µs. Ours per reading: a virtual DHT pulse train encoded and decoded, the reading written to its offline-buffer file and marked sent on PUBACK (2 file writes), a PUBLISH written; MQTT.js: JSON.stringify of the payload and its publish; neither keeps anything on disk but ours`,
      },
    );
  }

  try {
    const seg = await segments();
    const ours = seg.ours.segments / seg.ours.publishes;
    const peer = seg.mqttjs.segments / seg.mqttjs.publishes;
    results.segments = seg;
    rows.push({
      metric: "TCP segments per state message",
      ours: `${ours.toFixed(2)} (${seg.ours.segments} for ${seg.ours.publishes})`,
      peer: `MQTT.js ${peer.toFixed(2)} (${seg.mqttjs.segments} for ${seg.mqttjs.publishes})`,
      ratio: `${(ours / peer).toFixed(2)}×`,
      goal: ours <= 1.0001 ? "1 ok" : "1 MISSED",
      note: "tshark on lo: client → broker segments with payload while 20 clients publish QoS 1 state, both with TCP_NODELAY",
    });
  } catch (error) {
    rows.push({
      metric: "TCP segments per state message",
      ours: "-",
      peer: "-",
      ratio: "-",
      goal: "not run",
      note: `tshark: ${(error as Error).message.split("\n")[0]} (apt-get install tshark)`,
    });
  }
  return { rows, results };
}
