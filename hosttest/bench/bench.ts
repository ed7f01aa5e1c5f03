/**
 * `npm run bench [-- --json] [-- --fleet]`: our MQTT codec and client against
 * mqtt-packet (the peer), and the DHT decoder, measured in one run. Prints
 * one table, or one JSON object with --json. `--fleet` adds the simulator as
 * a fleet beside MQTT.js and bare sockets (./fleet.ts, a few minutes).
 *
 * Every codec ratio compares equal work, and its row says which:
 * - encode, allocating: both make a new buffer per packet and encode the
 *   topic from a string (ours: `new Uint8Array(publishLength)` +
 *   `writePublish`; mqtt-packet: `generate`);
 * - encode, into a reused buffer: neither allocates its output, both encode
 *   the topic from a string (ours: `writePublish`; mqtt-packet:
 *   `writeToStream` into a stream that copies each chunk into one buffer);
 * - decode: both produce a topic string and a payload view (ours: the
 *   parser, `decodeUtf8` of the topic and a `subarray` of the payload;
 *   mqtt-packet: `parser().parse`, whose packet has both).
 *
 * Ours on Node encodes string topics with the Node adapter's string port
 * (sim/node-ports.ts `nodeStrings`), as the simulator does; the XS rows use
 * the core's own loops.
 *
 * Node throughput: warm-up, then ROUNDS timed rounds of a fixed op count
 * (ours and the peer's taking turns), median ops/s. XS: heap slots and computation per operation (./xs.ts).
 * Wire bytes: what MqttClient writes to a fake socket per state message.
 */
import mqttPacket from "mqtt-packet";
import { nodeStrings } from "../../sim/node-ports";
import { App } from "../../src/app/app";
import { buildConfig } from "../../src/app/config";
import { createDecoded, decode } from "../../src/dht/decoder";
import { encodeBytes, encodeFrame } from "../../src/dht/encode";
import { CAPTURE_ENTRIES } from "../../src/dht/frame";
import { MqttClient } from "../../src/mqtt/client";
import { publishLength, utf8, writePublish } from "../../src/mqtt/codec";
import type { QoS } from "../../src/mqtt/packet";
import { Parser } from "../../src/mqtt/parser";
import { decodeUtf8, useStringPort } from "../../src/utf8";
import { connack, FakeClock, FakeNetwork, FakeSensor, puback, RamFlash, RecordingPin, serve } from "../unit/fakes";
import { benchHistory } from "./history.ts";
import { benchUpdate } from "./sha256.ts";
import { type BenchRow, median } from "./table.ts";
import { type XSOpResult, XSProbe } from "./xs.ts";

// Ours on Node runs as the simulator does: with the Node adapter's string port (Buffer.byteLength and an ASCII loop
// for topics given as strings); the XS rows run the core's own loops, which allocate nothing.
useStringPort(nodeStrings);

const JSON_OUT = process.argv.includes("--json");
const FLEET = process.argv.includes("--fleet");
const TOPIC = "devices/esp32-01/state";
const PAYLOAD = '{"data":{"temp":23.5,"hum":41}}';
const ROUNDS = 7;
const ROUND_MS = 250;

let sink = 0;

/** How many runs of `op` fill one round of ~ROUND_MS (warming it up on the way). */
function calibrate(op: () => void): number {
  let n = 1000;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < n; i++) op();
    const ms = performance.now() - t;
    if (ms > ROUND_MS / 4) return Math.max(1000, Math.floor((n * ROUND_MS) / ms));
    n *= 2;
  }
}

/** ops/s of one timed round of `n` runs of `op`. */
function round(op: () => void, n: number): number {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) op();
  return (n * 1e9) / Number(process.hrtime.bigint() - t);
}

/** ops/s of `op`, median of ROUNDS rounds of ~ROUND_MS each, after a calibrating warm-up. */
function throughput(op: () => void): number {
  const n = calibrate(op);
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) rates.push(round(op, n));
  return median(rates);
}

