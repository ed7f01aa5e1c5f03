/**
 * Chaos scenarios: the simulator's real command line (`--sequence`, so every
 * reading carries its number) against mosquitto, a fault proxy or a hostile
 * broker, all on loopback. Each scenario injects its faults, heals them, waits
 * for the device to settle, and counts: produced = delivered + dropped (+ lost,
 * which must be 0), duplicates, order, reconnect delays, memory before and
 * after, and the errors the device reported. Every loop is bounded.
 *
 * Used by hosttest/chaos.test.ts (short runs inside `npm test`) and by
 * hosttest/tools/chaos.ts (`npm run chaos`, long runs).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { WIFI_OUTAGE_MS } from "../../sim/device";
import { sequenceNumber } from "../../sim/virtual-dht";
import { type Hostility, startHostileBroker } from "./hostile-broker";
import { freePort, type Mosquitto, startPersistentMosquitto } from "./mosquitto";
import { connectPeer, type Peer } from "./peer";
import { type ProxyMode, startProxy, type Tap } from "./proxy";
import { runSim, type SimProcess } from "./sim";

export interface Outcome {
  scenario: string;
  seconds: number;
  produced: number;
  delivered: number;
  dropped: number;
  /** Readings neither delivered nor counted as dropped, that the broker never acknowledged: the device's fault. */
  lost: number;
  /** Readings the broker acknowledged (PUBACK seen on the wire) and then never delivered: the broker's loss. */
  brokerLost: number;
  duplicates: number;
  outOfOrder: number;
  connections: number;
  /** Longest time from a disconnect to the next connect, ms. */
  maxReconnectMs: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  /** The simulator process was still running when the scenario ended. */
  alive: boolean;
  /** Why connections ended or attempts failed, as the device traced it, with counts. */
  reasons: Record<string, number>;
  errors: Record<string, number>;
  notes: string[];
  /** False where nothing can be delivered (a hostile broker): delivered and lost mean nothing. */
  counted: boolean;
  /** The device's last trace lines (status lines left out), for a failure message. */
  trace: string[];
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Watches a proxy's traffic: the device's QoS 1 state PUBLISH packets and the
 * broker's PUBACKs, so that a reading the broker acknowledged and then lost
 * is told apart from one the device lost.
 */
export class AckTap {
  /** Sequence numbers of readings the broker acknowledged. */
  readonly acknowledged = new Set<number>();
  private readonly rest = new Map<string, Buffer>();
  private readonly inflight = new Map<number, Map<number, number>>();

  readonly tap: Tap = (connection, direction, chunk) => {
    const key = `${connection} ${direction}`;
    let buf = Buffer.concat([this.rest.get(key) ?? Buffer.alloc(0), chunk]);
    for (;;) {
      let length = 0;
      let i = 1;
      for (let multiplier = 1; i < 5 && i < buf.length; i++, multiplier *= 128) {
        length += (buf[i] & 127) * multiplier;
        if (!(buf[i] & 128)) break;
      }
      if (buf.length < 2 || i >= buf.length || buf.length < i + 1 + length) break;
      this.packet(connection, direction, buf[0], buf.subarray(i + 1, i + 1 + length));
      buf = buf.subarray(i + 1 + length);
    }
    this.rest.set(key, buf);
  };

  private packet(connection: number, direction: "up" | "down", first: number, body: Buffer): void {
    const ids = this.inflight.get(connection) ?? new Map<number, number>();
    this.inflight.set(connection, ids);
    if (direction === "up" && first >> 4 === 3 && ((first >> 1) & 3) === 1) {
      const topicLength = body.readUInt16BE(0);
      if (
        !body
          .subarray(2, 2 + topicLength)
          .toString()
          .endsWith("/state")
      )
        return;
      const { data } = JSON.parse(body.subarray(4 + topicLength).toString()) as { data: { temp: number; hum: number } };
      ids.set(body.readUInt16BE(2 + topicLength), sequenceNumber(data.temp, data.hum));
    } else if (direction === "down" && first >> 4 === 4) {
      const n = ids.get(body.readUInt16BE(0));
      if (n !== undefined) this.acknowledged.add(n);
    }
  }
}

