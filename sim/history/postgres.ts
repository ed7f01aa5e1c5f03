/**
 * History in PostgreSQL, for fleets and teams that outgrow one file: the same
 * tables and queries as the SQLite store, with the time as `timestamptz` and
 * the key (device, t), so TimescaleDB can turn `readings` into a hypertable
 * partitioned on `t` (`SELECT create_hypertable('readings', 't', migrate_data => true)`).
 */
import type pg from "pg";
import type { DeviceInfo, HistoryStore, Row } from "./store";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS readings (
  device text NOT NULL,
  t timestamptz NOT NULL,
  temp real NOT NULL,
  hum real NOT NULL,
  PRIMARY KEY (device, t)
);
CREATE TABLE IF NOT EXISTS devices (
  id text PRIMARY KEY,
  info jsonb NOT NULL
);`;

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "postgres://…";
  }
}

function rows(result: pg.QueryResult): Row[] {
  return result.rows.map((r) => ({ t: (r.t as Date).getTime(), temp: r.temp as number, hum: r.hum as number }));
}

export async function openPostgres(url: string): Promise<HistoryStore> {
  const { default: postgres } = await import("pg"); // loaded when a PostgreSQL store is opened
  const pool = new postgres.Pool({ connectionString: url, max: 4 });
  pool.on("error", () => {}); // an idle client lost: the next query reconnects
  try {
    await pool.query(SCHEMA);
  } catch (error) {
    await pool.end();
    throw new Error(`cannot open the history database ${redact(url)}: ${(error as Error).message}`);
  }
  return {
    where: redact(url),
    async add(readings) {
      if (readings.length === 0) return;
      await pool.query(
        `INSERT INTO readings (device, t, temp, hum)
         SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::real[], $4::real[])
         ON CONFLICT DO NOTHING`,
        [
          readings.map((r) => r.id),
          readings.map((r) => new Date(r.t)),
          readings.map((r) => r.temp),
          readings.map((r) => r.hum),
        ],
      );
    },
    async range(id, from, to) {
      return rows(
        await pool.query("SELECT t, temp, hum FROM readings WHERE device = $1 AND t BETWEEN $2 AND $3 ORDER BY t", [
          id,
          new Date(from),
          new Date(to),
        ]),
      );
    },
    async latest() {
      const result = await pool.query(
        "SELECT DISTINCT ON (device) device, t, temp, hum FROM readings ORDER BY device, t DESC",
      );
      const out = new Map<string, Row>();
      for (const r of result.rows)
        out.set(r.device as string, { t: (r.t as Date).getTime(), temp: r.temp as number, hum: r.hum as number });
      return out;
    },
    async saveDevice(info: DeviceInfo) {
      await pool.query(
        "INSERT INTO devices (id, info) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET info = excluded.info",
        [info.id, JSON.stringify(info)],
      );
    },
    async devices() {
      return (await pool.query("SELECT info FROM devices ORDER BY id")).rows.map((r) => r.info as DeviceInfo);
    },
    async prune(before) {
      return (await pool.query("DELETE FROM readings WHERE t < $1", [new Date(before)])).rowCount ?? 0;
    },
    async close() {
      await pool.end();
    },
  };
}
