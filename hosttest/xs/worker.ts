/**
 * Runs JavaScript inside the real XS engine, using the `xsnap-worker` binary
 * that `@agoric/xsnap` builds on install.
 *
 * The package's own JS API is deliberately not used: it needs SES `lockdown()`,
 * which must stay out of the processes that also load mqtt/aedes. Instead the
 * binary is spawned here and spoken to directly.
 *
 * Protocol (see xsnap-native/xsnap/sources/xsnap-worker.c):
 *   - fd 3 carries commands to the worker, fd 4 carries its replies; both are
 *     netstrings: `<decimal length>:<payload>,` (length in bytes, at most 9 digits).
 *   - The first payload byte is the command:
 *       `e<source>`  evaluate: calls the global `eval` with the UTF-8 source.
 *       `?<bytes>`   command: calls `globalThis.handleCommand(ArrayBuffer)`.
 *       `R`          is-ready ping (replied with a bare `.`).
 *       `s<path>` / `m<path>`  run a script / module file.
 *       `w<path>`    write a heap snapshot.
 *       `q`          quit (no reply).
 *     After `e` and `?` the worker drains its promise-job queue before replying.
 *   - Replies:
 *       `.<meter JSON>\x01<bytes>`  success. `<bytes>` is the completion value if
 *           it is an ArrayBuffer, or its `.result` property if that is one;
 *           otherwise empty. The meter JSON is
 *           `{"currentHeapCount":N,"compute":N,"allocate":N,"timestamps":[sec.usec,...]}`.
 *       `!<message>`  an exception escaped (String(exception), no stack).
 *       `?<bytes>`    the script called `issueCommand(ArrayBuffer)` and is
 *           blocked until the parent answers on fd 3 with `/<bytes>`; the
 *           answer becomes issueCommand's return value (an ArrayBuffer).
 *   - Exit codes: 0 ok, 11 out of memory, 12 stack overflow, 15 unhandled
 *     exception (left over when quitting), 17 too much computation (the `-l`
 *     per-crank metering limit was hit: no reply is sent, the process exits).
 *
 * Globals inside the worker: print, issueCommand, gc, performance.now,
 * setImmediate, TextEncoder/TextDecoder, harden, currentMeterLimit,
 * resetMeter. No console, no timers.
 *
 * Measuring heap slots per operation (`currentHeapCount` is the number of
 * heap slots in use, garbage included until the collector runs):
 *
 *   const xs = await startXS();
 *   await xs.evaluate(`
 *     globalThis.state = setUp();             // top-level let/const of an
 *     globalThis.handleCommand = (ab) => {    // evaluated source stay local to
 *       const n = Number(new TextDecoder().decode(ab));   // it: share state
 *       for (let i = 0; i < n; i++) op(state);            // via globalThis
 *       return new ArrayBuffer(0);
 *     };`);
 *   await xs.evaluate("gc()");                 // settle: collect garbage
 *   const base = (await xs.evaluate("0")).meter.currentHeapCount;
 *   const { meter } = await xs.issueStringCommand("1000");   // 1000 ops
 *   const slotsPerOp = (meter.currentHeapCount - base) / 1000;
 *   await xs.close();
 *
 * The command itself costs a few dozen slots (decoding its argument and so
 * on): use a large N, or subtract a run with N = 0. A collection during the
 * measured command makes the delta too small (even negative): keep N modest
 * (the heap starts with 256K slots) or check that repeated runs agree. Ending
 * the command with `gc()` measures retained rather than allocated slots.
 * `meter.compute` is XS's computation count for the same command.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import type { Readable, Writable } from "node:stream";

export interface XSMeter {
  /** Heap slots in use when the reply was written (live + uncollected). */
  currentHeapCount: number;
  /** Computation units spent in this crank (one `e` or `?` command). */
  compute: number;
  /** Bytes allocated for chunks (the->allocatedSpace), cumulative. */
  allocate: number;
  /** gettimeofday() stamps (seconds) taken around I/O during the crank. */
  timestamps: number[];
}

