/**
 * History in one SQLite file (better-sqlite3): WAL, readings clustered by
 * (device, time) so a device's time range is one index walk.
 */
import fs from "node:fs";
import path from "node:path";
import type Database from "better-sqlite3";
import type { DeviceInfo, HistoryStore, Reading, Row } from "./store";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS readings (
  device TEXT NOT NULL,
  t INTEGER NOT NULL,
  temp REAL NOT NULL,
  hum REAL NOT NULL,
  PRIMARY KEY (device, t)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY,
  info TEXT NOT NULL
);`;

export async function openSqlite(file: string): Promise<HistoryStore> {
  const { default: Sqlite } = await import("better-sqlite3"); // loaded when a store is opened (see sim/start.mjs)
  if (file !== ":memory:") fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  let db: Database.Database;
  try {
    db = new Sqlite(file);
    db.pragma("journal_mode = WAL");
  } catch (error) {
    throw new Error(`cannot open the history database ${file}: ${(error as Error).message}`);
  }
  db.pragma("synchronous = NORMAL");
  db.exec(SCHEMA);
  const insert = db.prepare("INSERT OR IGNORE INTO readings (device, t, temp, hum) VALUES (?, ?, ?, ?)");
  const insertAll = db.transaction((readings: readonly Reading[]) => {
    for (const r of readings) insert.run(r.id, r.t, r.temp, r.hum);
  });
  const range = db.prepare("SELECT t, temp, hum FROM readings WHERE device = ? AND t BETWEEN ? AND ? ORDER BY t");
  // SQLite takes the bare columns of a max() aggregate from the row holding the maximum.
  const newest = db.prepare("SELECT device, max(t) AS t, temp, hum FROM readings GROUP BY device");
  const ids = db.prepare("SELECT DISTINCT device FROM readings").pluck();
  const saveDevice = db.prepare(
    "INSERT INTO devices (id, info) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET info = excluded.info",
  );
  const devices = db.prepare("SELECT info FROM devices ORDER BY id").pluck();
  const prune = db.prepare("DELETE FROM readings WHERE device = ? AND t < ?");
  return {
    where: file,
    async add(readings) {
      insertAll(readings);
    },
    async range(id, from, to) {
      return range.all(id, from, to) as Row[];
    },
    async latest() {
      const out = new Map<string, Row>();
      for (const r of newest.all() as (Row & { device: string })[])
        out.set(r.device, { t: r.t, temp: r.temp, hum: r.hum });
      return out;
    },
    async saveDevice(info: DeviceInfo) {
      saveDevice.run(info.id, JSON.stringify(info));
    },
    async devices() {
      return (devices.all() as string[]).map((text) => JSON.parse(text) as DeviceInfo);
    },
    async prune(before) {
      let n = 0;
      for (const id of ids.all() as string[]) n += prune.run(id, before).changes;
      return n;
    },
    async close() {
      db.close();
    },
  };
}
