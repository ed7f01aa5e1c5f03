/**
 * Runs inside XS (bundled by bench.ts with bundleModule): a connected
 * MqttClient over a lean fake socket, a DHT sensor over a replaying capture,
 * and the single operations whose allocations explain the client's. Sets
 * `globalThis.handleCommand("<op> <n>")`, which runs the op n times and
 * replies with a short text (e.g. bytes written), so the host can take
 * currentHeapCount / compute deltas against n = 0.
 *
 * The fake socket allocates nothing: writes only count bytes and remember the
 * last chunk; reads copy from one prepared buffer.
 */

import { App, type AppPorts } from "../../src/app/app";
import { buildConfig } from "../../src/app/config";
import { boot, type Device } from "../../src/boot";
import { createDecoded, decode } from "../../src/dht/decoder";
import { encodeBytes, encodeFrame } from "../../src/dht/encode";
import { CAPTURE_ENTRIES } from "../../src/dht/frame";
import { createDhtSensor } from "../../src/dht/sensor";
import { MqttClient } from "../../src/mqtt/client";
import { utf8, writePublish } from "../../src/mqtt/codec";
import type { HttpReply, HttpRequest, HttpServerOptions, Socket, SocketOptions, WiFiPort } from "../../src/ports";
import { ReadingLog } from "../../src/store/readings";
import { decodeUtf8 } from "../../src/utf8";
import { connack, FakeClock, publishPacket, RamFlash } from "../unit/fakes";

const TOPIC = "devices/esp32-01/state";
const PAYLOAD = '{"data":{"temp":23.5,"hum":41}}';

class LeanSocket implements Socket {
  options: SocketOptions;
  bytesWritten = 0;
  writes = 0;
  last: Uint8Array = new Uint8Array(0);
  inbox: Uint8Array = new Uint8Array(0);
  inboxAt = 0;
  constructor(options: SocketOptions) {
    this.options = options;
  }
  read(into: Uint8Array): number {
    const src = this.inbox;
    let n = 0;
    while (n < into.length && this.inboxAt < src.length) into[n++] = src[this.inboxAt++];
    return n;
  }
  write(bytes: Uint8Array): void {
    this.bytesWritten += bytes.length;
    this.writes++;
    this.last = bytes;
  }
  close(): void {}
  /** The broker sends `bytes` (not copied). */
  feed(bytes: Uint8Array): void {
    this.inbox = bytes;
    this.inboxAt = 0;
    this.options.onReadable(bytes.length);
  }
}

const clock = new FakeClock(1000);
let socket: LeanSocket | undefined;
let received = 0;
const client = new MqttClient(
  {
    host: "broker",
    port: 1883,
    clientId: "esp32-01",
    keepalive: 0,
    socket: (o) => (socket = new LeanSocket(o)),
    clock,
  },
  { onMessage: (_topic, payload) => void (received += payload.length + payload[0]) },
);
client.start();
const sock = socket as unknown as LeanSocket;
sock.options.onWritable(1 << 30);
sock.feed(connack(false, 0));
if (client.state !== "connected") throw new Error(`probe: client not connected: ${client.lastError}`);

const topicBytes = utf8(TOPIC);
const payloadBytes = utf8(PAYLOAD);
const puback = new Uint8Array([0x40, 2, 0, 0]);
const rx0 = publishPacket("devices/esp32-01/led/set", "on", { qos: 0 });
const rx1 = publishPacket("devices/esp32-01/led/set", "on", { qos: 1, id: 7 });
const scratch = new Uint8Array(128);

function pub(qos: 0 | 1, pre: boolean): void {
  const ok = pre ? client.publish(topicBytes, payloadBytes, qos) : client.publish(TOPIC, PAYLOAD, qos);
  if (!ok) throw new Error("publish refused");
  if (qos === 1) {
    // The PUBLISH is one write: the packet id follows the topic (a 1-byte Remaining Length here).
    const h = lastHeader;
    const idAt = 4 + ((h[2] << 8) | h[3]);
    puback[2] = h[idAt];
    puback[3] = h[idAt + 1];
    sock.feed(puback);
  }
}
let lastHeader: Uint8Array = new Uint8Array(0);
const write = sock.write.bind(sock);
sock.write = (bytes: Uint8Array): void => {
  if (bytes[0] >> 4 === 3) lastHeader = bytes;
  write(bytes);
};

// DHT
const frameBytes = encodeBytes("dht22", 23.5, 41, new Uint8Array(5));
const train = new Uint16Array(CAPTURE_ENTRIES);
const trainCount = encodeFrame(frameBytes, train, () => 0);
const sensor = createDhtSensor(
  {
    capture(_startLowUs: number, out: Uint16Array): number {
      for (let i = 0; i < trainCount; i++) out[i] = train[i];
      return trainCount;
    },
  },
  "dht22",
);
const decoded = createDecoded();

/** A connected app (QoS 0) over its own lean socket; returns its reading path. */
function connectedApp(extra: Partial<AppPorts>): (temp: number, hum: number) => void {
  let socket: LeanSocket | undefined;
  const app = new App(
    buildConfig({ qos: 0, discovery: "off" }).config,
    { clock, socket: (o) => (socket = new LeanSocket(o)), led: { write() {} }, sensor, log: () => {}, ...extra },
    { id: "esp32-01", broker: { tls: false, host: "broker", port: 1883 } },
  );
  app.start();
  socket!.options.onWritable(1 << 30);
  socket!.feed(connack(false, 0));
  if (!app.client.connected) throw new Error("probe: app not connected");
  return app.telemetry.reading.bind(app.telemetry);
}