/** mosquitto with persistence saved after every change, so a SIGKILL loses nothing it acknowledged. */
export function persistentMosquitto(): Promise<Mosquitto> {
  return startPersistentMosquitto([
    "autosave_interval 1",
    "autosave_on_changes true",
    "max_queued_messages 100000",
    "max_inflight_messages 1000",
    "set_tcp_nodelay true",
  ]);
}

function rssMiB(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : 0;
  } catch {
    return 0;
  }
}

/** A simulator under test, with its output timed, and a peer counting what it publishes. */
export class Subject {
  readonly lines: { at: number; text: string }[] = [];
  sim!: SimProcess;
  private connectedPeer: Peer | undefined;
  get peer(): Peer {
    if (!this.connectedPeer) throw new Error("no peer");
    return this.connectedPeer;
  }
  private consumed = 0;
  /** Index of the first peer message of the current life of the process. */
  private lifeStart = 0;
  readonly data = fs.mkdtempSync(path.join(os.tmpdir(), "chaos-sim-"));
  readonly started = Date.now();
  rssBefore = 0;

  constructor(
    readonly id: string,
    readonly brokerUrl: string,
    readonly peerUrl: string,
    readonly extra: string[] = [],
  ) {}

  async start(): Promise<void> {
    this.launch();
    this.connectedPeer = await connectPeer(this.peerUrl, [`devices/${this.id}/#`], {
      clientId: `chaos-peer-${this.id}`,
      clean: false,
      reconnectPeriod: 200,
    });
    await this.sim.waitFor("mqtt: connected", 20000);
    // The device's SUBSCRIBE went out before its `online` (one connection keeps order): once the peer
    // has `online`, a command it publishes reaches the device. The log line alone can come first.
    await this.peer.next(`devices/${this.id}/status`, (m) => m.text === "online", 10000);
  }

  /** Starts the simulator process (again: a restarted device counts its readings from 1, so counting starts over). */
  launch(): void {
    this.lifeStart = this.connectedPeer ? this.connectedPeer.messages.length : 0;
    this.sim = runSim([
      "--broker",
      this.brokerUrl,
      "--id",
      this.id,
      "--sequence",
      "--interval",
      "1000",
      "--http",
      "0",
      "--data",
      this.data,
      ...this.extra,
    ]);
    this.consumed = 0;
    this.sim.child.stdout!.on("data", () => this.collect());
    this.sim.child.stderr!.on("data", () => this.collect());
  }

  private collect(): void {
    const out = this.sim.output();
    const now = Date.now();
    let nl = out.indexOf("\n", this.consumed);
    while (nl >= 0) {
      this.lines.push({ at: now, text: out.slice(this.consumed, nl) });
      this.consumed = nl + 1;
      nl = out.indexOf("\n", this.consumed);
    }
  }

  /** The latest status line's counter `name` (e.g. `sent`, `dropped`). */
  status(name: string): number {
    for (let i = this.lines.length - 1; i >= 0; i--) {
      const m = new RegExp(`\\| ${name} (\\d+)`).exec(this.lines[i].text);
      if (m) return Number(m[1]);
    }
    return 0;
  }

  sequences(): number[] {
    const out: number[] = [];
    if (!this.connectedPeer) return out;
    for (const m of this.peer.messages.slice(this.lifeStart)) {
      if (m.topic !== `devices/${this.id}/state`) continue;
      const body = JSON.parse(m.text) as { data: { temp: number; hum: number } };
      out.push(sequenceNumber(body.data.temp, body.data.hum));
    }
    return out;
  }

