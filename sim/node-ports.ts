/**
 * Node implementations of the core's ports: clock, ECMA-419-shaped TCP/TLS
 * socket, and a JSON-file store.
 */

import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import tls from "node:tls";
import type { Clock, Flash, Socket, SocketFactory, SocketOptions, Store } from "../src/ports";
import type { StringPort } from "../src/utf8";

/**
 * Repeating timers of one period share one Node interval: the simulator's
 * thousands of devices each keep a keepalive tick (1 s) and a diag timer
 * (60 s), and one interval per period drives them all. Each timer keeps its
 * own phase, to within SLOT_MS: the period is cut into slots, and the
 * interval runs, every SLOT_MS, the timers of the slots whose time came, so a
 * fleet's diag messages stay spread over the minute rather than leaving
 * together.
 */
const SLOT_MS = 100;

class Repeat {
  constructor(
    readonly group: RepeatGroup,
    readonly callback: () => void,
    readonly slot: number,
  ) {}
}

class RepeatGroup {
  readonly slots: Repeat[][];
  count = 0;
  /** The last slot run. */
  last: number;
  readonly interval: NodeJS.Timeout;

  constructor(readonly ms: number) {
    const n = Math.max(1, Math.ceil(ms / SLOT_MS));
    this.slots = Array.from({ length: n }, () => []);
    this.last = this.slotAt(performance.now());
    this.interval = setInterval(runGroup, Math.min(ms, SLOT_MS), this);
  }

  slotAt(now: number): number {
    return Math.floor((now % this.ms) / (this.ms / this.slots.length)) % this.slots.length;
  }
}

const repeatGroups = new Map<number, RepeatGroup>();

/** Runs every slot from the one after the last run up to now's (none is skipped or run twice when the interval is late). */
function runGroup(group: RepeatGroup): void {
  const n = group.slots.length;
  const now = group.slotAt(performance.now());
  while (group.last !== now) {
    group.last = (group.last + 1) % n;
    const slot = group.slots[group.last];
    for (let i = 0; i < slot.length; i++) {
      try {
        slot[i].callback();
      } catch (error) {
        process.nextTick(rethrow, error); // as an interval's own callback would: uncaught
      }
    }
  }
}

function rethrow(error: unknown): never {
  throw error;
}

function repeat(callback: () => void, ms: number): Repeat {
  const period = Math.max(1, Math.round(ms));
  let group = repeatGroups.get(period);
  if (!group) {
    group = new RepeatGroup(period);
    repeatGroups.set(period, group);
  }
  // The slot that comes round again one period from now.
  const timer = new Repeat(group, callback, group.slotAt(performance.now()));
  group.slots[timer.slot].push(timer);
  group.count++;
  return timer;
}

function clearRepeat(timer: Repeat): void {
  const group = timer.group;
  const slot = group.slots[timer.slot];
  const index = slot.indexOf(timer);
  if (index < 0) return;
  slot.splice(index, 1);
  if (--group.count === 0) {
    clearInterval(group.interval);
    repeatGroups.delete(group.ms);
  }
}

/**
 * One-shot timers of the process in one queue (a binary heap by due time,
 * ties in the order they were set), driven by one Node timer armed for the
 * earliest: a fleet's devices each wait for their next reading, and a record
 * here is a third of a Node `Timeout`.
 */
class Once {
  /** Position in the heap; -1 once run or cleared. */
  index = -1;
  constructor(
    public due: number,
    public order: number,
    public callback: () => void,
  ) {}
}

const onceHeap: Once[] = [];
let onceOrder = 0;
let onceTimer: NodeJS.Timeout | undefined;
/** The due time onceTimer is armed for. */
let onceArmedFor = Infinity;

function before(a: Once, b: Once): boolean {
  return a.due < b.due || (a.due === b.due && a.order < b.order);
}

function placeAt(timer: Once, i: number): void {
  onceHeap[i] = timer;
  timer.index = i;
}

function siftUp(i: number): void {
  const timer = onceHeap[i];
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(timer, onceHeap[parent])) break;
    placeAt(onceHeap[parent], i);
    i = parent;
  }
  placeAt(timer, i);
}