/**
 * ops/s of `ours` and `peer`, each the median of ROUNDS rounds, the two
 * taking turns (after a warm-up round each): a slow spell of the machine
 * falls on both sides of a ratio rather than on one.
 */
function throughputs(ours: () => void, peer: () => void): [number, number] {
  const n = [calibrate(ours), calibrate(peer)];
  round(ours, n[0]);
  round(peer, n[1]);
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    a.push(round(ours, n[0]));
    b.push(round(peer, n[1]));
  }
  return [median(a), median(b)];
}

// ---------------------------------------------------------------- encode

const topicBytes = utf8(TOPIC);
const payloadBytes = utf8(PAYLOAD);
const payloadBuffer = Buffer.from(PAYLOAD);
const out = new Uint8Array(256);

/** Ours, allocating: a new exact-length buffer per packet, the topic encoded from its string. */
function oursEncodeNew(qos: QoS): () => void {
  return () => {
    const bytes = new Uint8Array(publishLength(TOPIC, payloadBytes.length, qos));
    writePublish(bytes, 0, TOPIC, payloadBytes, qos, false, false, 1);
    sink += bytes[bytes.length - 1];
  };
}

/** Ours, into a reused buffer, the topic encoded from its string (allocation-free on XS too). */
function oursEncodeReused(qos: QoS): () => void {
  return () => {
    const at = writePublish(out, 0, TOPIC, payloadBytes, qos, false, false, 1);
    sink += out[at - 1];
  };
}

/** Ours as the client sends a reading: into a reused buffer, topic bytes cached. */
function oursEncodeCached(qos: QoS): () => void {
  return () => {
    const at = writePublish(out, 0, topicBytes, payloadBytes, qos, false, false, 1);
    sink += out[at - 1];
  };
}

/** The state PUBLISH as mqtt-packet takes it (a Buffer topic is written as given). */
function peerPacket(qos: QoS, topic: string | Buffer = TOPIC): mqttPacket.IPublishPacket {
  return {
    cmd: "publish",
    topic: topic as string,
    payload: payloadBuffer,
    qos,
    retain: false,
    dup: false,
    messageId: 1,
  };
}

function peerGenerate(qos: QoS): () => void {
  const packet = peerPacket(qos);
  return () => {
    sink += mqttPacket.generate(packet).length;
  };
}

/** writeToStream into a stream that copies each chunk into one reused buffer: the packet's bytes in one place, as ours. */
function peerWriteToStream(qos: QoS, topic: string | Buffer = TOPIC): () => void {
  const packet = peerPacket(qos, topic);
  const into = Buffer.alloc(256);
  let at = 0;
  const stream = {
    write(chunk: Buffer | string): boolean {
      at += typeof chunk === "string" ? into.write(chunk, at) : chunk.copy(into, at);
      return true;
    },
  };
  return () => {
    at = 0;
    mqttPacket.writeToStream(packet as mqttPacket.IPublishPacket, stream as unknown as NodeJS.WritableStream);
    sink += into[at - 1];
  };
}

// ---------------------------------------------------------------- decode

function wire(qos: QoS): Uint8Array {
  return new Uint8Array(mqttPacket.generate(peerPacket(qos)));
}

/** Ours: the parser, then what mqtt-packet's packet holds: the topic as a string and a view of the payload. */
function oursDecode(qos: QoS): () => void {
  const bytes = wire(qos);
  const parser = new Parser({
    onPacket: (p) => {
      const topic = decodeUtf8(p.buf, p.topicStart, p.topicEnd)!;
      const payload = p.buf.subarray(p.payloadStart, p.payloadEnd);
      sink += topic.length + payload.length;
    },
    onError: (fault) => {
      throw new Error(fault);
    },
  });
  return () => parser.push(bytes);
}

function peerDecode(qos: QoS): () => void {
  const bytes = Buffer.from(wire(qos));
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  parser.on("packet", (p) => {
    const publish = p as mqttPacket.IPublishPacket;
    sink += publish.topic.length + (publish.payload as Buffer).length;
  });
  parser.on("error", (e: Error) => {
    throw e;
  });
  return () => {
    parser.parse(bytes);
  };
}