  errors(): Record<string, number> {
    const counts: Record<string, number> = {};
    if (!this.connectedPeer) return counts;
    for (const m of this.peer.on(`devices/${this.id}/error`)) {
      const code = (JSON.parse(m.text) as { error: string }).error;
      counts[code] = (counts[code] ?? 0) + 1;
    }
    return counts;
  }

  markMemory(): void {
    this.rssBefore = rssMiB(this.sim.child.pid);
  }

  /** Waits (bounded) until every reading produced so far was delivered or counted as dropped. */
  async settle(ms = 30000): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const produced = this.status("sent");
      const seen = new Set(this.sequences());
      let missing = 0;
      for (let n = 1; n <= produced; n++) if (!seen.has(n)) missing++;
      if (produced > 0 && missing <= this.status("dropped") && this.status("queued") === 0) return;
      await sleep(250);
    }
  }

  /** Counts the outcome; `acknowledged`: readings the broker is known to have acknowledged (see AckTap). */
  outcome(scenario: string, notes: string[] = [], acknowledged?: Set<number>): Outcome {
    const produced = this.status("sent");
    const dropped = this.status("dropped");
    const sequences = this.sequences();
    const seen = new Set<number>();
    let duplicates = 0;
    let outOfOrder = 0;
    let last = 0;
    for (const n of sequences) {
      if (seen.has(n)) duplicates++;
      else if (n < last) outOfOrder++;
      seen.add(n);
      if (n > last) last = n;
    }
    let delivered = 0;
    let brokerLost = 0;
    for (let n = 1; n <= produced; n++) {
      if (seen.has(n)) delivered++;
      else if (acknowledged?.has(n)) brokerLost++;
    }
    let connections = 0;
    let maxReconnectMs = 0;
    let downAt = -1;
    const reasons: Record<string, number> = {};
    for (const line of this.lines) {
      const why = /mqtt: disconnected \((.*)\); retrying/.exec(line.text);
      if (why) {
        const reason = why[1].replace(/\d+\.\d+\.\d+\.\d+:\d+/g, "broker").replace(/\d+/g, "N");
        reasons[reason] = (reasons[reason] ?? 0) + 1;
      }
      if (line.text.includes("mqtt: connected as")) {
        connections++;
        if (downAt >= 0) maxReconnectMs = Math.max(maxReconnectMs, line.at - downAt);
        downAt = -1;
      } else if (line.text.includes("mqtt: disconnected") && downAt < 0) downAt = line.at;
    }
    return {
      scenario,
      seconds: Math.round((Date.now() - this.started) / 1000),
      produced,
      delivered,
      dropped,
      lost: produced - delivered - dropped - brokerLost,
      brokerLost,
      duplicates,
      outOfOrder,
      connections,
      maxReconnectMs,
      rssBeforeMiB: this.rssBefore,
      rssAfterMiB: rssMiB(this.sim.child.pid),
      alive: this.sim.child.exitCode === null && this.sim.child.signalCode === null,
      reasons,
      errors: this.errors(),
      notes,
      counted: this.connectedPeer !== undefined,
      trace: this.lines
        .filter((l) => !l.text.includes(" | "))
        .slice(-40)
        .map((l) => `${new Date(l.at).toISOString().slice(11, 23)} ${l.text}`),
    };
  }

  async stop(): Promise<void> {
    if (this.sim.child.exitCode === null) {
      this.sim.child.kill("SIGTERM");
      await Promise.race([this.sim.exited, sleep(5000)]);
      if (this.sim.child.exitCode === null) this.sim.child.kill("SIGKILL");
    }
    await this.connectedPeer?.end().catch(() => {});
    fs.rmSync(this.data, { recursive: true, force: true });
  }
}