function siftDown(i: number): void {
  const timer = onceHeap[i];
  const n = onceHeap.length;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= n) break;
    const right = left + 1;
    const child = right < n && before(onceHeap[right], onceHeap[left]) ? right : left;
    if (!before(onceHeap[child], timer)) break;
    placeAt(onceHeap[child], i);
    i = child;
  }
  placeAt(timer, i);
}

function removeOnce(timer: Once): void {
  const i = timer.index;
  if (i < 0) return;
  timer.index = -1;
  const last = onceHeap.pop()!;
  if (last === timer) return;
  placeAt(last, i);
  if (i > 0 && before(last, onceHeap[(i - 1) >> 1])) siftUp(i);
  else siftDown(i);
}

/** Arms the Node timer for the earliest due time, if it is not armed for it already. */
function armOnce(): void {
  const first = onceHeap[0];
  const due = first ? first.due : Infinity;
  if (due === onceArmedFor) return;
  if (onceTimer !== undefined) clearTimeout(onceTimer);
  onceTimer = undefined;
  onceArmedFor = due;
  if (first) onceTimer = setTimeout(runOnce, Math.max(0, Math.ceil(due - performance.now())));
}

/** Runs every timer whose time came, in order. */
function runOnce(): void {
  onceTimer = undefined;
  onceArmedFor = Infinity;
  const now = performance.now();
  while (onceHeap.length > 0 && onceHeap[0].due <= now) {
    const timer = onceHeap[0];
    removeOnce(timer);
    try {
      timer.callback();
    } catch (error) {
      process.nextTick(rethrow, error); // as a timeout's own callback would: uncaught
    }
  }
  armOnce();
}

function once(callback: () => void, ms: number, replacing?: unknown): Once {
  // As setTimeout: below 1 ms, not a number, or past a signed 32-bit count: 1 ms.
  const delay = ms >= 1 && ms <= 0x7fffffff ? ms : 1;
  // Whole milliseconds (rounded up: never early), as the clock's now(): a small integer is kept unboxed.
  const due = Math.ceil(performance.now() + delay);
  let timer: Once;
  if (replacing instanceof Once) {
    // The caller's own record, given up: reused, so that a timer set again and again (each device's next
    // reading) allocates nothing; else each record, kept for a reading interval, would outlive the young
    // generation and be promoted, only to be garbage in the old one (0.3 MB a second at 10,000 devices).
    clearOnce(replacing);
    timer = replacing;
    timer.due = due;
    timer.order = onceOrder++;
    timer.callback = callback;
  } else {
    nodeClock.clear(replacing);
    timer = new Once(due, onceOrder++, callback);
  }
  onceHeap.push(timer);
  siftUp(onceHeap.length - 1);
  if (timer.index === 0) armOnce();
  return timer;
}

function clearOnce(timer: Once): void {
  const first = timer.index === 0;
  removeOnce(timer);
  if (first) armOnce();
}

export const nodeClock: Clock = {
  // Whole milliseconds, as on the ESP32: the times devices keep in their fields are then small integers, which
  // V8 stores in place, where a fraction takes a 16-byte box each (a dozen a device in a fleet).
  now: () => Math.floor(performance.now()),
  set: once,
  repeat,
  clear: (id) => {
    if (id instanceof Once) clearOnce(id);
    else if (id instanceof Repeat) clearRepeat(id);
    else if (id !== undefined) clearTimeout(id as NodeJS.Timeout);
  },
};

/** How many bytes the adapter reports as writable at a time. */
const WRITE_BUDGET = 16384;

/**
 * Connections being opened at once, at most, by this process: a fleet
 * started at once (or reconnecting after a broker restart) queues here
 * rather than overrunning the broker's accept backlog (mosquitto listens
 * with a backlog of 100; a SYN dropped from a full backlog is retried only
 * after a second). A connection counts from its first SYN until the broker
 * answers (its first bytes, the CONNACK), fails, or is closed.
 */
export const MAX_CONNECTING = 64;
let connecting = 0;
const connectQueue: NodeSocket[] = [];
let connectQueueHead = 0;

