/**
 * Platform-free fakes of the ports (clock, sockets, sensor, LED, store) and a
 * decoder for the packets a client writes, shared by the unit tests. Runs on
 * Node and inside XS alike: no Node APIs, no timers, no console.
 */
import type {
  Clock,
  DigitalOut,
  Flash,
  Sensor,
  SensorResult,
  Socket,
  SocketFactory,
  SocketOptions,
  Store,
  TimerId,
  WiFiEvent,
  WiFiPort,
} from "../../src/ports";
import { fromHex, toHex } from "./hex";

// ---------------------------------------------------------------- text (hex: ./hex)

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

export function text(b: Uint8Array): string {
  return decoder.decode(b);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * True inside the XS engine (no `process` global there). For the rare test
 * that would take the whole XS run down (a native stack overflow ends the
 * XS process instead of throwing).
 */
export const IN_XS = typeof (globalThis as { process?: unknown }).process === "undefined";

/** A fixed "random" source, for predictable backoff delays. */
export function fixedRandom(value: number): () => number {
  return () => value;
}

// ---------------------------------------------------------------- clock

interface FakeTimer {
  id: number;
  due: number;
  period: number;
  callback: () => void;
}

/** A manual clock: time moves only through `advance()`. */
export class FakeClock implements Clock {
  private time: number;
  private timers: FakeTimer[] = [];
  private nextId = 1;

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  set(callback: () => void, ms: number, replacing?: TimerId): TimerId {
    this.clear(replacing);
    return this.add(callback, ms, 0);
  }

  repeat(callback: () => void, ms: number): TimerId {
    return this.add(callback, ms, ms > 0 ? ms : 1);
  }

  clear(id: TimerId | undefined): void {
    if (id === undefined) return;
    const index = this.timers.findIndex((t) => t.id === id);
    if (index >= 0) this.timers.splice(index, 1);
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.length;
  }

  /** When the next timer fires, or undefined. */
  get nextDue(): number | undefined {
    let due: number | undefined;
    for (const t of this.timers) if (due === undefined || t.due < due) due = t.due;
    return due;
  }

  /** Moves time to the next timer due (e.g. the end of a reconnect backoff) and fires it; returns how far time moved. */
  fireNext(): number {
    const due = this.nextDue;
    if (due === undefined) return 0;
    const step = due - this.time;
    this.advance(step);
    return step;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way
   * in time order (ties in creation order), including timers that callbacks set.
   */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: FakeTimer | undefined;
      for (const t of this.timers)
        if (t.due <= end && (next === undefined || t.due < next.due || (t.due === next.due && t.id < next.id)))
          next = t;
      if (!next) break;
      if (next.due > this.time) this.time = next.due;
      if (next.period > 0) {
        next.due += next.period;
      } else {
        this.timers.splice(this.timers.indexOf(next), 1);
      }
      next.callback();
    }
    this.time = end;
  }

  private add(callback: () => void, ms: number, period: number): TimerId {
    const id = this.nextId++;
    this.timers.push({ id, due: this.time + Math.max(ms, 0), period, callback });
    return id;
  }
}

// ---------------------------------------------------------------- sockets

/** One socket the client opened; the test plays the broker through it. */
export class FakeSocket implements Socket {
  readonly options: SocketOptions;
  /** A copy of every chunk the client wrote, in order. */
  readonly written: Uint8Array[] = [];
  closed = false;
  /** When set, the next write throws this message. */
  failWrite: string | undefined;
  /** When true, writes after `close()` or `drop()` throw, as a real socket's may. */
  throwWhenClosed = false;
  private inbox: number[] = [];
  private decodedUpTo = 0;
  private decodeBuffer: number[] = [];
  private decoded: WrittenPacket[] = [];

  constructor(options: SocketOptions) {
    this.options = options;
  }

  read(into: Uint8Array): number {
    const n = Math.min(into.length, this.inbox.length);
    for (let i = 0; i < n; i++) into[i] = this.inbox[i];
    this.inbox.splice(0, n);
    return n;
  }

