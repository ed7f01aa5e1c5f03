/**
 * One XS machine in an `xsnap-worker` process (the binary `@agoric/xsnap`
 * builds on install). The package's own JS API is not used: it needs SES
 * `lockdown()`, which must stay out of processes that also load mqtt and
 * aedes (the bench); its framing is, through `@endo/netstring`.
 *
 * Protocol (xsnap-native/xsnap/sources/xsnap-worker.c): netstrings to the
 * worker on fd 3, from it on fd 4.
 *   to it:     `e<source>` evaluate, `?<bytes>` call `globalThis.handleCommand`,
 *              `/<bytes>` answer its issueCommand, `q` quit. The worker drains
 *              its promise jobs before it replies.
 *   from it:   `.<meter JSON>\x01<bytes>` done (the bytes: an ArrayBuffer
 *              completion value), `!<message>` an exception escaped,
 *              `?<bytes>` the script called `issueCommand(ArrayBuffer)` and
 *              waits for the answer.
 *   exit code: 11 out of memory, 12 stack overflow, 15 unhandled exception,
 *              17 over the `-l` computation limit (no reply).
 * Inside: print, issueCommand, gc, performance.now, TextEncoder/Decoder;
 * no console, no timers.
 *
 * Heap slots per operation (hosttest/bench/xs.ts): `gc()`, then read
 * `meter.currentHeapCount` after a command running the operation N times
 * and after one running it 0 times; the difference over N. Keep N modest
 * (the heap starts with 256K slots): a collection during the command hides
 * allocations.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import type { Readable, Writable } from "node:stream";
import { makeNetstringReader } from "@endo/netstring/reader.js";

export interface XSMeter {
  /** Heap slots in use when the reply was written (live + uncollected). */
  currentHeapCount: number;
  /** Computation units spent in this crank. */
  compute: number;
}

export interface XSReply {
  /** Bytes of the completion value when it is an ArrayBuffer, else empty. */
  reply: Uint8Array;
  meter: XSMeter;
}

export interface XSSessionOptions {
  /** Per-crank computation limit (`-l`); beyond it the worker exits (17). Default 2e9. */
  meteringLimit?: number;
  /** Answers the script's `issueCommand(ArrayBuffer)`; the result is what issueCommand returns inside XS. */
  onCommand?: (message: Uint8Array) => Uint8Array | string | undefined;
}

export interface XSSession {
  /** Evaluates source with the global `eval`; resolves once the job queue is drained. */
  evaluate(source: string): Promise<XSReply>;
  /** Calls `globalThis.handleCommand(ArrayBuffer)` in the worker, the reply decoded as UTF-8. */
  issueStringCommand(message: string): Promise<{ reply: string; meter: XSMeter }>;
  /** Sends `q` and waits for the process to exit. */
  close(): Promise<void>;
  /** Kills the process. */
  terminate(): void;
  /** Everything printed so far. */
  readonly stdout: string;
}

const EXIT_REASONS: Record<number, string> = {
  11: "not enough memory",
  12: "stack overflow",
  15: "unhandled exception",
  17: "too much computation (metering limit)",
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function workerPath(): string {
  const dir = path.dirname(createRequire(import.meta.url).resolve("@agoric/xsnap/package.json"));
  return path.join(
    dir,
    "xsnap-native",
    "xsnap",
    "build",
    "bin",
    process.platform === "darwin" ? "mac" : "lin",
    "release",
    "xsnap-worker",
  );
}

function netstring(kind: string, payload: Uint8Array = new Uint8Array(0)): Buffer {
  return Buffer.concat([Buffer.from(`${payload.byteLength + 1}:${kind}`, "latin1"), payload, Buffer.from(",")]);
}

/** Spawns one xsnap-worker process with a fresh XS machine. */
export async function startXS(options: XSSessionOptions = {}): Promise<XSSession> {
  const limit = Math.min(Math.floor(options.meteringLimit ?? 2e9), 2_147_483_647);
  const child = spawn(workerPath(), ["xs-test", ...(limit ? ["-l", String(limit)] : [])], {
    stdio: ["ignore", "pipe", "pipe", "pipe", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
  const toWorker = child.stdio[3] as Writable;
  toWorker.on("error", () => {}); // EPIPE once the worker died: reported through its exit
  const replies = makeNetstringReader(child.stdio[4] as Readable, { name: "xsnap-worker" });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code, signal) => resolve(signal ? null : code)),
  );

  const death = async (): Promise<Error> => {
    const code = await exited;
    const reason =
      code === null ? "killed" : `exit code ${code}${EXIT_REASONS[code] ? ` (${EXIT_REASONS[code]})` : ""}`;
    return new Error(`xsnap-worker died: ${reason}${stderr.trim() ? `\nstderr: ${stderr.trim()}` : ""}`);
  };

  /** Reads replies until the crank ends, answering issueCommand on the way. */
  const runToIdle = async (): Promise<XSReply> => {
    for (;;) {
      const { done, value: message } = await replies.next(undefined);
      if (done) throw await death();
      const kind = String.fromCharCode(message[0]);
      if (kind === ".") {
        const sep = message.indexOf(1);
        const meter = (
          sep > 1 ? JSON.parse(decoder.decode(message.subarray(1, sep))) : { currentHeapCount: 0, compute: 0 }
        ) as XSMeter;
        return { reply: message.slice(sep < 0 ? 1 : sep + 1), meter };
      }
      if (kind === "!") throw new Error(decoder.decode(message.subarray(1)) || "uncaught exception in XS");
      if (kind !== "?") {
        child.kill();
        throw new Error(
          `xsnap protocol error: unknown reply ${JSON.stringify(decoder.decode(message.subarray(0, 80)))}`,
        );
      }
      const answer = options.onCommand?.(message.slice(1));
      toWorker.write(netstring("/", typeof answer === "string" ? encoder.encode(answer) : (answer ?? undefined)));
    }
  };

  // One command at a time: the protocol has no request ids.
  let baton: Promise<unknown> = Promise.resolve();
  const send = (frame: Buffer): Promise<XSReply> => {
    const result = baton.then(() => {
      if (child.exitCode !== null || child.signalCode !== null) return death().then((e) => Promise.reject(e));
      toWorker.write(frame);
      return runToIdle();
    });
    baton = result.catch(() => {});
    return result;
  };

  return {
    evaluate: (source) => send(netstring("e", encoder.encode(source))),
    async issueStringCommand(message) {
      const { reply, meter } = await send(netstring("?", encoder.encode(message)));
      return { reply: decoder.decode(reply), meter };
    },
    async close() {
      await baton;
      if (child.exitCode === null && child.signalCode === null) toWorker.end(netstring("q"));
      await exited;
    },
    terminate: () => void child.kill(),
    get stdout() {
      return stdout;
    },
  };
}