export interface XSReply {
  /** Bytes of the completion value when it is an ArrayBuffer, else empty. */
  reply: Uint8Array;
  meter: XSMeter;
}

export interface XSSessionOptions {
  /** Use the debug build of the worker. */
  debug?: boolean;
  /**
   * Per-crank computation limit (`-l`); exceeding it kills the worker
   * (exit 17). 0 disables the limit. Default 2e9 (close to the binary's max).
   */
  meteringLimit?: number;
  /** Parser buffer size in kB (`-s`). */
  parserBufferSize?: number;
  /**
   * Answers the script's `issueCommand(ArrayBuffer)`. The return value becomes
   * issueCommand's result inside XS (empty when undefined).
   */
  onCommand?: (message: Uint8Array) => Uint8Array | string | void | Promise<Uint8Array | string | void>;
  /** Called with every chunk the worker writes to stdout (print()). */
  onStdout?: (text: string) => void;
}

export class XSError extends Error {
  constructor(message: string, readonly exitCode?: number | null, readonly signal?: string | null) {
    super(message);
    this.name = "XSError";
  }
}

const EXIT_REASONS: Record<number, string> = {
  1: "bad argument usage",
  2: "I/O error",
  11: "not enough memory",
  12: "stack overflow",
  15: "unhandled exception",
  16: "property (key) name space exhausted",
  17: "too much computation (metering limit)",
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

let binCache: { release?: string; debug?: string } = {};

/** Path of the xsnap-worker binary built by @agoric/xsnap's postinstall. */
export function xsnapWorkerPath(debug = false): string {
  const key = debug ? "debug" : "release";
  const cached = binCache[key];
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const pkgDir = path.dirname(require.resolve("@agoric/xsnap/package.json"));
  const platform = process.platform === "darwin" ? "mac" : "lin";
  const bin = path.join(pkgDir, "xsnap-native", "xsnap", "build", "bin", platform, key, "xsnap-worker");
  binCache = { ...binCache, [key]: bin };
  return bin;
}

function netstring(...parts: Uint8Array[]): Buffer {
  const length = parts.reduce((n, p) => n + p.byteLength, 0);
  return Buffer.concat([Buffer.from(`${length}:`, "latin1"), ...parts, Buffer.from(",", "latin1")]);
}

/** Incremental netstring decoder for the reply stream. */
class NetstringReader {
  private buf: Buffer = Buffer.alloc(0);
  private waiters: Array<(m: Buffer | null) => void> = [];
  private queue: Buffer[] = [];
  private ended = false;
  error: Error | null = null;

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const colon = this.buf.indexOf(0x3a);
      if (colon < 0) {
        if (this.buf.length > 10) this.fail("bad netstring length prefix");
        return;
      }
      const digits = this.buf.subarray(0, colon).toString("latin1");
      if (!/^\d{1,10}$/.test(digits)) return this.fail(`bad netstring length prefix ${JSON.stringify(digits)}`);
      const len = Number(digits);
      const end = colon + 1 + len;
      if (this.buf.length < end + 1) return;
      if (this.buf[end] !== 0x2c) return this.fail("netstring missing trailing comma");
      const message = Buffer.from(this.buf.subarray(colon + 1, end));
      this.buf = this.buf.subarray(end + 1);
      this.deliver(message);
    }
  }

  end(): void {
    this.ended = true;
    for (const w of this.waiters.splice(0)) w(null);
  }

  private fail(msg: string): void {
    this.error = new XSError(`xsnap protocol error: ${msg}`);
    this.end();
  }

  private deliver(m: Buffer): void {
    const w = this.waiters.shift();
    if (w) w(m);
    else this.queue.push(m);
  }

  /** Next message, or null at end of stream. */
  next(): Promise<Buffer | null> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

function parseMeter(json: string): XSMeter {
  const m = JSON.parse(json) as Partial<XSMeter>;
  return {
    currentHeapCount: m.currentHeapCount ?? 0,
    compute: m.compute ?? 0,
    allocate: m.allocate ?? 0,
    timestamps: m.timestamps ?? [],
  };
}