/** mosquitto SIGKILLed and restarted `kills` times while the device publishes at QoS 1. */
export async function brokerKills(kills: number, upMs = 2500): Promise<Outcome> {
  const broker = await persistentMosquitto();
  const url = `mqtt://127.0.0.1:${broker.port}`;
  // The device reaches the broker through a proxy that only watches (AckTap).
  const watch = new AckTap();
  const proxy = await startProxy({ host: "127.0.0.1", port: broker.port }, { tap: watch.tap });
  const s = new Subject("chaos-kill", `mqtt://127.0.0.1:${proxy.port}`, url, ["--qos", "1", "--keepalive", "5"]);
  try {
    await s.start();
    await sleep(1500);
    s.markMemory();
    for (let i = 0; i < kills; i++) {
      await broker.stop(true);
      await sleep(200 + Math.floor(Math.random() * 800));
      await broker.restart();
      await sleep(upMs);
    }
    await s.settle();
    return s.outcome(`mosquitto SIGKILLed and restarted ×${kills}`, [], watch.acknowledged);
  } finally {
    await s.stop();
    await proxy.close();
    await broker.stop();
  }
}

/**
 * The broker away for `seconds` (longer than the RAM queue lasts): the
 * readings wait in the offline buffer and are replayed, oldest first, with
 * their capture time. `timed` counts the replayed ones.
 */
export async function brokerOutage(seconds: number): Promise<Outcome & { timed: number }> {
  const broker = await persistentMosquitto();
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const s = new Subject("chaos-outage", url, url, ["--qos", "1", "--keepalive", "5"]);
  try {
    await s.start();
    await sleep(3000);
    s.markMemory();
    await broker.stop();
    await sleep(seconds * 1000);
    await broker.restart();
    await s.settle(60000);
    const timed = s.peer.on(`devices/${s.id}/state`).filter((m) => m.text.startsWith('{"time":')).length;
    return { ...s.outcome(`broker away for ${seconds} s`), timed };
  } finally {
    await s.stop();
    await broker.stop();
  }
}

/**
 * The simulator SIGKILLed in the middle of a broker outage and started again
 * while the broker is still away: the readings of both lives wait in flash
 * and arrive, in capture order, with their capture time. `slots` are the
 * capture times of the replayed readings (Unix ms), `gaps` between them.
 */
export async function outageRestart(
  outageMs = 20000,
): Promise<{ timed: number; inOrder: boolean; gaps: number[]; restartMs: number; alive: boolean; trace: string[] }> {
  const broker = await persistentMosquitto();
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const s = new Subject("chaos-outage-restart", url, url, ["--qos", "1", "--keepalive", "5"]);
  try {
    await s.start();
    await sleep(3000);
    await broker.stop();
    await sleep(outageMs / 2);
    const killedAt = Date.now();
    s.sim.child.kill("SIGKILL");
    await s.sim.exited;
    const from = s.peer.messages.length;
    s.launch();
    // How long the device was away: from the kill until the new process is up (slower on a loaded machine).
    await s.sim.waitFor("data: resuming from", 20000);
    const restartMs = Date.now() - killedAt;
    await s.sim.waitFor("readings wait in the offline buffer", 20000);
    await sleep(outageMs / 2);
    await broker.restart();
    await s.sim.waitFor(/mqtt: connected as/, 30000);
    await sleep(8000);
    const times = s.peer.messages
      .slice(from)
      .filter((m) => m.topic === `devices/${s.id}/state`)
      .map((m) => (JSON.parse(m.text) as { time?: number }).time ?? 0)
      .filter((t) => t > 0);
    const gaps: number[] = [];
    let inOrder = true;
    for (let i = 1; i < times.length; i++) {
      gaps.push(times[i] - times[i - 1]);
      if (times[i] <= times[i - 1]) inOrder = false;
    }
    const o = s.outcome("outage restart");
    return { timed: times.length, inOrder, gaps, restartMs, alive: o.alive, trace: o.trace };
  } finally {
    await s.stop();
    await broker.stop();
  }
}

