/**
 * The simulator's command line: every configuration key as `--key value`,
 * plus `--port`, `--http`, `--devices` and `--faults`. Flags override the
 * same names in an optional `device.json`.
 */
import fs from "node:fs";
import {
  type BrokerAddress,
  buildConfig,
  CONFIG_KEYS,
  type Config,
  isConfigKey,
  likelyKey,
  parseBroker,
} from "../src/app/config";

export interface Faults {
  /** Share of sensor reads that fail, 0–1. */
  sensor: number;
  /** Drop Wi-Fi every this many ms; 0: never. */
  wifi: number;
}

export interface SimOptions {
  config: Config;
  /** Undefined: start the embedded broker. */
  broker: BrokerAddress | undefined;
  port: number;
  http: number;
  devices: number;
  /** The number of the first device: ids `sim-<first>` … `sim-<first+devices-1>`, so that processes or machines can split one fleet. */
  first: number;
  faults: Faults;
  /** Folder under which each device keeps its flash (`<data>/<id>/`); default `data`. */
  data: string;
  /** Start every device from nothing. */
  fresh: boolean;
  /** Readings that count up, for tests that count loss, duplicates and order. */
  sequence: boolean;
  /** Address the embedded broker and the dashboard listen on. */
  host: string;
  /** Credentials the embedded broker demands (and the dashboard, as HTTP Basic). */
  brokerUser: string | undefined;
  brokerPassword: string | undefined;
  /** The dashboard's history: an SQLite file or a postgres:// URL. */
  db: string;
  /** Days of history kept. */
  retention: number;
  /** Start the devices unprovisioned, in set-up mode. */
  setup: boolean;
  help: boolean;
}

/** Devices one process runs at most: each holds a socket, so the file limit (`ulimit -n`) must allow as many. */
export const MAX_DEVICES = 100000;

export const USAGE = `Usage: npm start -- [flags]

Runs virtual ESP32 devices (DHT sensor, LED, Wi-Fi) against an MQTT broker.

  --broker URL      use this broker (mqtt://host[:port], mqtts://…) instead of the embedded one
  --port N          embedded broker's MQTT port (default 1883)
  --http N          dashboard and MQTT-over-WebSocket port (default 8080; 0: none)
  --devices N       run N devices, ids sim-1 … sim-N (default 1; up to ${MAX_DEVICES}, one open file each)
  --first K         number the devices from K: sim-K … sim-(K+N-1), to split one fleet over processes or machines (default 1)
  --faults SPEC     inject faults: sensor=0.2 (20 % failed reads), wifi=30s (drop Wi-Fi every 30 s)
  --data DIR        where each device keeps what a real one keeps in flash (settings, LED state, offline buffer): DIR/<id>/ (default data)
  --fresh           start every device from nothing (deletes what --data kept)
  --web P           serve each device's own web page and JSON API, device i on port P+i-1 (default off)
  --webPassword PW  HTTP Basic password (user admin) for changes made on the page
  --setup           start the devices unprovisioned, in set-up mode (no Wi-Fi network until one is set on the page)
  --sequence        readings count up (temp = (n mod 500)/10, hum = 20 + ⌊n/500⌋ mod 70), for counting loss and order
  --host ADDR       address the embedded broker and the dashboard listen on (default 127.0.0.1; 0.0.0.0: every interface)
  --brokerUser U, --brokerPassword P
                    credentials the embedded broker demands; the dashboard asks for the same (HTTP Basic)
  --db FILE|URL     the dashboard's history: an SQLite file (default DATA/telemetry.db, with DATA from --data) or postgres://…
  --retention DAYS  days of history kept (default 30)
  --config FILE     read settings from FILE (default ./device.json if present)
  --KEY VALUE       any configuration key: ${CONFIG_KEYS.filter((k) => k !== "ssid" && k !== "password").join(", ")}
  --help            show this text
`;