export interface XSSession {
  /** Evaluates source with the global `eval`; resolves once the job queue is drained. */
  evaluate(source: string): Promise<XSReply>;
  /** Calls `globalThis.handleCommand(ArrayBuffer)` in the worker. */
  issueCommand(message: Uint8Array | string): Promise<XSReply>;
  /** issueCommand, with the reply decoded as UTF-8. */
  issueStringCommand(message: string): Promise<{ reply: string; meter: XSMeter }>;
  isReady(): Promise<void>;
  /** Sends `q` and waits for the process to exit. */
  close(): Promise<{ exitCode: number | null; signal: string | null }>;
  /** Kills the process. */
  terminate(): void;
  /** Everything printed so far. */
  readonly stdout: string;
  readonly stderr: string;
  readonly pid: number | undefined;
}

/** Spawns one xsnap-worker process with a fresh XS machine. */
export async function startXS(options: XSSessionOptions = {}): Promise<XSSession> {
  const { debug = false, meteringLimit = 2_000_000_000, parserBufferSize, onCommand, onStdout } = options;
  const args = ["xs-test"];
  if (meteringLimit) args.push("-l", String(Math.min(Math.floor(meteringLimit), 2_147_483_647)));
  if (parserBufferSize) args.push("-s", String(parserBufferSize));

  const child: ChildProcess = spawn(xsnapWorkerPath(debug), args, {
    stdio: ["ignore", "pipe", "pipe", "pipe", "pipe"],
  });
  const toWorker = child.stdio[3] as Writable;
  const fromWorker = child.stdio[4] as Readable;
  const reader = new NetstringReader();
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stdout!.on("data", (s: string) => {
    stdout += s;
    onStdout?.(s);
  });
  child.stderr!.on("data", (s: string) => (stderr += s));
  fromWorker.on("data", (chunk: Buffer) => reader.push(chunk));
  fromWorker.on("end", () => reader.end());
  fromWorker.on("error", () => reader.end());
  toWorker.on("error", () => {}); // EPIPE after the worker died: reported via exit

  let exitInfo: { exitCode: number | null; signal: string | null } | null = null;
  const exited = new Promise<{ exitCode: number | null; signal: string | null }>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      exitInfo = { exitCode: code, signal };
      resolve(exitInfo);
    });
  });
  exited.catch(() => {});
  // The spawn itself failing (missing binary) surfaces here.
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });

  const deathError = async (): Promise<XSError> => {
    const { exitCode, signal } = await exited;
    const reason = signal ? `signal ${signal}` : `exit code ${exitCode}${EXIT_REASONS[exitCode ?? -1] ? ` (${EXIT_REASONS[exitCode!]})` : ""}`;
    const tail = stderr.trim() ? `\nstderr: ${stderr.trim()}` : "";
    return new XSError(`xsnap-worker died: ${reason}${tail}`, exitCode, signal);
  };

  const write = (data: Buffer) =>
    new Promise<void>((resolve) => {
      if (exitInfo || toWorker.destroyed) return resolve();
      toWorker.write(data, () => resolve());
    });

  /** Reads replies until the crank ends, answering issueCommand requests. */
  const runToIdle = async (): Promise<XSReply> => {
    for (;;) {
      const message = await reader.next();
      if (message === null) throw reader.error ?? (await deathError());
      const kind = message[0];
      if (kind === 0x2e /* . */) {
        const sep = message.indexOf(1, 1);
        const meter = sep >= 0 ? parseMeter(message.subarray(1, sep).toString("utf8")) : parseMeter("{}");
        return { reply: new Uint8Array(message.subarray(sep >= 0 ? sep + 1 : 1)), meter };
      }
      if (kind === 0x21 /* ! */) {
        throw new XSError(message.subarray(1).toString("utf8") || "uncaught exception in XS");
      }
      if (kind === 0x3f /* ? */) {
        let answer: Uint8Array = new Uint8Array(0);
        try {
          const r = onCommand ? await onCommand(new Uint8Array(message.subarray(1))) : undefined;
          if (typeof r === "string") answer = encoder.encode(r);
          else if (r) answer = r;
        } catch (e) {
          child.kill();
          throw e;
        }
        await write(netstring(encoder.encode("/"), answer));
        continue;
      }
      child.kill();
      throw new XSError(`xsnap protocol error: unknown reply ${JSON.stringify(message.toString("latin1").slice(0, 80))}`);
    }
  };

  // One command at a time: the protocol has no request ids.
  let baton: Promise<unknown> = Promise.resolve();
  const enqueue = <T>(fn: () => Promise<T>): Promise<T> => {
    const result = baton.then(fn);
    baton = result.catch(() => {});
    return result;
  };
  const send = (payload: Buffer): Promise<XSReply> =>
    enqueue(async () => {
      if (exitInfo) throw await deathError();
      await write(netstring(payload));
      return runToIdle();
    });

  const issueCommand = (message: Uint8Array | string) =>
    send(Buffer.concat([Buffer.from("?"), typeof message === "string" ? Buffer.from(message, "utf8") : message]));

  return {
    evaluate: (source) => send(Buffer.concat([Buffer.from("e"), Buffer.from(source, "utf8")])),
    issueCommand,
    async issueStringCommand(message) {
      const { reply, meter } = await issueCommand(message);
      return { reply: decoder.decode(reply), meter };
    },
    isReady: () => send(Buffer.from("R")).then(() => undefined),
    close: () =>
      enqueue(async () => {
        if (!exitInfo) {
          await write(netstring(encoder.encode("q")));
          toWorker.end();
        }
        return exited;
      }),
    terminate: () => {
      if (!exitInfo) child.kill();
    },
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    get pid() {
      return child.pid;
    },
  };
}