// ---------------------------------------------------------------- wire bytes through the real client

function wireBytes(qos: QoS): { bytes: number; writes: number } {
  const clock = new FakeClock(1000);
  const net = new FakeNetwork();
  const client = new MqttClient({ host: "b", port: 1883, clientId: "esp32-01", socket: net.factory, clock });
  client.start();
  const socket = net.last;
  socket.open();
  socket.receive(connack(false, 0));
  const before = socket.written.length;
  client.publish(TOPIC, PAYLOAD, qos);
  const chunks = socket.written.slice(before);
  const packets = socket.take().filter((p) => p.type === 3);
  if (packets.length !== 1 || packets[0].topic !== TOPIC) throw new Error("client did not write one PUBLISH");
  if (qos === 1) socket.receive(puback(packets[0].packetId!));
  return { bytes: chunks.reduce((n, c) => n + c.length, 0), writes: chunks.length };
}

// ---------------------------------------------------------------- DHT on Node

function dhtDecodeOp(): () => void {
  const train = new Uint16Array(CAPTURE_ENTRIES);
  const count = encodeFrame(encodeBytes("dht22", 23.5, 41, new Uint8Array(5)), train, () => 0);
  const d = createDecoded();
  return () => {
    if (decode(train, count, "dht22", d) !== null) throw new Error("decode failed");
    sink += d.temp;
  };
}

// ---------------------------------------------------------------- run

type Row = BenchRow;