  write(chunk: Uint8Array): void {
    if (this.failWrite !== undefined) {
      const message = this.failWrite;
      this.failWrite = undefined;
      throw new Error(message);
    }
    if (this.closed && this.throwWhenClosed) throw new Error("socket closed");
    this.written.push(chunk.slice());
  }

  close(): void {
    this.closed = true;
  }

  /** The connection is up: `onWritable(budget)`. Call again to grant more room. */
  open(budget = 65536): void {
    this.options.onWritable(budget);
  }

  /** Bytes arrive from the broker: queued, then `onReadable`. */
  receive(...chunks: (Uint8Array | string)[]): void {
    for (const chunk of chunks) {
      const b = typeof chunk === "string" ? fromHex(chunk) : chunk;
      for (let i = 0; i < b.length; i++) this.inbox.push(b[i]);
    }
    if (this.inbox.length) this.options.onReadable(this.inbox.length);
  }

  /** Like `receive`, but one byte per `onReadable`. */
  receiveBytewise(...chunks: (Uint8Array | string)[]): void {
    for (const chunk of chunks) {
      const b = typeof chunk === "string" ? fromHex(chunk) : chunk;
      for (let i = 0; i < b.length; i++) {
        if (this.closed) return;
        this.receive(b.subarray(i, i + 1));
      }
    }
  }

  /** The peer closed or the network failed (`lasting`: a failure retrying soon cannot cure). */
  drop(message = "connection reset", lasting = false): void {
    this.closed = true;
    this.options.onError(message, lasting);
  }

  /** Everything written, as one byte string. */
  get allBytes(): Uint8Array {
    return concat(...this.written);
  }

  /** Every packet written so far, decoded. */
  packets(): WrittenPacket[] {
    this.decodeNew();
    return this.decoded.slice();
  }

  /** Packets written since the last call of `take()`. */
  take(): WrittenPacket[] {
    this.decodeNew();
    const out = this.decoded;
    this.decoded = [];
    return out;
  }

  private decodeNew(): void {
    for (; this.decodedUpTo < this.written.length; this.decodedUpTo++) {
      const chunk = this.written[this.decodedUpTo];
      for (let i = 0; i < chunk.length; i++) this.decodeBuffer.push(chunk[i]);
    }
    for (;;) {
      const size = packetSize(this.decodeBuffer);
      if (size === undefined || size > this.decodeBuffer.length) return;
      const raw = Uint8Array.from(this.decodeBuffer.slice(0, size));
      this.decodeBuffer.splice(0, size);
      this.decoded.push(decodeWritten(raw));
    }
  }
}

/** A `SocketFactory` that records every socket it made. */
export class FakeNetwork {
  readonly sockets: FakeSocket[] = [];
  /** When set, the next factory call throws this message. */
  failNext: string | undefined;

  readonly factory: SocketFactory = (options) => {
    if (this.failNext !== undefined) {
      const message = this.failNext;
      this.failNext = undefined;
      throw new Error(message);
    }
    const socket = new FakeSocket(options);
    this.sockets.push(socket);
    return socket;
  };

  get count(): number {
    return this.sockets.length;
  }

  /** The newest socket. */
  get last(): FakeSocket {
    const s = this.sockets[this.sockets.length - 1];
    if (!s) throw new Error("no socket was opened");
    return s;
  }
}

// ---------------------------------------------------------------- decoding what the client wrote

export const TYPE_NAMES = [
  "?0",
  "CONNECT",
  "CONNACK",
  "PUBLISH",
  "PUBACK",
  "PUBREC",
  "PUBREL",
  "PUBCOMP",
  "SUBSCRIBE",
  "SUBACK",
  "UNSUBSCRIBE",
  "UNSUBACK",
  "PINGREQ",
  "PINGRESP",
  "DISCONNECT",
  "?15",
];

