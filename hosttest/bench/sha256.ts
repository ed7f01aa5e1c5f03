/**
 * Firmware update figures for `npm run bench`:
 * - the core's SHA-256 in XS: bytes per compute unit (xsnap's meter) and
 *   heap slots per chunk hashed (must be 0), and a chunk of an image through
 *   the updater (read → hashed → written to the partition: 0 slots too);
 * - on Node, the same code beside node:crypto (what the simulator uses);
 * - the simulator's ports: a 1 MiB image downloaded over loopback HTTP,
 *   hashed and written to the spare slot file, and verified and installed.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { nodeHttpClient } from "../../sim/http-client";
import { buildImage } from "../../sim/image-format";
import { nodeClock } from "../../sim/node-ports";
import { nodeSha256, SimBootLoader } from "../../sim/ota";
import { Sha256 } from "../../src/update/sha256";
import { type UpdateAnswer, Updater } from "../../src/update/updater";
import { serveImages } from "../support/image-server";
import { type BenchRow, median } from "./table.ts";
import { type XSOpResult, XSProbe } from "./xs.ts";

const here = path.dirname(fileURLToPath(import.meta.url));

/** MB/s of `write` over 16 KiB chunks, median of 5 rounds of about 200 ms. */
function megabytesPerSecond(write: (chunk: Uint8Array) => void): number {
  const chunk = new Uint8Array(16384).map((_, i) => i * 13);
  for (let i = 0; i < 200; i++) write(chunk);
  const rates: number[] = [];
  for (let round = 0; round < 5; round++) {
    const t = performance.now();
    let n = 0;
    while (performance.now() - t < 200) {
      for (let i = 0; i < 16; i++) write(chunk);
      n += 16;
    }
    rates.push((n * chunk.length) / 1e6 / ((performance.now() - t) / 1000));
  }
  return median(rates);
}

/** ms from `ota/set` to `rebooting` for a 1 MiB image, through the simulator's ports (median of 3). */
async function simInstall(): Promise<number> {
  const image = buildImage({ version: "0.2.0" });
  const sha256 = crypto.createHash("sha256").update(image).digest("hex");
  const server = await serveImages({ "/fw.bin": { body: image } });
  const times: number[] = [];
  try {
    for (let round = 0; round < 3; round++) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-ota-"));
      try {
        const loader = new SimBootLoader(dir, "0.1.0", () => {});
        const running = loader.boot();
        const started = performance.now();
        const ended = await new Promise<UpdateAnswer>((resolve) => {
          const updater = new Updater(
            {
              clock: nodeClock,
              log: () => {},
              update: loader.port(running, () => {}),
              http: nodeHttpClient,
              hash: nodeSha256(),
              report: (answer) => {
                if (answer.state === "rebooting" || answer.state === "failed") {
                  updater.stop();
                  resolve(answer);
                }
              },
            },
            { version: "0.1.0" },
          );
          updater.request(JSON.stringify({ url: server.url("/fw.bin"), sha256, version: "0.2.0" }));
        });
        if (ended.state !== "rebooting") throw new Error(`the update failed: ${JSON.stringify(ended)}`);
        times.push(performance.now() - started);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await server.close();
  }
  return median(times);
}

export async function benchUpdate(): Promise<{ rows: BenchRow[]; results: Record<string, unknown> }> {
  const xs = await XSProbe.start(path.join(here, "sha256-probe.ts"));
  const ops: Record<string, XSOpResult> = {};
  try {
    for (const op of ["hash1k", "hash2k", "digest", "updateChunk"]) ops[op] = await xs.measure(op, 200, 5, 50);
  } finally {
    await xs.close();
  }
  const ours = new Sha256();
  const oursMBs = megabytesPerSecond((c) => ours.write(c));
  const native = crypto.createHash("sha256");
  const nodeMBs = megabytesPerSecond((c) => void native.update(c));
  const installMs = await simInstall();

  const perCompute = 2048 / ops.hash2k.computePerOp;
  const zero = (op: string): string => (ops[op].slotsPerOp < 0.05 ? "0 ok" : "0 MISSED");
  const rows: BenchRow[] = [
    {
      metric: "XS SHA-256 throughput (2 KiB chunks)",
      ours: `${perCompute.toFixed(4)} B/compute`,
      peer: "-",
      ratio: "-",
      goal: "-",
      note: `${ops.hash2k.computePerOp.toFixed(0)} compute per 2 KiB (${(ops.hash2k.computePerOp / 32).toFixed(0)} per 64-byte block); digest ${ops.digest.computePerOp.toFixed(0)}`,
    },
    {
      metric: "XS heap slots per chunk hashed (1 KiB / 2 KiB)",
      ours: `${ops.hash1k.slotsPerOp.toFixed(1)} / ${ops.hash2k.slotsPerOp.toFixed(1)} slots`,
      peer: "-",
      ratio: "-",
      goal: ops.hash1k.slotsPerOp < 0.05 && ops.hash2k.slotsPerOp < 0.05 ? "0 ok" : "0 MISSED",
      note: `preallocated Int32Array state and schedule; digest into the caller's bytes: ${ops.digest.slotsPerOp.toFixed(1)} slots`,
    },
    {
      metric: "XS update: 2 KiB chunk read → hashed → written",
      ours: `${ops.updateChunk.slotsPerOp.toFixed(1)} slots/chunk`,
      peer: "-",
      ratio: "-",
      goal: zero("updateChunk"),
      note: `the updater's path per chunk (src/update/transfer.ts), ${ops.updateChunk.computePerOp.toFixed(0)} compute`,
    },
    {
      metric: "SHA-256 on Node (16 KiB chunks)",
      ours: `${oursMBs.toFixed(0)} MB/s`,
      peer: `node:crypto ${nodeMBs.toFixed(0)} MB/s`,
      ratio: `${(oursMBs / nodeMBs).toFixed(2)}×`,
      goal: "-",
      note: "the core's TypeScript beside OpenSSL; the simulator uses node:crypto, the device Crypt.Digest",
    },
    {
      metric: "sim: 1 MiB image request → rebooting",
      ours: `${installMs.toFixed(0)} ms`,
      peer: "-",
      ratio: "-",
      goal: "-",
      note: "loopback HTTP, hashed and written to the spare slot file in 2 KiB chunks (16 KiB a turn), image re-checked, slot switched",
    },
  ];
  const results = {
    xs: Object.fromEntries(
      Object.entries(ops).map(([k, v]) => [
        k,
        { slotsPerOp: v.slotsPerOp, computePerOp: v.computePerOp, n: v.n, rounds: v.rounds },
      ]),
    ),
    xsBytesPerCompute: perCompute,
    nodeMBs: { ours: oursMBs, nodeCrypto: nodeMBs },
    simInstallMs: installMs,
  };
  return { rows, results };
}