function connectNext(): void {
  while (connecting < MAX_CONNECTING && connectQueueHead < connectQueue.length) {
    const next = connectQueue[connectQueueHead++];
    if (!next.closed) next.open();
  }
  if (connectQueueHead === connectQueue.length) {
    connectQueue.length = 0;
    connectQueueHead = 0;
  }
}

/** Sockets waiting for their turn to connect, and connecting now (for the status line). */
export function connectingNow(): { waiting: number; opening: number } {
  return { waiting: connectQueue.length - connectQueueHead, opening: connecting };
}

/** A node:net socket that knows its port-side owner, so its listeners are shared functions rather than closures per connection. */
class OwnedStream extends net.Socket {
  owner: NodeSocket | undefined;
}

/**
 * A stream socket in the ECMA-419 shape over node:net (or node:tls when
 * `options.tls` is set). Received bytes wait in a small list until `read()`.
 * One object per connection and no closures (a fleet has thousands).
 */
class NodeSocket implements Socket {
  closed = false;
  private stream: net.Socket | undefined;
  /** Received and not yet read: usually one chunk at a time, so the list is made only for a second one. */
  private chunk: Uint8Array | undefined;
  private chunks: Uint8Array[] | undefined;
  private available = 0;
  private connected = false;
  /** Counted in `connecting` until the broker answers. */
  private pacing = false;
  private writablePending = false;
  /** Writes wait for the end of this turn (see write). */
  private corked = false;

  constructor(readonly options: SocketOptions) {}

  /** Opens now if few connections are being opened, else when one of them is done. */
  start(): void {
    if (connecting < MAX_CONNECTING) this.open();
    else connectQueue.push(this);
  }

  open(): void {
    const options = this.options;
    connecting++;
    this.pacing = true;
    const tlsOptions = options.tls;
    let stream: net.Socket;
    try {
      if (tlsOptions) {
        stream = tls.connect({
          host: options.host,
          port: options.port,
          servername: net.isIP(options.host) ? undefined : (tlsOptions.serverName ?? options.host),
          ca: tlsOptions.ca ? fs.readFileSync(tlsOptions.ca) : undefined,
        });
        (stream as tls.TLSSocket).once("secureConnect", onConnect);
      } else {
        // Received bytes land in the process's one receive buffer and go straight to the port's reader
        // (see onRead), rather than in a new buffer per read through the stream's 'data' events.
        const owned = new OwnedStream(readIntoShared);
        stream = owned.connect({ host: options.host, port: options.port });
        stream.once("connect", onConnect);
      }
    } catch (error) {
      this.paced();
      setImmediate(failLater, this, (error as Error).message);
      return;
    }
    (stream as OwnedStream).owner = this;
    this.stream = stream;
    if (options.nodelay) stream.setNoDelay(true);
    if (tlsOptions) stream.on("data", onData);
    stream.on("drain", onDrain);
    stream.on("error", onError);
    stream.on("end", onEnd);
    stream.on("close", onClose);
  }

  /** The connection stops counting against MAX_CONNECTING. */
  paced(): void {
    if (!this.pacing) return;
    this.pacing = false;
    connecting--;
    connectNext();
  }

  connectedNow(): void {
    this.connected = true;
    this.signalWritable();
  }

  received(data: Uint8Array): void {
    if (this.closed) return;
    this.paced();
    if (this.chunk === undefined) this.chunk = data;
    else (this.chunks ??= []).push(data);
    this.available += data.length;
    this.options.onReadable(this.available);
  }

  /**
   * Received into the shared receive buffer: what the reader left of it (rare:
   * the reader takes all it is told of, unless its socket closed meanwhile) is
   * copied out before the next read.
   */
  receivedShared(data: Uint8Array): void {
    this.received(data);
    if (this.chunk?.buffer === receiveBuffer.buffer) this.chunk = this.chunk.slice();
    const chunks = this.chunks;
    if (chunks && chunks[chunks.length - 1].buffer === receiveBuffer.buffer)
      chunks[chunks.length - 1] = chunks[chunks.length - 1].slice();
  }

  ended(): void {
    this.fail(this.connected ? "connection closed by the broker" : "connection refused");
  }

  fail(message: string, lasting = false): void {
    if (this.closed) return;
    this.closed = true;
    this.paced();
    this.stream?.destroy();
    this.options.onError(message, lasting);
  }