export interface WrittenPacket {
  name: string;
  type: number;
  flags: number;
  /** The whole packet. */
  raw: Uint8Array;
  /** PUBLISH. */
  topic?: string;
  payload?: Uint8Array;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
  /** PUBLISH QoS > 0, acks, SUBSCRIBE, UNSUBSCRIBE. */
  packetId?: number;
  /** SUBSCRIBE ({filter, qos}) and UNSUBSCRIBE (qos -1). */
  filters?: { filter: string; qos: number }[];
  /** CONNECT. */
  connect?: {
    protocol: string;
    level: number;
    flags: number;
    keepalive: number;
    clientId: string;
    cleanSession: boolean;
    will?: { topic: string; payload: string; qos: number; retain: boolean };
    username?: string;
    password?: string;
  };
}

/** Size of the first packet in `b`, once its length field is complete; undefined if not yet known. */
function packetSize(b: number[]): number | undefined {
  if (b.length < 2) return undefined;
  let n = 0;
  let mul = 1;
  for (let i = 1; i < 5; i++) {
    if (i >= b.length) return undefined;
    n += (b[i] & 0x7f) * mul;
    if (!(b[i] & 0x80)) return 1 + i + n;
    mul *= 128;
  }
  throw new Error(`client wrote a length field longer than 4 bytes: ${toHex(b.slice(0, 5))}`);
}

/** Decodes one client → server packet; throws on anything malformed. */
export function decodeWritten(raw: Uint8Array): WrittenPacket {
  const type = raw[0] >> 4;
  const flags = raw[0] & 0x0f;
  let at = 1;
  while (raw[at] & 0x80) at++;
  at++;
  const end = raw.length;
  const u16 = (): number => {
    if (at + 2 > end) throw new Error(`short ${TYPE_NAMES[type]}: ${toHex(raw)}`);
    const v = (raw[at] << 8) | raw[at + 1];
    at += 2;
    return v;
  };
  const str = (): string => {
    const n = u16();
    if (at + n > end) throw new Error(`string past the end of ${TYPE_NAMES[type]}: ${toHex(raw)}`);
    const s = text(raw.subarray(at, at + n));
    at += n;
    return s;
  };
  const p: WrittenPacket = { name: TYPE_NAMES[type], type, flags, raw };
  switch (type) {
    case 1: {
      const protocol = str();
      const level = raw[at++];
      const cf = raw[at++];
      const keepalive = u16();
      const clientId = str();
      const c: NonNullable<WrittenPacket["connect"]> = {
        protocol,
        level,
        flags: cf,
        keepalive,
        clientId,
        cleanSession: (cf & 0x02) !== 0,
      };
      if (cf & 0x04) {
        const topic = str();
        const payload = str();
        c.will = { topic, payload, qos: (cf >> 3) & 3, retain: (cf & 0x20) !== 0 };
      }
      if (cf & 0x80) c.username = str();
      if (cf & 0x40) c.password = str();
      p.connect = c;
      break;
    }
    case 3: {
      p.qos = (flags >> 1) & 3;
      p.retain = (flags & 1) !== 0;
      p.dup = (flags & 8) !== 0;
      p.topic = str();
      if (p.qos > 0) p.packetId = u16();
      p.payload = raw.slice(at, end);
      at = end;
      break;
    }
    case 4:
    case 5:
    case 6:
    case 7:
      p.packetId = u16();
      break;
    case 8:
    case 10: {
      p.packetId = u16();
      p.filters = [];
      while (at < end) {
        const filter = str();
        const qos = type === 8 ? raw[at++] : -1;
        p.filters.push({ filter, qos });
      }
      break;
    }
    case 12:
    case 14:
      break;
    default:
      throw new Error(`client wrote packet type ${type}: ${toHex(raw)}`);
  }
  if (at !== end) throw new Error(`${end - at} stray bytes at the end of ${TYPE_NAMES[type]}: ${toHex(raw)}`);
  return p;
}

/** The payload of a decoded PUBLISH as text. */
export function payloadText(p: WrittenPacket): string {
  return p.payload ? text(p.payload) : "";
}

/** Short summary lines ("PUBLISH q1 topic payload"), for readable assertions. */
export function summary(packets: WrittenPacket[]): string[] {
  return packets.map((p) => {
    if (p.type === 3)
      return `PUBLISH q${p.qos}${p.retain ? " r" : ""}${p.dup ? " dup" : ""} ${p.topic} ${payloadText(p)}`;
    if (p.filters)
      return `${p.name} ${p.filters.map((f) => (f.qos >= 0 ? `${f.filter}@${f.qos}` : f.filter)).join(",")}`;
    if (p.packetId !== undefined) return `${p.name} ${p.packetId}`;
    return p.name;
  });
}

