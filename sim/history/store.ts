/**
 * The dashboard's history: every reading of every device, and what the page
 * shows of each device when it loads (online state, LED, diag, recent errors),
 * behind one small interface with two implementations: SQLite in one file
 * (the default) and PostgreSQL (`--db postgres://…`), with the same schema
 * and queries.
 */

import type { DeviceInfo, Row } from "../dashboard/api";

export type { DeviceInfo, Row };

export interface Reading extends Row {
  id: string;
}

export interface HistoryStore {
  /** Where it is, for the start line (a file path, or a PostgreSQL URL without its password). */
  readonly where: string;
  /** Adds readings; a reading already stored (same device and time, e.g. a resent replay) is kept once. */
  add(readings: readonly Reading[]): Promise<void>;
  /** One device's readings with from ≤ t ≤ to, oldest first. */
  range(id: string, from: number, to: number): Promise<Row[]>;
  /** The newest reading of each device that has one. */
  latest(): Promise<Map<string, Row>>;
  saveDevice(info: DeviceInfo): Promise<void>;
  devices(): Promise<DeviceInfo[]>;
  /** Deletes readings older than `before` (Unix ms); resolves with how many. */
  prune(before: number): Promise<number>;
  close(): Promise<void>;
}

export const DAY_MS = 86_400_000;

/** Opens the store `db` names: `postgres://…` (or `postgresql://…`), else an SQLite file. */
export async function openStore(db: string): Promise<HistoryStore> {
  if (/^postgres(ql)?:\/\//.test(db)) {
    const { openPostgres } = await import("./postgres");
    return openPostgres(db);
  }
  const { openSqlite } = await import("./sqlite");
  return openSqlite(db);
}