  signalWritable(): void {
    if (this.writablePending || this.closed) return;
    this.writablePending = true;
    writableSoon.push(this);
    if (writableSoon.length === 1) setImmediate(notifyAllWritable);
  }

  notifyWritable(): void {
    this.writablePending = false;
    if (!this.closed && this.stream) this.options.onWritable(Math.max(0, WRITE_BUDGET - this.stream.writableLength));
  }

  read(into: Uint8Array): number {
    let n = 0;
    while (n < into.length && this.chunk !== undefined) {
      const chunk = this.chunk;
      const take = Math.min(chunk.length, into.length - n);
      into.set(take === chunk.length ? chunk : chunk.subarray(0, take), n);
      n += take;
      if (take < chunk.length) this.chunk = chunk.subarray(take);
      else {
        const chunks = this.chunks;
        this.chunk = chunks?.shift();
        if (chunks?.length === 0) this.chunks = undefined;
      }
    }
    this.available -= n;
    return n;
  }

  write(bytes: Uint8Array): void {
    const stream = this.stream;
    if (this.closed || !stream) return;
    if (!this.corked) {
      // Packets written in one turn of the event loop leave in one system call and one segment (a
      // connection's announcements, an acknowledgement and a report): uncorked after the turn's callback.
      this.corked = true;
      stream.cork();
      toUncork.push(this);
      if (toUncork.length === 1) process.nextTick(uncorkAll);
    }
    stream.write(Buffer.from(bytes)); // copied: the caller reuses its buffer
    this.signalWritable();
  }

  uncork(): void {
    this.corked = false;
    this.stream?.uncork();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.paced();
    const stream = this.stream;
    if (!stream) return; // still waiting for its turn: never opened
    stream.end();
    stream.destroySoon?.();
  }
}

function ownerOf(stream: net.Socket): NodeSocket {
  return (stream as OwnedStream).owner!;
}
function onConnect(this: net.Socket): void {
  ownerOf(this).connectedNow();
}
function onData(this: net.Socket, data: Buffer): void {
  ownerOf(this).received(data);
}
/** Bytes received by any plain TCP socket of this process, handed to its reader at once. */
const receiveBuffer = new Uint8Array(16384);
function onRead(this: net.Socket, length: number, buffer: Uint8Array): boolean {
  ownerOf(this).receivedShared(buffer.subarray(0, length));
  return true;
}
/**
 * A plain TCP socket's options: it reads into receiveBuffer, and onRead is
 * called with the socket as `this` (Node takes `onread` in the constructor;
 * its types list it with connect's options).
 */
const readIntoShared = {
  onread: { buffer: receiveBuffer, callback: onRead as (length: number, buffer: Uint8Array) => boolean },
} satisfies net.ConnectOpts as net.SocketConstructorOpts;
function onDrain(this: net.Socket): void {
  ownerOf(this).signalWritable();
}
function onError(this: net.Socket, error: NodeJS.ErrnoException): void {
  const owner = ownerOf(this);
  owner.fail(describe(error, owner.options), UNTRUSTED.indexOf(error.code ?? "") >= 0);
}
function onEnd(this: net.Socket): void {
  ownerOf(this).ended();
}
function onClose(this: net.Socket): void {
  ownerOf(this).fail("connection closed");
}
/**
 * Sockets to tell, on the next turn of the event loop, how much they may
 * write: one setImmediate for all of them rather than one per write.
 */
let writableSoon: NodeSocket[] = [];

function notifyAllWritable(): void {
  const sockets = writableSoon;
  writableSoon = []; // a socket that signals again while told goes to the next turn
  for (let i = 0; i < sockets.length; i++) sockets[i].notifyWritable();
}
/** Sockets written to in this turn of the event loop, to uncork when its callback returns. */
let toUncork: NodeSocket[] = [];

function uncorkAll(): void {
  const sockets = toUncork;
  toUncork = [];
  for (let i = 0; i < sockets.length; i++) sockets[i].uncork();
}
function failLater(socket: NodeSocket, message: string): void {
  socket.fail(message);
}

/**
 * A stream socket in the ECMA-419 shape over node:net (or node:tls), opened
 * as soon as fewer than MAX_CONNECTING connections of this process are being
 * opened.
 */
