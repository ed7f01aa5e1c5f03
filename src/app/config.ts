/**
 * The device's configuration: one set of names for `mcconfig key=value`, the
 * simulator's `--key value` flags, `device.json` and `config/set`.
 * Unknown keys and bad values are refused with a message naming the key and
 * the allowed values.
 */
import { checkTopicLevel } from "../mqtt/topic";

export type SensorModel = "dht11" | "dht22";
export type Profile = "default" | "losant";
export type SessionMode = "persistent" | "clean";
export type LedRestore = "last" | "on" | "off";

export interface Config {
  ssid: string;
  password: string;
  /** `mqtt://host[:port]`, `mqtts://host[:port]` or a bare host; "" means the platform's default. */
  broker: string;
  mqttUser: string;
  mqttPassword: string;
  ca: string;
  /** Device id and MQTT client id; "" means the platform's default. */
  id: string;
  prefix: string;
  interval: number;
  sensor: SensorModel;
  dhtPin: number;
  ledPin: number;
  qos: 0 | 1 | 2;
  keepalive: number;
  retain: boolean;
  discovery: string;
  profile: Profile;
  /** `persistent`: cleanSession 0, so QoS 1 commands sent while offline arrive after reconnecting. */
  session: SessionMode;
  /** LED state after power-up: the last accepted command (kept in the store), on or off. */
  ledRestore: LedRestore;
  /** Readings kept in flash while the broker is unreachable, replayed in capture order; 0 disables. */
  buffer: number;
  /** SNTP server for the wall clock (device only), or `off`. */
  ntp: string;
  /** TCP port of the device's own web page and JSON API, or `off`. */
  web: number | "off";
  /** HTTP Basic password (user `admin`) for changes made over the web; "" leaves them open. */
  webPassword: string;
  /** WPA2 password of the set-up access point (8-63 characters); "" opens it without one. */
  apPassword: string;
}

export const DEFAULTS: Readonly<Config> = {
  ssid: "",
  password: "",
  broker: "",
  mqttUser: "",
  mqttPassword: "",
  ca: "",
  id: "",
  prefix: "devices",
  interval: 10000,
  sensor: "dht11",
  dhtPin: 4,
  ledPin: 2,
  qos: 1,
  keepalive: 30,
  retain: true,
  discovery: "homeassistant",
  profile: "default",
  session: "persistent",
  ledRestore: "last",
  buffer: 8640,
  ntp: "pool.ntp.org",
  web: 80,
  webPassword: "",
  apPassword: "",
};

type Parse = (value: unknown) => unknown;

const text: Parse = (v) => (typeof v === "string" ? v : undefined);
/** One level of every topic of the device (src/mqtt/topic.ts): an id or a prefix. */
const topicLevel: Parse = (v) => (typeof v === "string" && checkTopicLevel(v) === null ? v : undefined);
const integer =
  (min: number, max: number): Parse =>
  (v) => {
    const n = typeof v === "number" ? v : typeof v === "string" && /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
    return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
  };
const oneOf =
  (...values: string[]): Parse =>
  (v) => {
    const s = typeof v === "string" ? v.trim().toLowerCase() : v;
    return values.indexOf(s as string) >= 0 ? s : undefined;
  };
const bool: Parse = (v) => {
  if (v === true || v === false) return v;
  const s = typeof v === "string" ? v.trim().toLowerCase() : "";
  return s === "true" || s === "1" ? true : s === "false" || s === "0" ? false : undefined;
};
const qos: Parse = (v) => integer(0, 2)(v);
const port: Parse = (v) => (typeof v === "string" && v.trim().toLowerCase() === "off" ? "off" : integer(1, 65535)(v));
/** A WPA2 passphrase: 8-63 printable ASCII characters; or "" for none. */
const passphrase: Parse = (v) => (typeof v === "string" && (v === "" || /^[\x20-\x7e]{8,63}$/.test(v)) ? v : undefined);
const shortText: Parse = (v) => (typeof v === "string" && v.length <= 64 ? v : undefined);

/** Each key: its parser and the allowed values as a user reads them. */
const KEYS: { [K in keyof Config]: [Parse, string] } = {
  ssid: [text, "a Wi-Fi network name"],
  password: [text, "a Wi-Fi password"],
  broker: [
    (v) => (typeof v === "string" && (v === "" || parseBroker(v)) ? v : undefined),
    "mqtt://host[:port], mqtts://host[:port] or a host name",
  ],
  mqttUser: [text, "a user name"],
  mqttPassword: [text, "a password"],
  ca: [text, "a CA certificate (PEM file or resource name)"],
  id: [topicLevel, "1-64 bytes without / + #"],
  prefix: [topicLevel, "1-64 bytes without / + #"],
  interval: [integer(1000, 86400000), "an integer number of ms from 1000 to 86400000"],
  sensor: [oneOf("dht11", "dht22"), "dht11 or dht22"],
  dhtPin: [integer(0, 48), "a GPIO number from 0 to 48"],
  ledPin: [integer(0, 48), "a GPIO number from 0 to 48"],
  qos: [qos, "0, 1 or 2"],
  keepalive: [integer(5, 600), "an integer number of seconds from 5 to 600"],
  retain: [bool, "true or false"],
  discovery: [(v) => (v === "off" ? v : topicLevel(v)), "a topic prefix such as homeassistant, or off"],
  profile: [oneOf("default", "losant"), "default or losant"],
  session: [oneOf("persistent", "clean"), "persistent or clean"],
  ledRestore: [oneOf("last", "on", "off"), "last, on or off"],
  buffer: [integer(0, 100000), "an integer number of readings from 0 to 100000 (0: off)"],
  ntp: [
    (v) => (typeof v === "string" && (v === "off" || /^[A-Za-z0-9.-]{1,253}$/.test(v)) ? v : undefined),
    "a time server host name, or off",
  ],
  web: [port, "a TCP port from 1 to 65535, or off"],
  webPassword: [shortText, "a password of up to 64 characters (empty: changes over the web are open)"],
  apPassword: [passphrase, "8 to 63 printable ASCII characters (WPA2), or empty for an open access point"],
};

