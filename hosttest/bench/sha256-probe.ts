/**
 * Runs inside XS (bundled by ./sha256.ts): the core's SHA-256 hashing one
 * chunk, and the updater taking one chunk of an image from the network into
 * the hash and the spare partition, over lean fakes that allocate nothing.
 * Sets `globalThis.handleCommand("<op> <n>")` like ./xs-probe.ts.
 */

import type { HttpGetOptions, UpdatePort, UpdateTarget } from "../../src/ports";
import { Sha256 } from "../../src/update/sha256";
import { Updater } from "../../src/update/updater";
import { FakeClock } from "../unit/fakes";

const chunk1k = new Uint8Array(1024);
const chunk2k = new Uint8Array(2048);
for (let i = 0; i < chunk2k.length; i++) chunk2k[i] = (i * 31) & 255;
chunk1k.set(chunk2k.subarray(0, 1024));
const out = new Uint8Array(32);
const hash = new Sha256();

// An update in progress: a server that always has one more 2 KiB chunk, a partition that only counts.
let written = 0;
const target: UpdateTarget = {
  write: (bytes) => void (written += bytes.length),
  complete: () => undefined,
  close: () => {},
};
const port: UpdatePort = {
  capacity: Number.MAX_SAFE_INTEGER,
  installable: true,
  trial: false,
  open: () => target,
  confirm() {},
  rollback() {},
};
let request: HttpGetOptions | undefined;
let ready = 0;
const updater = new Updater(
  {
    clock: new FakeClock(0),
    log: () => {},
    update: port,
    http: (options) => {
      request = options;
      return {
        read(into: Uint8Array): number {
          if (ready === 0) return 0;
          into.set(chunk2k);
          ready = 0;
          return chunk2k.length;
        },
        close() {},
      };
    },
    hash: new Sha256(),
    report: () => {},
  },
  { version: "1.0.0" },
);
updater.request(JSON.stringify({ url: "http://files.local/fw.bin", sha256: "0".repeat(64), version: "1.1.0" }));
request!.onHeaders(200, undefined, undefined);
if (updater.state !== "downloading") throw new Error("probe: the update did not start");

const ops: Record<string, () => void> = {
  hash1k: () => hash.write(chunk1k),
  hash2k: () => hash.write(chunk2k),
  digest: () => {
    hash.digest(out);
    hash.reset();
  },
  updateChunk: () => {
    ready = 1;
    request!.onReadable(chunk2k.length);
  },
};

(globalThis as { handleCommand?: (ab: ArrayBuffer) => ArrayBuffer }).handleCommand = (ab: ArrayBuffer): ArrayBuffer => {
  const text = String.fromCharCode.apply(null, Array.from(new Uint8Array(ab)));
  const space = text.indexOf(" ");
  const op = ops[text.slice(0, space)];
  const n = Number(text.slice(space + 1));
  if (!op) throw new Error(`unknown op ${text}`);
  for (let i = 0; i < n; i++) op();
  const info = `written=${written} state=${updater.state}`;
  const reply = new Uint8Array(info.length);
  for (let i = 0; i < info.length; i++) reply[i] = info.charCodeAt(i);
  return reply.buffer;
};