export const nodeSocket: SocketFactory = (options: SocketOptions): Socket => {
  const socket = new NodeSocket(options);
  socket.start();
  return socket;
};

/** Certificate errors: retrying soon cannot cure them. */
const UNTRUSTED = [
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
];

function describe(error: NodeJS.ErrnoException, options: SocketOptions): string {
  const where = `${options.host}:${options.port}`;
  switch (error.code) {
    case "ECONNREFUSED":
      return `connection refused by ${where}`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `cannot resolve host ${options.host}`;
    case "ETIMEDOUT":
      return `connection to ${where} timed out`;
    case "ECONNRESET":
      return `connection reset by ${where}`;
    default:
      if (UNTRUSTED.indexOf(error.code ?? "") < 0) return error.message;
      return `TLS: the certificate of ${where} is not trusted (${error.code}: ${error.message}); check the ca setting`;
  }
}

/** Flash files kept open at least, whatever the file limit. */
const MIN_OPEN_FILES = 256;
/** Files left for the rest of the process (sockets aside): listeners, the store's writes, the dashboard. */
const SPARE_FILES = 320;
/** Flash files open now. */
const openFiles = new Set<FileFlash>();
/** The flash file opened last, the one closed when no more may be open. */
let openedLast: FileFlash | undefined;
/** Flash files in use (made and not closed for good): one per device, as many as their sockets. */
let liveFlashFiles = 0;
let softFileLimit: number | undefined;

/** The process's soft limit of open files (Linux: /proc/self/limits), read once; 1024 when unknown. */
function fileLimitNow(): number {
  if (softFileLimit === undefined) {
    softFileLimit = 1024;
    try {
      const line = fs
        .readFileSync("/proc/self/limits", "utf8")
        .split("\n")
        .find((l) => l.startsWith("Max open files"));
      const soft = line?.split(/\s+/)[3];
      if (soft === "unlimited") softFileLimit = 1 << 20;
      else if (soft && Number(soft) > 0) softFileLimit = Number(soft);
    } catch {
      // not Linux: the default
    }
  }
  return softFileLimit;
}

/**
 * How many flash files may be open at once: what the file limit leaves after
 * a socket per device and SPARE_FILES, at least MIN_OPEN_FILES. A fleet
 * within the limit keeps every device's file open (a reading costs its writes
 * only, no open and close).
 */
function flashFileBudget(): number {
  return Math.max(MIN_OPEN_FILES, fileLimitNow() - SPARE_FILES - liveFlashFiles);
}
/** Erased bytes (0xFF) shared by every flash file, grown to the longest erase. */
let erasedBytes: Uint8Array | undefined;

/** What a read-ahead holds: an aligned stretch of a file. */
const FLASH_READ_AHEAD = 4096;

/**
 * A flash region in a file (the simulator's stand-in for a flash partition):
 * `byteLength` bytes in blocks of `blockLength`. The file holds the region's
 * start and grows a block at a time as blocks are used: what lies past its
 * end reads as erased (0xFF), so a device's new offline buffer costs a block
 * on disk, not its whole size. A file longer than the region (from a larger `buffer`
 * setting) starts over erased. Writes go straight to the file, so a killed
 * process keeps everything written before it died. The file is opened when
 * used and kept open while the process's file limit allows (see
 * flashFileBudget), so a fleet never runs out of file handles.
 */
class FileFlash implements Flash {
  private fd = -1;
  /** Counted in liveFlashFiles. */
  private live = true;
  /** The file's length. */
  private size: number;
  /** What is known of the file until it is first opened (see FlashFileState). */
  private state: FlashFileState;

  constructor(
    private readonly file: string,
    readonly byteLength: number,
    readonly blockLength: number,
    state: FlashFileState,
  ) {
    let size = 0;
    this.state = state;
    if (state === "look") {
      try {
        size = fs.statSync(file).size;
      } catch {
        size = 0; // none yet: made, with its folder, at the first write
      }
    }
    if (size > byteLength) {
      fs.truncateSync(file, 0);
      size = 0;
    }
    this.size = size;
    liveFlashFiles++;
  }