// ---------------------------------------------------------------- broker → client packets

function withLength(first: number, body: number[]): Uint8Array {
  const len: number[] = [];
  let n = body.length;
  do {
    const b = n % 128;
    n = Math.floor(n / 128);
    len.push(n > 0 ? b | 0x80 : b);
  } while (n > 0);
  return Uint8Array.from([first, ...len, ...body]);
}

export function connack(sessionPresent = false, code = 0): Uint8Array {
  return Uint8Array.from([0x20, 2, sessionPresent ? 1 : 0, code]);
}

function ack(type: number, id: number): Uint8Array {
  return Uint8Array.from([(type << 4) | (type === 6 ? 2 : 0), 2, id >> 8, id & 0xff]);
}

export const puback = (id: number): Uint8Array => ack(4, id);
export const pubrec = (id: number): Uint8Array => ack(5, id);
export const pubrel = (id: number): Uint8Array => ack(6, id);
export const pubcomp = (id: number): Uint8Array => ack(7, id);
export const unsuback = (id: number): Uint8Array => ack(11, id);

export function suback(id: number, ...codes: number[]): Uint8Array {
  return withLength(0x90, [id >> 8, id & 0xff, ...codes]);
}

export function pingresp(): Uint8Array {
  return Uint8Array.from([0xd0, 0]);
}

export function publishPacket(
  topic: string,
  payload: string | Uint8Array,
  options: { qos?: number; retain?: boolean; dup?: boolean; id?: number } = {},
): Uint8Array {
  const qos = options.qos ?? 0;
  const t = bytes(topic);
  const body: number[] = [t.length >> 8, t.length & 0xff, ...t];
  if (qos > 0) {
    const id = options.id ?? 1;
    body.push(id >> 8, id & 0xff);
  }
  const pl = typeof payload === "string" ? bytes(payload) : payload;
  for (let i = 0; i < pl.length; i++) body.push(pl[i]);
  return withLength(0x30 | (options.dup ? 8 : 0) | (qos << 1) | (options.retain ? 1 : 0), body);
}

/**
 * A well-behaved broker on the newest socket: answers what the client wrote
 * (CONNECT → CONNACK, PUBLISH → PUBACK/PUBREC, PUBREL → PUBCOMP, SUBSCRIBE →
 * SUBACK granting the requested QoS, UNSUBSCRIBE → UNSUBACK, PINGREQ →
 * PINGRESP) until the client writes nothing new. Returns what it saw.
 */
export function serve(socket: FakeSocket, options: { sessionPresent?: boolean } = {}): WrittenPacket[] {
  const seen: WrittenPacket[] = [];
  for (let round = 0; round < 100; round++) {
    const packets = socket.take();
    if (packets.length === 0) break;
    for (const p of packets) {
      seen.push(p);
      if (socket.closed) continue;
      switch (p.type) {
        case 1:
          socket.receive(connack(options.sessionPresent ?? false, 0));
          break;
        case 3:
          if (p.qos === 1) socket.receive(puback(p.packetId!));
          else if (p.qos === 2) socket.receive(pubrec(p.packetId!));
          break;
        case 6:
          socket.receive(pubcomp(p.packetId!));
          break;
        case 8:
          socket.receive(suback(p.packetId!, ...p.filters!.map((f) => f.qos)));
          break;
        case 10:
          socket.receive(unsuback(p.packetId!));
          break;
        case 12:
          socket.receive(pingresp());
          break;
      }
    }
  }
  return seen;
}

// ---------------------------------------------------------------- sensor, LED, store

/** A sensor returning scripted results in order, then `fallback` forever. */
export class FakeSensor implements Sensor {
  readonly minInterval: number;
  reads = 0;
  private script: SensorResult[] = [];
  fallback: SensorResult;

  constructor(fallback: SensorResult = { ok: true, temp: 23.5, hum: 41 }, minInterval = 2000) {
    this.fallback = fallback;
    this.minInterval = minInterval;
  }

