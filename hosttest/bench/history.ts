/**
 * Dashboard figures for `npm run bench`:
 * - readings ingested per second into the history, and the time to read back
 *   7 days of one device at 10 s (60,480 rows), in SQLite, in PostgreSQL
 *   (a real server started for the run) and in a plain JSON-lines file, the
 *   naive baseline;
 * - the dashboard server's memory (RSS of `npm run dashboard`) idle and with
 *   1,000 devices reporting through mosquitto.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import { type HistoryStore, openStore, type Reading, type Row } from "../../sim/history/store";
import { freePort, startMosquitto } from "../support/mosquitto";
import { startPostgres } from "../support/postgres";
import { runDashboard } from "../support/sim";
import { type BenchRow, median } from "./table";

const ROWS = 60_480; // 7 days at 10 s
const BATCH = 100; // what the dashboard writes per flush with 500 readings a second
const T0 = Date.UTC(2026, 10, 1);

function week(id: string): Reading[] {
  return Array.from({ length: ROWS }, (_, i) => ({
    id,
    t: T0 + i * 10_000,
    temp: Math.round(220 + 20 * Math.sin(i / 500)) / 10,
    hum: Math.round(500 + 80 * Math.cos(i / 700)) / 10,
  }));
}

/** The naive baseline: one JSON line per reading appended to a file; a query reads it all. */
function jsonLines(file: string): Pick<HistoryStore, "add" | "range" | "close"> {
  return {
    async add(readings) {
      fs.appendFileSync(file, `${readings.map((r) => JSON.stringify(r)).join("\n")}\n`);
    },
    async range(id, from, to) {
      const out: Row[] = [];
      for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        if (!line) continue;
        const r = JSON.parse(line) as Reading;
        if (r.id === id && r.t >= from && r.t <= to) out.push({ t: r.t, temp: r.temp, hum: r.hum });
      }
      return out.sort((a, b) => a.t - b.t);
    },
    async close() {},
  };
}

async function measure(
  store: Pick<HistoryStore, "add" | "range" | "close">,
): Promise<{ ingest: number; query: number }> {
  // Two other devices' weeks interleaved, so the query has to pick one device out.
  const rows = week("d-1");
  const others = [week("d-2"), week("d-3")];
  const start = performance.now();
  for (let i = 0; i < ROWS; i += BATCH) {
    await store.add(rows.slice(i, i + BATCH));
    for (const o of others) await store.add(o.slice(i, i + BATCH));
  }
  const ingest = (3 * ROWS) / ((performance.now() - start) / 1000);
  const times: number[] = [];
  for (let round = 0; round < 5; round++) {
    const t = performance.now();
    const got = await store.range("d-1", T0, T0 + (ROWS - 1) * 10_000);
    times.push(performance.now() - t);
    if (got.length !== ROWS) throw new Error(`expected ${ROWS} rows, got ${got.length}`);
  }
  await store.close();
  return { ingest, query: median(times) };
}

/** RSS of a process in KiB, from /proc. */
function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : NaN;
}

async function dashboardMemory(dir: string): Promise<{ idle: number; busy: number; devices: number }> {
  const broker = await startMosquitto(["max_queued_messages 100000"]);
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const dashboard = runDashboard([
    "--broker",
    url,
    "--http",
    String(await freePort()),
    "--db",
    path.join(dir, "mem.db"),
  ]);
  const DEVICES = 1000;
  try {
    await dashboard.waitFor("dashboard http://", 20000);
    await new Promise((r) => setTimeout(r, 1000));
    const idle = rssKiB(dashboard.child.pid!);
    // 1,000 devices announce themselves and report 10 readings each, as one fleet would over 10 × interval.
    const fleet = await mqtt.connectAsync(url, { clientId: "bench-fleet" });
    for (let d = 1; d <= DEVICES; d++) {
      await fleet.publishAsync(`devices/b-${d}/status`, "online", { qos: 1, retain: true });
      await fleet.publishAsync(
        `devices/b-${d}/diag`,
        JSON.stringify({
          version: "0.1.0",
          uptime: 5,
          rssi: -60,
          heap: 40000,
          reconnects: 0,
          sensorErrors: 0,
          dropped: 0,
          queued: 0,
          buffered: 0,
        }),
      );
    }
    for (let round = 0; round < 10; round++) {
      for (let d = 1; d <= DEVICES; d++)
        await fleet.publishAsync(
          `devices/b-${d}/state`,
          `{"data":{"temp":${20 + (d % 50) / 10},"hum":${40 + round}}}`,
          { qos: 1 },
        );
    }
    await fleet.endAsync();
    // Let it write what came in, then read its memory.
    await new Promise((r) => setTimeout(r, 2000));
    const busy = rssKiB(dashboard.child.pid!);
    return { idle, busy, devices: DEVICES };
  } finally {
    dashboard.child.kill("SIGTERM");
    await dashboard.exited;
    await broker.stop();
  }
}

export async function benchHistory(): Promise<{ rows: BenchRow[]; results: Record<string, unknown> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-history-"));
  const postgres = await startPostgres();
  try {
    const sqlite = await measure(await openStore(path.join(dir, "telemetry.db")));
    const pg = await measure(await openStore(postgres.url));
    const lines = await measure(jsonLines(path.join(dir, "telemetry.jsonl")));
    const memory = await dashboardMemory(dir);
    const rate = (n: number) => `${(n / 1000).toFixed(1)} k/s`;
    const rows: BenchRow[] = [
      {
        metric: "history: readings ingested (batches of 100)",
        ours: `SQLite ${rate(sqlite.ingest)}; PostgreSQL ${rate(pg.ingest)}`,
        peer: `JSON lines ${rate(lines.ingest)}`,
        ratio: `${(sqlite.ingest / lines.ingest).toFixed(2)}× / ${(pg.ingest / lines.ingest).toFixed(2)}×`,
        goal: "-",
        note: "3 devices × 60,480 readings; SQLite WAL synchronous=NORMAL; PostgreSQL on loopback, one INSERT … unnest per batch",
      },
      {
        metric: "history: 7 days of one device at 10 s (60,480 rows)",
        ours: `SQLite ${sqlite.query.toFixed(1)} ms; PostgreSQL ${pg.query.toFixed(1)} ms`,
        peer: `JSON lines ${lines.query.toFixed(1)} ms`,
        ratio: `${(lines.query / sqlite.query).toFixed(1)}× / ${(lines.query / pg.query).toFixed(1)}× faster`,
        goal: "-",
        note: "median of 5; the file holds 3 devices' weeks; rows read by the (device, t) key",
      },
      {
        metric: "dashboard server memory, 1,000 devices reporting",
        ours: `${(memory.busy / 1024).toFixed(1)} MiB RSS`,
        peer: `${(memory.idle / 1024).toFixed(1)} MiB idle`,
        ratio: `${((memory.busy - memory.idle) / memory.devices).toFixed(1)} KiB/device`,
        goal: "-",
        note: "npm run dashboard on mosquitto; each device: status, diag and 10 readings",
      },
    ];
    return { rows, results: { sqlite, postgres: pg, jsonLines: lines, memory } };
  } finally {
    await postgres.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