const rows: Row[] = [];
const fmt = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M/s` : `${(n / 1e3).toFixed(0)} k/s`);
const results: Record<string, unknown> = {};
const started = performance.now();

const ratio = (a: number, b: number): string => `${(a / b).toFixed(1)}×`;
const atLeast3 = (r: number): string => (r >= 3 ? "≥3× ok" : "≥3× MISSED");
for (const qos of [0, 1] as const) {
  const [ours, peer] = throughputs(oursEncodeNew(qos), peerGenerate(qos));
  results[`encode_new_q${qos}`] = { ours, generate: peer, ratio: ours / peer };
  rows.push({
    metric: `encode PUBLISH q${qos}, new buffer each (Node)`,
    ours: fmt(ours),
    peer: `generate ${fmt(peer)}`,
    ratio: ratio(ours, peer),
    goal: atLeast3(ours / peer),
    note: "equal work: both allocate the packet and encode the topic from a string (ours: the Node adapter's string port, as the simulator runs)",
  });
}
for (const qos of [0, 1] as const) {
  const [ours, peer] = throughputs(oursEncodeReused(qos), peerWriteToStream(qos));
  results[`encode_reused_q${qos}`] = { ours, writeToStream: peer, ratio: ours / peer };
  rows.push({
    metric: `encode PUBLISH q${qos}, reused buffer (Node)`,
    ours: fmt(ours),
    peer: `writeToStream ${fmt(peer)}`,
    ratio: ratio(ours, peer),
    goal: atLeast3(ours / peer),
    note: "equal work: neither allocates its output, both encode the topic from a string into one buffer (ours: the Node adapter's string port)",
  });
}
{
  const [ours, peer] = throughputs(oursEncodeCached(1), peerWriteToStream(1, Buffer.from(TOPIC)));
  results.encode_cached_q1 = { ours, writeToStream: peer, ratio: ours / peer };
  rows.push({
    metric: "encode PUBLISH q1, topic bytes given (Node)",
    ours: fmt(ours),
    peer: `writeToStream ${fmt(peer)}`,
    ratio: ratio(ours, peer),
    goal: atLeast3(ours / peer),
    note: "equal work: both given the topic as bytes (the client's path: a reading's topic is encoded once), reused output",
  });
}
for (const qos of [0, 1] as const) {
  const [ours, peer] = throughputs(oursDecode(qos), peerDecode(qos));
  results[`decode_q${qos}`] = { ours, peer, ratio: ours / peer };
  rows.push({
    metric: `decode PUBLISH q${qos} (Node)`,
    ours: fmt(ours),
    peer: `parser().parse ${fmt(peer)}`,
    ratio: ratio(ours, peer),
    goal: atLeast3(ours / peer),
    note: "equal work: both produce the topic as a string and a view of the payload",
  });
}

for (const qos of [0, 1] as const) {
  const w = wireBytes(qos);
  const min = qos === 0 ? 57 : 59;
  results[`wire_q${qos}`] = { bytes: w.bytes, writes: w.writes, specMinimum: min };
  rows.push({
    metric: `wire bytes state msg q${qos}`,
    ours: `${w.bytes} B in ${w.writes} write${w.writes === 1 ? "" : "s"}`,
    peer: `spec min ${min} B`,
    ratio: `+${w.bytes - min} B`,
    goal: w.bytes === min && w.writes === 1 ? "= min, 1 write ok" : "MISSED",
    note: "bytes and writes MqttClient.publish makes on the socket (one write: one TCP segment)",
  });
}

const dhtNode = throughput(dhtDecodeOp());
results.dht_node = { framesPerSecond: dhtNode, usPerFrame: 1e6 / dhtNode };

/**
 * A day of readings (8,640) at QoS 1 through the app, against a broker that
 * acknowledges at once: published live as they come, or buffered in flash
 * (in RAM here) while offline and then replayed with their capture time.
 * Readings per second, median of 3.
 */
function dayOfReadings(buffered: boolean): number {
  const rates: number[] = [];
  for (let round = 0; round < 3; round++) {
    const clock = new FakeClock(0);
    const net = new FakeNetwork();
    const app = new App(
      buildConfig({ discovery: "off", qos: 1 }).config,
      {
        clock,
        socket: net.factory,
        led: new RecordingPin(),
        sensor: new FakeSensor(),
        log: () => {},
        ...(buffered ? { flash: new RamFlash(4096, 18), wallClock: () => 1764547200000 + clock.now() } : {}),
      },
      { id: "esp32-01", broker: { tls: false, host: "broker", port: 1883 } },
    );
    const reading = app.telemetry.reading.bind(app.telemetry);
    app.start();
    if (buffered) {
      app.hold();
      for (let i = 0; i < 8640; i++) reading(23.5, 41);
      app.resume();
    }
    net.last.open();
    serve(net.last);
    const t = performance.now();
    // The fake socket grants 64 KiB of room at a time: grant it again as the broker reads.
    if (buffered) {
      for (let i = 0; i < 10000 && (app.diagnostics().buffered as number) > 0; i++) {
        net.last.open();
        serve(net.last);
      }
    } else {
      for (let i = 0; i < 8640; i++) {
        reading(23.5, 41);
        if (i % 256 === 0) net.last.open();
        serve(net.last);
      }
    }
    rates.push(8640 / ((performance.now() - t) / 1000));
    if (buffered && (app.diagnostics().buffered as number) !== 0) throw new Error("replay did not finish");
  }
  return median(rates);
}
const replayRate = dayOfReadings(true);
const liveRate = dayOfReadings(false);
results.replay = { readingsPerSecond: replayRate, livePerSecond: liveRate };

const xs = await XSProbe.start();
const xsOps: Record<string, XSOpResult> = {};
try {
  for (const op of [
    "pub0",
    "pub1",
    "pub0pre",
    "pub1pre",
    "rx0",
    "rx1",
    "appState",
    "appBuffered",
    "logAppend",
    "encodeString",
    "dhtRead",
    "dhtDecode",
    "utf8topic",
    "utf8payload",
    "sliceBytes",
    "subarray",
    "object",
    "array",
    "closure",
    "decodeTopic",
    "webState",
    "webLed",
    "webPage",
  ])
    xsOps[op] = await xs.measure(op);
  // Retained per booted device (the probe collects garbage after these): few, each is a whole device.
  for (const op of ["deviceWeb", "deviceNoWeb"]) xsOps[op] = await xs.measure(op, 20, 3, 2);
} finally {
  await xs.close();
}
// The heap slots one connected device keeps (the whole core: app, session, sampler, updater, offline buffer).
const heapProbe = await XSProbe.start(new URL("./xs-heap-probe.ts", import.meta.url).pathname);
try {
  xsOps.appKept = await heapProbe.measure("make", 20, 3, 5);
} finally {
  await heapProbe.close();
}
results.xs = Object.fromEntries(
  Object.entries(xsOps).map(([k, v]) => [
    k,
    { slotsPerOp: v.slotsPerOp, computePerOp: v.computePerOp, n: v.n, rounds: v.rounds },
  ]),
);

const slots = (op: string): string => `${xsOps[op].slotsPerOp.toFixed(1)} slots/op`;
const zero = (op: string): string => (xsOps[op].slotsPerOp < 0.05 ? "0 ok" : "0 MISSED");
const cause = (ops: string[]): string => ops.map((o) => `${o} ${xsOps[o].slotsPerOp.toFixed(0)}`).join(", ");
rows.push(
  {
    metric: "XS publish q0 (string topic+payload)",
    ours: slots("pub0"),
    peer: "-",
    ratio: "-",
    goal: zero("pub0"),
    note: `topic bytes cached; payload encoded into a pooled buffer (for comparison, utf8() allocates: ${cause(["utf8topic", "utf8payload"])})`,
  },
  {
    metric: "XS heap kept by one connected device",
    ours: `${xsOps.appKept.slotsPerOp.toFixed(0)} slots`,
    peer: "1044 slots before this work (same probe on commit 500c19c)",
    ratio: `${(xsOps.appKept.slotsPerOp / 1044).toFixed(2)}×`,
    goal: "-",
    note: `= ${((xsOps.appKept.slotsPerOp * 16) / 1024).toFixed(1)} KiB at 16 B a slot (ESP32); plus buffers: parser 128 B (was 4096), no update buffer until an update (was 2048), 64 B records (were 128)`,
  },
  {
    metric: "XS encode PUBLISH q1, topic from a string",
    ours: slots("encodeString"),
    peer: "-",
    ratio: "-",
    goal: zero("encodeString"),
    note: `writePublish into a reused buffer: the topic read with charCodeAt called on the primitive (boxing it cost 2 slots; utf8() allocates ${xsOps.utf8topic.slotsPerOp.toFixed(0)})`,
  },
  {
    metric: "XS publish q1 (string) + PUBACK",
    ours: slots("pub1"),
    peer: "-",
    ratio: "-",
    goal: zero("pub1"),
    note: "as q0, kept in the pooled record until PUBACK",
  },
  {
    metric: "XS publish q0 (Uint8Array topic+payload)",
    ours: slots("pub0pre"),
    peer: "-",
    ratio: "-",
    goal: zero("pub0pre"),
    note: `written from the caller's bytes; header views cached per length (a fresh subarray costs ${xsOps.subarray.slotsPerOp.toFixed(0)})`,
  },
  {
    metric: "XS publish q1 (Uint8Array) + PUBACK",
    ours: slots("pub1pre"),
    peer: "-",
    ratio: "-",
    goal: zero("pub1pre"),
    note: `payload copied into a pooled record until PUBACK (a fresh copy + record would cost ${xsOps.sliceBytes.slotsPerOp.toFixed(0)} + ${xsOps.object.slotsPerOp.toFixed(0)})`,
  },
  {
    metric: "XS receive PUBLISH q0",
    ours: slots("rx0"),
    peer: "-",
    ratio: "-",
    goal: zero("rx0"),
    note: `payload views of the parser's buffer cached per range; topic string ${xsOps.decodeTopic.slotsPerOp.toFixed(0)} slots (string memory only)`,
  },
  {
    metric: "XS receive PUBLISH q1 (+PUBACK out)",
    ours: slots("rx1"),
    peer: "-",
    ratio: "-",
    goal: zero("rx1"),
    note: "as q0, PUBACK written from a cached view",
  },
  {
    metric: "XS app: reading → state publish (q0)",
    ours: slots("appState"),
    peer: "-",
    ratio: "-",
    goal: zero("appState"),
    note: "payload written into reused bytes (no JSON.stringify), topic bytes cached",
  },
  {
    metric: "XS app: reading → flash → state publish (q0)",
    ours: slots("appBuffered"),
    peer: "-",
    ratio: "-",
    goal: zero("appBuffered"),
    note: "through the offline buffer: 8-byte record written, published live, acknowledged in place (1 byte)",
  },
  {
    metric: "XS reading appended to the offline buffer",
    ours: slots("logAppend"),
    peer: "-",
    ratio: "-",
    goal: zero("logAppend"),
    note: "flash written per reading: 8 B record + 1 B acknowledgement; one 4 KiB erase per 511 readings",
  },
  {
    metric: "replay a day of readings (8,640, q1) vs live",
    ours: `${(replayRate / 1000).toFixed(1)} k/s replayed`,
    peer: `${(liveRate / 1000).toFixed(1)} k/s live`,
    ratio: `${(replayRate / liveRate).toFixed(2)}×`,
    goal: "-",
    note: "Node, app + flash log in RAM + a broker acknowledging at once; at most 4 unacknowledged while replaying",
  },
  {
    metric: "DHT decode per frame",
    ours: `Node ${(1e6 / dhtNode).toFixed(2)} µs; XS ${xsOps.dhtDecode.computePerOp.toFixed(0)} compute`,
    peer: "-",
    ratio: "-",
    goal: "-",
    note: `XS slots/decode ${xsOps.dhtDecode.slotsPerOp.toFixed(1)}`,
  },
  {
    metric: "XS DHT sensor read (capture copy+decode)",
    ours: slots("dhtRead"),
    peer: "-",
    ratio: "-",
    goal: zero("dhtRead"),
    note: `${xsOps.dhtRead.computePerOp.toFixed(0)} compute/read`,
  },
  {
    metric: "XS web: GET /state.json (to the reply)",
    ours: slots("webState"),
    peer: "-",
    ratio: "-",
    goal: "bounded",
    note: "request view, exchange, diag object, the JSON text; garbage once answered",
  },
  {
    metric: "XS web: POST /led (2-byte body)",
    ours: slots("webLed"),
    peer: "-",
    ratio: "-",
    goal: "bounded",
    note: "body buffer sized to its content-length, command parsed, LED published",
  },
  {
    metric: "XS web: GET / (the page)",
    ours: slots("webPage"),
    peer: "-",
    ratio: "-",
    goal: "bounded",
    note: "the page's bytes are a reference (flash on the device), never copied",
  },
  {
    metric: "XS web layer kept while idle",
    ours: `${(xsOps.deviceWeb.slotsPerOp - xsOps.deviceNoWeb.slotsPerOp).toFixed(0)} slots`,
    peer: "-",
    ratio: "-",
    goal: "-",
    note: `a booted device keeps ${xsOps.deviceWeb.slotsPerOp.toFixed(0)} slots with web, ${xsOps.deviceNoWeb.slotsPerOp.toFixed(0)} with web=off (after gc; strings and buffers are chunks, not counted)`,
  },
);

const update = await benchUpdate();
rows.push(...update.rows);
results.update = update.results;

const history = await benchHistory();
rows.push(...history.rows);
results.history = history.results;

if (FLEET) {
  const { benchFleet } = await import("./fleet.ts");
  const fleet = await benchFleet();
  rows.push(...fleet.rows);
  results.fleet = fleet.results;
}

const seconds = (performance.now() - started) / 1000;
results.seconds = seconds;
if (sink === 42.4242) console.log(""); // keeps the work observable

if (JSON_OUT) {
  console.log(JSON.stringify({ rows, results }, null, 2));
} else {
  const cols: (keyof Row)[] = ["metric", "ours", "peer", "ratio", "goal", "note"];
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(width[i])).join(" | ")} |`;
  console.log(line(cols));
  console.log(`|${width.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const r of rows) console.log(line(cols.map((c) => r[c])));
  console.log(
    `\n${ROUNDS} rounds per Node figure (median); XS: 5 rounds, Δ currentHeapCount vs n=0 after gc(); ${seconds.toFixed(1)} s total`,
  );
}