/**
 * A TCP proxy that stalls, holds a half-open connection, flips bytes and
 * truncates: each fault for `faultMs`, then `healMs` of a good link; after each
 * round, `restMs` more (a link good for over a minute lets the backoff start over).
 */
export async function proxyFaults(rounds: number, faultMs = 6000, healMs = 2000, restMs = 0): Promise<Outcome> {
  const broker = await persistentMosquitto();
  const proxy = await startProxy({ host: "127.0.0.1", port: broker.port }, { flipEvery: 40 });
  const s = new Subject("chaos-proxy", `mqtt://127.0.0.1:${proxy.port}`, `mqtt://127.0.0.1:${broker.port}`, [
    "--qos",
    "1",
    "--keepalive",
    "5",
  ]);
  const modes: ProxyMode[] = ["stall", "blackhole", "flip", "truncate"];
  try {
    await s.start();
    await sleep(1500);
    s.markMemory();
    for (let i = 0; i < rounds; i++) {
      for (const mode of modes) {
        proxy.setMode(mode);
        await sleep(faultMs);
        proxy.setMode("pass");
        if (mode !== "stall") proxy.cutAll(); // a half-open or silent link is left to the device to notice; the next attempt goes through
        await sleep(healMs);
      }
      await sleep(restMs);
    }
    await s.settle();
    return s.outcome(`proxy: stall, half-open, bit flips, truncation ×${rounds}`);
  } finally {
    await s.stop();
    await proxy.close();
    await broker.stop();
  }
}

/**
 * Virtual Wi-Fi drops every `periodS` seconds (5 s outages) for `seconds`,
 * through the simulator's controls (`POST /api/sim/device`), then none: a
 * device whose attempts kept landing in outages may be waiting out a backoff
 * of up to 60 s when the last one ends, so the count waits that long.
 */
export async function wifiDrops(seconds: number, periodS = 10): Promise<Outcome> {
  const broker = await persistentMosquitto();
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const http = await freePort();
  const s = new Subject("chaos-wifi", url, url, ["--qos", "1", "--http", String(http)]);
  const wifi = async (state: "drop" | "restore") => {
    const answer = await fetch(`http://127.0.0.1:${http}/api/sim/device`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: s.id, wifi: state }),
    });
    if (answer.status !== 200) throw new Error(`wifi ${state}: ${answer.status} ${await answer.text()}`);
  };
  try {
    await s.start();
    s.markMemory();
    const end = Date.now() + seconds * 1000;
    const connections = () => s.lines.filter((line) => line.text.includes("mqtt: connected as")).length;
    let drops = 0;
    while (Date.now() + periodS * 1000 <= end) {
      await sleep(periodS * 1000 - WIFI_OUTAGE_MS);
      // Each drop finds the device back from the last one: its Wi-Fi backoff (full jitter, doubling from 1 s)
      // can take longer than the rest of the period, on a loaded machine, and a drop while it is away changes nothing.
      for (const until = Date.now() + 30000; connections() <= drops && Date.now() < until; ) await sleep(100);
      await wifi("drop");
      drops++;
      await sleep(WIFI_OUTAGE_MS);
      await wifi("restore");
    }
    await sleep(Math.max(0, end - Date.now()));
    await s.settle(75_000);
    return s.outcome(`virtual Wi-Fi dropped every ${periodS} s for ${seconds} s`);
  } finally {
    await s.stop();
    await broker.stop();
  }
}

/** QoS 0 at keepalive 5 s for `seconds`: one connection throughout. */
export async function qos0Keepalive(seconds: number): Promise<Outcome> {
  const broker = await persistentMosquitto();
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const s = new Subject("chaos-qos0", url, url, ["--qos", "0", "--keepalive", "5"]);
  try {
    await s.start();
    s.markMemory();
    await sleep(seconds * 1000);
    await s.settle(5000);
    return s.outcome(`QoS 0 at keepalive 5 s for ${seconds} s`);
  } finally {
    await s.stop();
    await broker.stop();
  }
}