  read(offset: number, into: Uint8Array): void {
    const length = into.length;
    const ahead = readAhead;
    let from = offset - ahead.start;
    let held = ahead.flash === this && from >= 0 && from + length <= ahead.length;
    if (!held && ahead.last === this && offset < this.size) {
      // A second read in a row: a scan (a booting device's offline buffer, record by record, forwards and
      // backwards), served from the aligned stretch around it rather than with a system call per record.
      const start = offset - (offset % FLASH_READ_AHEAD);
      if (offset + length <= start + FLASH_READ_AHEAD) {
        ahead.flash = this;
        ahead.start = start;
        ahead.length = fs.readSync(this.open(), ahead.bytes, 0, Math.min(FLASH_READ_AHEAD, this.size - start), start);
        from = offset - start;
        held = from + length <= ahead.length;
      }
    }
    ahead.last = this;
    if (held) {
      const bytes = ahead.bytes;
      for (let i = 0; i < length; i++) into[i] = bytes[from + i];
      return;
    }
    let n = 0;
    if (offset < this.size) n = fs.readSync(this.open(), into, 0, Math.min(length, this.size - offset), offset);
    if (n < length) into.fill(0xff, n);
  }

  /** Written or erased bytes at [offset, end): a read-ahead of them is stale. */
  private changed(offset: number, end: number): void {
    const ahead = readAhead;
    if (ahead.flash === this && offset < ahead.start + ahead.length && end > ahead.start) ahead.flash = undefined;
  }

  write(offset: number, bytes: Uint8Array): void {
    const end = offset + bytes.length;
    this.changed(offset, end);
    if (end <= this.size) {
      fs.writeSync(this.open(), bytes, 0, bytes.length, offset);
      return;
    }
    // Past the file's end: the file grows to the end of the block written, erased around the bytes, in one
    // write (as a flash block is all there, erased). Growing a file costs a journaled change of its length on
    // ext4: once a block rather than at each record (a block on disk is 4 KiB, whatever the file's length).
    const from = this.size;
    const to = Math.min(this.byteLength, Math.ceil(end / this.blockLength) * this.blockLength);
    const grown = grownBytes(to - from);
    grown.fill(0xff, 0, to - from);
    grown.set(bytes, offset - from);
    fs.writeSync(this.open(), grown, 0, to - from, from);
    this.size = to;
  }

  eraseBlock(block: number): void {
    const at = block * this.blockLength;
    if (at >= this.size) return; // never written: erased already
    this.changed(at, at + this.blockLength);
    fs.writeSync(this.open(), erased(this.blockLength), 0, this.blockLength, at);
    if (at + this.blockLength > this.size) this.size = at + this.blockLength;
  }

  /**
   * The file's descriptor, opening it if needed. When no more may be open,
   * the file opened last is closed: devices read in turn then keep most of
   * their files open, where closing the least recently used would close each
   * file just before its next turn.
   */
  private open(): number {
    if (this.fd >= 0) return this.fd;
    if (openFiles.size >= flashFileBudget() && openedLast && openedLast !== this) openedLast.close();
    const state = this.state;
    this.state = "look";
    if (state === "new") fs.mkdirSync(path.dirname(this.file), { recursive: true }); // no failed open first
    this.fd = openCreating(this.file, FLASH_FLAGS);
    openFiles.add(this);
    openedLast = this;
    return this.fd;
  }

  /** Closes the file (it opens again when used). */
  close(): void {
    if (this.fd < 0) return;
    openFiles.delete(this);
    if (openedLast === this) openedLast = undefined;
    fs.closeSync(this.fd);
    this.fd = -1;
  }

  /** The device is done with it (stopped, or restarted with a new one). */
  dispose(): void {
    this.close();
    if (readAhead.flash === this) readAhead.flash = undefined;
    if (readAhead.last === this) readAhead.last = undefined;
    if (this.live) liveFlashFiles--;
    this.live = false;
  }
}

const FLASH_FLAGS = fs.constants.O_RDWR | fs.constants.O_CREAT;

/** Bytes read ahead of a scan, for the process (see FileFlash.read), and the file read last. */
const readAhead = {
  flash: undefined as FileFlash | undefined,
  start: 0,
  length: 0,
  bytes: new Uint8Array(FLASH_READ_AHEAD),
  last: undefined as FileFlash | undefined,
};

