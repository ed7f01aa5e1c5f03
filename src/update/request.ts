/**
 * What an update request says (`ota/set`, or the fields of a pushed image),
 * checked before anything is touched: bad input gets a sentence naming the
 * field and the allowed values.
 */
import { parseDigest } from "./sha256";

/** Where to download from. */
export interface Location {
  tls: boolean;
  host: string;
  port: number;
  /** Path and query, starting with "/". */
  path: string;
}

export interface UpdateRequest {
  location: Location;
  /** The image's expected SHA-256, 32 bytes. */
  sha256: Uint8Array;
  version: string;
}

/** Longest version text: it is kept in the store and sent in every diag. */
export const MAX_VERSION = 32;
const MAX_URL = 512;
const URL = /^(https?):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.\-_]+)(?::(\d{1,5}))?(\/[^\s#]*)?(?:#\S*)?$/;
const VERSION_TEXT = /^[\x21-\x7e]+$/;

/** `http(s)://host[:port][/path]`, or undefined. */
export function parseUrl(text: string): Location | undefined {
  if (text.length > MAX_URL) return undefined;
  const m = URL.exec(text);
  if (!m) return undefined;
  const tls = m[1] === "https";
  const port = m[3] ? Number(m[3]) : tls ? 443 : 80;
  if (port < 1 || port > 65535) return undefined;
  let host = m[2];
  if (host.charAt(0) === "[") host = host.slice(1, -1);
  return { tls, host, port, path: m[4] || "/" };
}

/** A redirect's `Location`: absolute, or a path on the same server. */
export function resolveLocation(base: Location, location: string): Location | undefined {
  if (location.charAt(0) === "/" && location.charAt(1) !== "/") return { tls: base.tls, host: base.host, port: base.port, path: location };
  return parseUrl(location);
}

/** Undefined when `version` is acceptable, else why not. */
export function checkVersion(version: unknown): string | undefined {
  if (typeof version !== "string" || version.length === 0) return `"version" must be the firmware's version text, e.g. "0.2.0"`;
  if (version.length > MAX_VERSION || !VERSION_TEXT.test(version)) return `"version" must be 1-${MAX_VERSION} printable characters without spaces`;
  return undefined;
}

/** The `ota/set` payload, or why it is refused (with the version it named, when it named one). */
export function parseRequest(text: string): UpdateRequest | { error: string; version: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const usage = `expects JSON {"url":"http(s)://…","sha256":"<64 hex digits>","version":"<text>"}`;
  if (value === null || typeof value !== "object" || Array.isArray(value)) return { error: `ota/set ${usage}`, version: "" };
  const input = value as Record<string, unknown>;
  const version = typeof input.version === "string" && checkVersion(input.version) === undefined ? input.version : "";
  for (const key of Object.keys(input)) {
    if (key !== "url" && key !== "sha256" && key !== "version") return { error: `ota/set: unknown field "${key}" (${usage})`, version };
  }
  const bad = checkVersion(input.version);
  if (bad) return { error: `ota/set: ${bad}`, version };
  const location = typeof input.url === "string" ? parseUrl(input.url.trim()) : undefined;
  if (!location) return { error: `ota/set: "url" must be an http:// or https:// address of at most ${MAX_URL} characters, e.g. "http://192.168.1.10:8000/firmware.bin"`, version };
  const sha256 = new Uint8Array(32);
  if (typeof input.sha256 !== "string" || !parseDigest(input.sha256.trim(), sha256)) return { error: `ota/set: "sha256" must be the image's SHA-256 as 64 hex digits`, version };
  return { location, sha256, version: input.version as string };
}