/** The simulator SIGKILLed and restarted: the LED comes back, a TOGGLE sent while it was down is applied. */
export async function simKills(kills: number): Promise<Outcome & { ledChecks: number }> {
  const broker = await persistentMosquitto();
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const s = new Subject("chaos-restart", url, url, ["--qos", "1"]);
  const base = `devices/${s.id}`;
  let ledChecks = 0;
  try {
    await s.start();
    s.markMemory();
    let from = s.peer.messages.length;
    await s.peer.publish(`${base}/led/set`, "ON", 1);
    let led = (await s.peer.next(`${base}/led`, (m) => m.text === "ON", 5000, from)).text;
    for (let i = 0; i < kills; i++) {
      s.sim.child.kill("SIGKILL");
      await s.sim.exited;
      // While it is down: a TOGGLE, kept for it by its persistent session.
      await s.peer.publish(`${base}/led/set`, "TOGGLE", 1);
      const expected = led === "ON" ? "OFF" : "ON";
      from = s.peer.messages.length;
      s.launch();
      await s.sim.waitFor(`store: restored led ${led}`, 20000);
      led = (await s.peer.next(`${base}/led`, (m) => m.text === expected, 10000, from)).text;
      ledChecks++;
    }
    return {
      ...s.outcome(`simulator SIGKILLed and restarted ×${kills}`, ["produced counts the last life only"]),
      ledChecks,
    };
  } finally {
    await s.stop();
    await broker.stop();
  }
}

/** Garbage and oversized payloads on led/set and config/set, retained and not: one error each, no reconnect. */
export async function garbage(): Promise<Outcome & { expectedErrors: number }> {
  const broker = await persistentMosquitto();
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const s = new Subject("chaos-garbage", url, url, ["--qos", "1"]);
  const base = `devices/${s.id}`;
  const payloads: (string | Uint8Array)[] = [
    "blink",
    "{",
    "null",
    '{"state":7}',
    new Uint8Array([0xff, 0xfe]),
    "x".repeat(2000),
    "y".repeat(10240),
    "z".repeat(70000),
  ];
  let expectedErrors = 0;
  try {
    await s.start();
    s.markMemory();
    for (const topic of [`${base}/led/set`, `${base}/config/set`]) {
      for (const payload of payloads) {
        await s.peer.publish(topic, payload, 1, false);
        expectedErrors++;
      }
    }
    // A retained 10 KiB command: one error per connection, never a reconnect loop.
    await s.peer.publish(`${base}/led/set`, "r".repeat(10240), 1, true);
    expectedErrors++;
    await sleep(3000);
    s.sim.child.kill("SIGKILL");
    await s.sim.exited;
    s.launch();
    await s.sim.waitFor("mqtt: connected", 20000);
    expectedErrors++;
    await sleep(5000);
    await s.peer.publish(`${base}/led/set`, "", 1, true); // clears it; delivered too, as an empty command
    expectedErrors++;
    const until = Date.now() + 10000;
    while ((s.errors()["bad-command"] ?? 0) < expectedErrors && Date.now() < until) await sleep(100);
    await sleep(1000); // and no more than that
    await s.settle(5000);
    return { ...s.outcome("garbage and oversized payloads, retained and not"), expectedErrors };
  } finally {
    await s.stop();
    await broker.stop();
  }
}