// The app's telemetry path: a fresh reading → state payload → publish (QoS 0).
const appReading = connectedApp({});
// The same path through the offline buffer (flash in RAM): written to flash, published live, acknowledged.
const bufReading = connectedApp({ flash: new RamFlash(4096, 18), wallClock: () => 1764547200000 });
// A reading appended to the log while offline.
const log = new ReadingLog(new RamFlash(4096, 18));

// The device's web layer: devices booted with a fake HTTP server port (Wi-Fi never up, so no MQTT).
const quietWiFi: WiFiPort = { onEvent: undefined, connect() {}, disconnect() {}, rssi: () => undefined };
// The page's size (npm run page); its bytes are never copied, so only the length matters here.
const PAGE = { html: new Uint8Array(12927), gzip: new Uint8Array(5088) };
let webServer: HttpServerOptions | undefined;
function bootDevice(web: boolean): Device {
  const { config } = buildConfig({
    ssid: "net",
    broker: "mqtt://broker",
    discovery: "off",
    web: web ? 80 : "off",
    buffer: 0,
  });
  return boot(
    config,
    [],
    {
      clock,
      socket: (o) => new LeanSocket(o),
      wifi: quietWiFi,
      log: () => {},
      led: () => ({ write() {} }),
      capture: () => ({ capture: () => 0 }),
      http: (o) => {
        webServer = o;
        return { close() {} };
      },
      page: PAGE,
    },
    { board: "probe", defaultId: () => "esp32-01", needsSsid: true },
  );
}
bootDevice(true);
const server = webServer as unknown as HttpServerOptions;
const getHeaders: Record<string, string> = { host: "esp32-01.local", "accept-encoding": "gzip, deflate" };
const postHeaders: Record<string, string> = {
  host: "esp32-01.local",
  "content-length": "2",
  "content-type": "text/plain",
};
const getHeader = (name: string): string | undefined => getHeaders[name];
const postHeader = (name: string): string | undefined => postHeaders[name];
const getState: HttpRequest = { method: "GET", target: "/state.json", headerCount: 2, header: getHeader };
const getPage: HttpRequest = { method: "GET", target: "/", headerCount: 2, header: getHeader };
const postLed: HttpRequest = { method: "POST", target: "/led", headerCount: 3, header: postHeader };
/** ON and OFF ("0 "), two bytes each as the content-length says. */
const ledBodies = [utf8("ON"), utf8("0 ")];
let replied: HttpReply | undefined;
const keepReply = (reply: HttpReply): void => {
  replied = reply;
};
let ledTurn = 0;
function serve(request: HttpRequest, body?: Uint8Array): void {
  const exchange = server.onRequest(request);
  if (body) exchange.body(body);
  exchange.end(keepReply);
  if (replied?.status !== 200)
    throw new Error(`web: ${replied ? `${replied.status} ${String(replied.body)}` : "no reply"}`);
  replied = undefined;
}
const kept: Device[] = [];

const ops: Record<string, () => void> = {
  webState: () => serve(getState),
  webPage: () => serve(getPage),
  webLed: () => serve(postLed, ledBodies[ledTurn++ & 1]),
  deviceWeb: () => void kept.push(bootDevice(true)),
  deviceNoWeb: () => void kept.push(bootDevice(false)),
  pub0: () => pub(0, false),
  pub1: () => pub(1, false),
  pub0pre: () => pub(0, true),
  pub1pre: () => pub(1, true),
  rx0: () => sock.feed(rx0),
  rx1: () => sock.feed(rx1),
  appState: () => appReading(23.5, 41),
  appBuffered: () => bufReading(23.5, 41),
  logAppend: () => log.append(1764547200, 23.5, 41),
  // the codec: a whole PUBLISH into a reused buffer, the topic encoded from its string
  encodeString: () => void writePublish(scratch, 0, TOPIC, payloadBytes, 1, false, false, 1),
  // pieces
  utf8topic: () => void utf8(TOPIC),
  utf8payload: () => void utf8(PAYLOAD),
  sliceBytes: () => void payloadBytes.slice(),
  subarray: () => void scratch.subarray(0, 4),
  object: () =>
    void {
      topic: topicBytes,
      payload: payloadBytes,
      qos: 0,
      retain: false,
      packetId: 0,
      sent: false,
      inflight: false,
      released: false,
    },
  array: () => void [],
  closure: () => void ((n: number) => n + received),
  decodeTopic: () => void decodeUtf8(topicBytes),
  dhtRead: () => {
    const r = sensor.read();
    if (!r.ok) throw new Error(`dht read failed: ${r.error}`);
  },
  dhtDecode: () => {
    if (decode(train, trainCount, "dht22", decoded) !== null) throw new Error("decode failed");
  },
};

(globalThis as { handleCommand?: (ab: ArrayBuffer) => ArrayBuffer }).handleCommand = (ab: ArrayBuffer): ArrayBuffer => {
  const text = String.fromCharCode.apply(null, Array.from(new Uint8Array(ab)));
  const space = text.indexOf(" ");
  const name = text.slice(0, space);
  const n = Number(text.slice(space + 1));
  const op = ops[name];
  if (!op) throw new Error(`unknown op ${name}`);
  const before = sock.bytesWritten;
  const writesBefore = sock.writes;
  for (let i = 0; i < n; i++) op();
  // Retained, not allocated: what a device keeps once booted.
  if (name.startsWith("device")) (globalThis as unknown as { gc(): void }).gc();
  const info =
    name +
    " bytes=" +
    (sock.bytesWritten - before) +
    " writes=" +
    (sock.writes - writesBefore) +
    " queued=" +
    client.queued +
    " state=" +
    client.state;
  const out = new Uint8Array(info.length);
  for (let i = 0; i < info.length; i++) out[i] = info.charCodeAt(i);
  return out.buffer;
};