  /** Queues results for the next reads. */
  push(...results: SensorResult[]): this {
    this.script.push(...results);
    return this;
  }

  read(): SensorResult {
    this.reads++;
    return this.script.length ? this.script.shift()! : this.fallback;
  }
}

export const good = (temp: number, hum: number): SensorResult => ({ ok: true, temp, hum });
export const bad = (error = "timeout", detail?: string): SensorResult => ({ ok: false, error, detail });

/** A digital output that records every write. */
export class RecordingPin implements DigitalOut {
  readonly writes: (0 | 1)[] = [];

  write(value: 0 | 1): void {
    this.writes.push(value);
  }

  get value(): 0 | 1 | undefined {
    return this.writes[this.writes.length - 1];
  }
}

/** A Map-backed `Store`. */
export class MapStore implements Store {
  readonly map = new Map<string, string>();
  sets = 0;

  constructor(initial: Record<string, string> = {}) {
    for (const key of Object.keys(initial)) this.map.set(key, initial[key]);
  }

  get(key: string): string | undefined {
    return this.map.get(key);
  }

  set(key: string, value: string): void {
    this.sets++;
    this.map.set(key, value);
  }

  delete(key: string): void {
    this.map.delete(key);
  }
}

/** What a RamFlash throws when its write budget runs out. */
export class PowerCut extends Error {}

/** NOR flash in RAM: erase sets 0xFF, writes clear bits. `budget` bytes of writing (erases count their length) before the power goes. */
export class RamFlash implements Flash {
  readonly bytes: Uint8Array;
  budget = Infinity;
  writes = 0;
  constructor(
    readonly blockLength: number,
    blocks: number,
  ) {
    this.bytes = new Uint8Array(blockLength * blocks).fill(0xff);
  }
  get byteLength(): number {
    return this.bytes.length;
  }
  read(offset: number, into: Uint8Array): void {
    for (let i = 0; i < into.length; i++) into[i] = this.bytes[offset + i];
  }
  write(offset: number, data: Uint8Array): void {
    this.writes++;
    for (let i = 0; i < data.length; i++) {
      this.spend();
      this.bytes[offset + i] &= data[i];
    }
  }
  eraseBlock(block: number): void {
    for (let i = 0; i < this.blockLength; i++) {
      this.spend();
      this.bytes[block * this.blockLength + i] = 0xff;
    }
  }
  clone(): RamFlash {
    const copy = new RamFlash(this.blockLength, this.bytes.length / this.blockLength);
    copy.bytes.set(this.bytes);
    return copy;
  }
  private spend(): void {
    if (this.budget <= 0) throw new PowerCut("power cut");
    this.budget--;
  }
}

// ---------------------------------------------------------------- Wi-Fi

/** A scripted radio: records calls; the test plays the driver's events. */
export class FakeWiFi implements WiFiPort {
  onEvent: ((event: WiFiEvent) => void) | undefined;
  readonly calls: string[] = [];
  signal: number | undefined = -61;
  /** When set, the next connect() throws this message. */
  failConnect: string | undefined;

  connect(ssid: string, password: string): void {
    this.calls.push(`connect ${ssid} ${password}`);
    if (this.failConnect !== undefined) {
      const message = this.failConnect;
      this.failConnect = undefined;
      throw new Error(message);
    }
  }

  disconnect(): void {
    this.calls.push("disconnect");
  }

  openAccessPoint(ssid: string, password: string): string | undefined {
    this.calls.push(`accessPoint ${ssid} ${password}`);
    return "192.168.4.1";
  }

  closeAccessPoint(): void {
    this.calls.push("closeAccessPoint");
  }

  rssi(): number | undefined {
    return this.signal;
  }

  /** The station's address the port reports (set by the test). */
  ip: string | undefined;

  address(): string | undefined {
    return this.ip;
  }

  emit(...events: WiFiEvent[]): void {
    for (const e of events) this.onEvent?.(e);
  }

  get connects(): number {
    return this.calls.filter((c) => c.startsWith("connect")).length;
  }
}