let grownScratch: Uint8Array | undefined;

/** A scratch buffer of at least `length` bytes, shared (used within one write). */
function grownBytes(length: number): Uint8Array {
  if (!grownScratch || grownScratch.length < length) grownScratch = new Uint8Array(length);
  return grownScratch;
}

/** At least `length` bytes of 0xFF, shared. */
function erased(length: number): Uint8Array {
  if (!erasedBytes || erasedBytes.length < length) erasedBytes = new Uint8Array(length).fill(0xff);
  return erasedBytes;
}

/**
 * What the caller knows of a flash file before its first use: `look` (nothing:
 * its length is read now), `new` (there is none, nor perhaps its folder: made
 * at the first write), `new-in-folder` (none, in a folder that exists).
 */
export type FlashFileState = "look" | "new" | "new-in-folder";

/**
 * Erases a flash file in place (0xFF over all it holds), as erasing a real
 * flash does: cheaper than truncating or deleting it, which frees its blocks
 * (about 0.3 ms on ext4, and after many deletions ext4 makes every new file
 * slow for about 30 s).
 */
export function eraseFile(file: string): void {
  const fd = fs.openSync(file, "r+");
  try {
    const size = fs.fstatSync(fd).size;
    if (size > 0) fs.writeSync(fd, erased(size), 0, size, 0);
  } finally {
    fs.closeSync(fd);
  }
}
/** Opens `file` with `flags`, making its folder first if it has none yet. */
function openCreating(file: string, flags: number): number {
  try {
    return fs.openSync(file, flags);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    return fs.openSync(file, flags);
  }
}

/**
 * A flash region in a file: see FileFlash. `dispose()` when the device is
 * done with it; `state`: what the caller knows of the file.
 */
export function fileFlash(
  file: string,
  byteLength: number,
  blockLength: number,
  state: FlashFileState = "look",
): Flash & { dispose(): void } {
  return new FileFlash(file, byteLength, blockLength, state);
}

/**
 * What a device keeps in flash (settings, LED state), in a JSON file. Each
 * change is written to a temporary file and renamed over the old one, so a
 * killed process leaves the old or the new contents, never a torn file.
 */
export function fileStore(file: string | undefined, exists = true): Store {
  return new FileStore(file, exists);
}

/** See fileStore: an object with methods rather than closures (a fleet has one per device). */
class FileStore implements Store {
  private readonly values: Record<string, string> = {};

  /** `exists` false: the caller knows there is no file yet. */
  constructor(
    private readonly file: string | undefined,
    exists: boolean,
  ) {
    if (!file || !exists) return;
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed))
        this.values = parsed as Record<string, string>;
    } catch {
      // none yet, or unreadable: empty
    }
  }

  get(key: string): string | undefined {
    return Object.hasOwn(this.values, key) ? String(this.values[key]) : undefined;
  }

  set(key: string, value: string): void {
    if (this.values[key] === value) return;
    this.values[key] = value;
    this.save();
  }

  delete(key: string): void {
    if (!Object.hasOwn(this.values, key)) return;
    delete this.values[key];
    this.save();
  }

  private save(): void {
    const file = this.file;
    if (!file) return;
    const temporary = `${file}.${process.pid}.tmp`;
    const fd = openCreating(temporary, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC);
    try {
      fs.writeSync(fd, `${JSON.stringify(this.values, null, 2)}\n`);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, file);
  }
}

const utf8Write = (Buffer.prototype as unknown as { utf8Write(this: Uint8Array, s: string, at: number): number })
  .utf8Write;

/**
 * The core's string encoder on Node (src/utf8.ts `useStringPort`): V8 knows a
 * string's length, so ASCII is one plain loop, and Node's own UTF-8 writer
 * takes the rest (both write a lone surrogate as U+FFFD, as the core does).
 */
export const nodeStrings: StringPort = {
  byteLength: (s) => Buffer.byteLength(s, "utf8"),
  write(out, at, s) {
    const n = s.length;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return at - i + utf8Write.call(out, s, at - i);
      out[at++] = c;
    }
    return at;
  },
};
