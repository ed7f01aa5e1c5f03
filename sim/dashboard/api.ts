/**
 * The shapes the dashboard's server and page exchange (HTTP API and live
 * feed). Types only: the page imports them too.
 */

/** One reading. `t`: Unix ms (a replayed reading's capture time, else its arrival). */
export interface Row {
  t: number;
  temp: number;
  hum: number;
}

export interface ErrorEntry {
  t: number;
  error: string;
  detail: string;
}

/** A device's latest known state, kept so a restarted dashboard shows it at once. */
export interface DeviceInfo {
  id: string;
  prefix: string;
  online: boolean;
  led: "ON" | "OFF" | null;
  diag: Record<string, unknown> | null;
  /** The latest `config` echo. */
  config: Record<string, unknown> | null;
  /** The latest `ota` report. */
  ota: Record<string, unknown> | null;
  /** Newest last. */
  errors: ErrorEntry[];
  /** Unix ms of the last message from it. */
  seen: number;
}

/** A simulated device's controls, as they stand. */
export interface SimDeviceState {
  temp: number;
  hum: number;
  /** The environment drifts (false: values set by hand). */
  drift: boolean;
  faultRate: number;
  /** The virtual access point is in range. */
  wifi: boolean;
  restarts: number;
}

/** A device as `/api/devices` and the live feed give it. */
export interface DeviceView extends DeviceInfo {
  last: Row | null;
  /** The simulator's controls for its own devices; null for others. */
  sim: SimDeviceState | null;
}