/** A hostile broker, one kind of hostility per connection, `rounds` connections: the backoff never collapses. */
export async function hostile(rounds: number): Promise<Outcome & { waits: number[] }> {
  const kinds: Hostility[] = [
    "bad-connack",
    "long-length",
    "wildcard-topic",
    "packet-id-0",
    "type-0",
    "type-15",
    "truncated",
    "no-pingresp",
    "refuse",
    "refuse",
    "silent",
  ];
  const broker = await startHostileBroker(kinds[0]);
  const url = `mqtt://127.0.0.1:${broker.port}`;
  // QoS 0: nothing the broker acknowledges keeps the line busy, so a broker that never answers PINGREQ is found out.
  const s = new Subject("chaos-hostile", url, url, ["--qos", "0", "--keepalive", "5"]);
  try {
    s.launch();
    // The simulator's first connection only checks that the broker answers at all; the device's come after it.
    const until = Date.now() + 20 * 60 * 1000;
    while (broker.connects.length < 2 && Date.now() < until) await sleep(50);
    s.markMemory();
    while (broker.connects.length < rounds + 1 && Date.now() < until) {
      const n = broker.connects.length;
      broker.setHostility(kinds[(n - 1) % kinds.length]);
      while (broker.connects.length === n && Date.now() < until) await sleep(50);
    }
    const waits: number[] = [];
    for (let i = 2; i < broker.connects.length; i++) waits.push(broker.connects[i] - broker.connects[i - 1]);
    const out = s.outcome(`hostile broker, ${rounds} connections (nothing can be delivered)`, [
      `waits between attempts ${waits.map((w) => (w / 1000).toFixed(1)).join(", ")} s`,
    ]);
    return { ...out, waits };
  } finally {
    await s.stop();
    await broker.close();
  }
}

/**
 * What every scenario with a working broker must show: nothing lost, nothing
 * dropped inside the queue bound, capture order kept, reconnects within
 * `maxReconnectMs`, memory back to its level, no queue overflow. Returns the
 * problems found (none: passed).
 */
export function problems(o: Outcome, maxReconnectMs: number): string[] {
  const found: string[] = [];
  if (!o.alive) found.push("the simulator process died");
  if (o.produced === 0) found.push("produced nothing");
  if (o.lost !== 0) found.push(`${o.lost} readings lost`);
  if (o.dropped !== 0) found.push(`${o.dropped} readings dropped inside the queue bound`);
  if (o.outOfOrder !== 0) found.push(`${o.outOfOrder} readings out of order`);
  if (o.maxReconnectMs > maxReconnectMs)
    found.push(`a reconnect took ${o.maxReconnectMs} ms (bound ${maxReconnectMs})`);
  if (o.rssAfterMiB > o.rssBeforeMiB * 1.5 + 20) found.push(`RSS grew ${o.rssBeforeMiB} → ${o.rssAfterMiB} MiB`);
  if (o.errors["queue-full"]) found.push(`${o.errors["queue-full"]} queue-full errors`);
  return found.map((p) => `${o.scenario}: ${p}`);
}

/** The hostile broker's waits never fall below half of the growing ceiling (0.5, 1, 2, 4 … 30 s), with 10 % for timers. */
export function collapsed(waits: number[]): string[] {
  const found: string[] = [];
  waits.forEach((wait, i) => {
    const floor = 0.9 * Math.min(30000, 500 * 2 ** i);
    if (wait < floor)
      found.push(`hostile broker: wait ${i + 1} was ${wait} ms, below ${floor} (waits ${waits.join(", ")})`);
  });
  return found;
}

export function table(outcomes: Outcome[]): string {
  const head = [
    "scenario",
    "s",
    "produced",
    "delivered",
    "dropped",
    "lost",
    "lost by the broker",
    "dups",
    "out of order",
    "connections",
    "max reconnect s",
    "RSS MiB before → after",
    "errors",
  ];
  const rows = outcomes.map((o) => [
    o.scenario,
    String(o.seconds),
    String(o.produced),
    o.counted ? String(o.delivered) : "-",
    String(o.dropped),
    o.counted ? String(o.lost) : "-",
    String(o.brokerLost),
    String(o.duplicates),
    String(o.outOfOrder),
    String(o.connections),
    (o.maxReconnectMs / 1000).toFixed(1),
    `${o.rssBeforeMiB} → ${o.rssAfterMiB}`,
    Object.entries(o.errors)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ") || "-",
  ]);
  return [head, head.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
}