/** Parses argv (without node and script). Throws an Error with one line naming the problem. */
export function parseArgs(argv: string[], readFile: (path: string) => string | undefined = readIfExists): SimOptions {
  const flags: Record<string, string> = {};
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") {
      help = true;
      continue;
    }
    if (arg === "--fresh" || arg === "--sequence" || arg === "--setup") {
      flags[arg.slice(2)] = "true";
      continue;
    }
    if (!arg.startsWith("--") || arg.length < 3)
      throw new Error(`unexpected argument "${arg}" (flags look like --key value; see --help)`);
    let name = arg.slice(2);
    let value: string | undefined;
    const eq = name.indexOf("=");
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    } else {
      value = argv[i + 1];
      if (value === undefined || (value.startsWith("--") && value.length > 2))
        throw new Error(`--${name} needs a value`);
      i++;
    }
    if (!isFlag(name)) {
      const meant = likelyKey(name);
      throw new Error(`unknown flag --${name} (${meant ? `did you mean --${meant}? ` : ""}see --help)`);
    }
    flags[name] = value;
  }

  const file = flags.config ?? "device.json";
  const text = readFile(file);
  if (text === undefined && flags.config !== undefined) throw new Error(`cannot read --config file ${file}`);
  let fromFile: Record<string, unknown> = {};
  if (text !== undefined) {
    try {
      fromFile = JSON.parse(text);
    } catch (error) {
      throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
    }
    if (fromFile === null || typeof fromFile !== "object" || Array.isArray(fromFile))
      throw new Error(`${file}: expected a JSON object of settings`);
  }

  const settings: Record<string, unknown> = {};
  for (const name of Object.keys(flags)) if (isConfigKey(name)) settings[name] = flags[name];
  // The Node simulator's own default: no web page unless --web says where.
  const { config, errors } = buildConfig({ web: "off" }, fromFile, settings);
  if (errors.length) throw new Error(errors[0]);

  let broker: BrokerAddress | undefined;
  if (config.broker) {
    broker = parseBroker(config.broker);
    if (!broker) throw new Error(`bad value "${config.broker}" for "broker"`);
  }
  return {
    config,
    broker,
    port: number("port", flags.port, 1883, 0, 65535),
    http: number("http", flags.http, 8080, 0, 65535),
    devices: number("devices", flags.devices, 1, 1, MAX_DEVICES),
    first: number("first", flags.first, 1, 1, 1e9),
    faults: parseFaults(flags.faults ?? ""),
    data: flags.data ?? "data",
    fresh: flags.fresh === "true",
    sequence: flags.sequence === "true",
    host: flags.host ?? "127.0.0.1",
    brokerUser: flags.brokerUser,
    brokerPassword: flags.brokerPassword,
    db: flags.db ?? `${(flags.data ?? "data").replace(/\/+$/, "")}/telemetry.db`,
    retention: number("retention", flags.retention, 30, 1, 36500),
    setup: flags.setup === "true",
    help,
  };
}

function isFlag(name: string): boolean {
  return (
    isConfigKey(name) ||
    [
      "port",
      "http",
      "devices",
      "first",
      "faults",
      "config",
      "data",
      "host",
      "brokerUser",
      "brokerPassword",
      "db",
      "retention",
    ].indexOf(name) >= 0
  );
}

function number(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!(n >= min && n <= max))
    throw new Error(`bad value "${value}" for --${name}: expected an integer from ${min} to ${max}`);
  return n;
}

/** `sensor=0.2,wifi=30s`: sensor as a rate 0–1 (or a percentage), wifi as a period in s or ms. */
export function parseFaults(spec: string): Faults {
  const faults: Faults = { sensor: 0, wifi: 0 };
  for (const part of spec.split(",")) {
    if (part.trim() === "") continue;
    const [key, value = ""] = part.split("=").map((s) => s.trim());
    if (key === "sensor") {
      const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(value);
      const rate = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
      if (!(rate >= 0 && rate <= 1))
        throw new Error(`bad --faults sensor=${value}: expected a rate from 0 to 1, e.g. sensor=0.2`);
      faults.sensor = rate;
    } else if (key === "wifi") {
      const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value);
      const ms = m ? Number(m[1]) * (m[2] === "ms" ? 1 : m[2] === "m" ? 60000 : 1000) : NaN;
      if (!(ms >= 1000)) throw new Error(`bad --faults wifi=${value}: expected a period of at least 1s, e.g. wifi=30s`);
      faults.wifi = ms;
    } else {
      throw new Error(`unknown fault "${key}" in --faults (known: sensor=RATE, wifi=PERIOD)`);
    }
  }
  return faults;
}

function readIfExists(path: string): string | undefined {
  try {
    return fs.readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}