/** Keys whose values are never shown or sent anywhere: only whether one is set. */
export const SECRET_KEYS: readonly string[] = ["password", "mqttPassword", "webPassword", "apPassword"];

/** Keys whose value is a level of the device's topics (id, prefix) or of Home Assistant's (discovery). */
const TOPIC_KEYS: readonly string[] = ["id", "prefix", "discovery"];

export const CONFIG_KEYS = Object.keys(KEYS) as (keyof Config)[];

/**
 * The configuration key `key` was probably meant to be (same letters in
 * another case, or an edit or two away: none for keys of up to 3 letters, one
 * up to 5, two beyond), or undefined.
 */
export function likelyKey(key: string): keyof Config | undefined {
  const lower = key.toLowerCase();
  let best: keyof Config | undefined;
  let bestDistance = Infinity;
  for (const known of CONFIG_KEYS) {
    const target = known.toLowerCase();
    const limit = target.length <= 3 ? 1 : target.length <= 5 ? 2 : 3;
    const distance = target === lower ? 0 : editDistance(lower, target, limit);
    if (distance < limit && distance < bestDistance) {
      best = known;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance, or `limit` when it is at least that. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let previous: number[] = [];
  for (let j = 0; j <= b.length; j++) previous.push(j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      const value = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
      current.push(value);
      if (value < rowMin) rowMin = value;
    }
    if (rowMin >= limit) return limit;
    previous = current;
  }
  return Math.min(previous[b.length], limit);
}

export function isConfigKey(key: string): key is keyof Config {
  return Object.hasOwn(KEYS, key);
}

/**
 * Checks one key/value pair. Returns the parsed value, or an error message
 * naming the key and the allowed values.
 */
export function parseValue(key: string, value: unknown): { value: unknown } | { error: string } {
  if (!isConfigKey(key)) {
    const meant = likelyKey(key);
    return {
      error: `unknown key "${key}" (${meant ? `did you mean "${meant}"? ` : ""}known keys: ${CONFIG_KEYS.join(", ")})`,
    };
  }
  const [parse, allowed] = KEYS[key];
  const parsed = parse(value);
  if (parsed !== undefined) return { value: parsed };
  // Why a string cannot be a topic level, for the keys that make topics.
  const fault = TOPIC_KEYS.indexOf(key) >= 0 && typeof value === "string" ? checkTopicLevel(value) : null;
  // A refused secret is never echoed: the message may reach a log, the broker or a web page.
  return {
    error: `bad value ${SECRET_KEYS.indexOf(key) >= 0 ? "" : `${JSON.stringify(value)} `}for "${key}": ${fault ? `it would make a bad topic (${fault}); ` : ""}expected ${allowed}`,
  };
}

/**
 * Builds a configuration from defaults plus the given layers, later layers
 * winning. Every bad key or value is reported; good ones still apply.
 */
export function buildConfig(...layers: Record<string, unknown>[]): { config: Config; errors: string[] } {
  const config: Config = { ...DEFAULTS };
  const errors: string[] = [];
  const record = config as unknown as Record<string, unknown>;
  for (const layer of layers) {
    for (const key of Object.keys(layer)) {
      const result = parseValue(key, layer[key]);
      if ("error" in result) errors.push(result.error);
      else record[key] = result.value;
    }
  }
  normalize(config);
  return { config, errors };
}

/** Rules between keys, applied after every layer: the losant profile has no retained messages and QoS ≤ 1. */
export function normalize(config: Config): void {
  if (config.profile === "losant") {
    config.retain = false;
    if (config.qos > 1) config.qos = 1;
  }
}

export interface BrokerAddress {
  tls: boolean;
  host: string;
  port: number;
}

/** `mqtt://host[:port]`, `mqtts://host[:port]` or a bare host (with an optional port). */
export function parseBroker(url: string): BrokerAddress | undefined {
  const match = /^(?:(mqtts?|tcp|ssl):\/\/)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.\-_]+)(?::(\d{1,5}))?\/?$/.exec(url.trim());
  if (!match) return undefined;
  const tls = match[1] === "mqtts" || match[1] === "ssl";
  const port = match[3] ? Number(match[3]) : tls ? 8883 : 1883;
  if (port < 1 || port > 65535) return undefined;
  let host = match[2];
  if (host.charAt(0) === "[") host = host.slice(1, -1);
  return { tls, host, port };
}