export interface RunInXSOptions extends XSSessionOptions {
  /** Wall-clock limit; the worker is killed when it is exceeded. Default 30 s. */
  timeoutMs?: number;
}

export interface RunInXSResult {
  /** Everything the script print()ed. */
  output: string;
  /**
   * What the script sent back: the last `issueCommand(ArrayBuffer)` message
   * (JSON-parsed when it is JSON, else the string), or, when there was none,
   * the decoded completion value if that is an ArrayBuffer; else undefined.
   */
  result: unknown;
  /** Every issueCommand message, in order, parsed like `result`. */
  messages: unknown[];
  /** Meter of the evaluation crank. */
  meter: XSMeter;
  /** Set when the evaluation threw (then `meter` is zeroed). */
  error?: XSError;
}

function decodeMessage(bytes: Uint8Array): unknown {
  const text = decoder.decode(bytes);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Evaluates `source` in a fresh worker and collects what it reports. A script
 * reports with e.g.
 *   issueCommand(new TextEncoder().encode(JSON.stringify(value)).buffer)
 * An exception at top level is returned as `error` (not thrown); a worker
 * crash or timeout rejects.
 */
export async function runInXS(source: string, options: RunInXSOptions = {}): Promise<RunInXSResult> {
  const { timeoutMs = 30_000, onCommand, ...rest } = options;
  const messages: unknown[] = [];
  const xs = await startXS({
    ...rest,
    onCommand: async (m) => {
      messages.push(decodeMessage(m));
      return onCommand ? onCommand(m) : undefined;
    },
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    xs.terminate();
  }, timeoutMs);
  try {
    let meter: XSMeter = { currentHeapCount: 0, compute: 0, allocate: 0, timestamps: [] };
    let reply: Uint8Array = new Uint8Array(0);
    let error: XSError | undefined;
    try {
      ({ reply, meter } = await xs.evaluate(source));
    } catch (e) {
      if (timedOut) throw new XSError(`XS run timed out after ${timeoutMs} ms`);
      if (!(e instanceof XSError) || e.exitCode !== undefined) throw e;
      error = e;
    }
    const result = messages.length ? messages[messages.length - 1] : reply.byteLength ? decodeMessage(reply) : undefined;
    return { output: xs.stdout, result, messages, meter, error };
  } finally {
    clearTimeout(timer);
    await xs.close().catch(() => {});
    xs.terminate();
  }
}
