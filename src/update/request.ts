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

// Checked with loops, not regular expressions: this module is preloaded, and
// exec() of a RegExp made while preloading corrupts the XS heap when a garbage
// collection comes during it (see ../mqtt/codec.ts, topics).

/** `http(s)://host[:port][/path][#fragment]`, or undefined. */
export function parseUrl(text: string): Location | undefined {
  const n = text.length;
  if (n > MAX_URL) return undefined;
  const tls = text.startsWith("https://");
  if (!tls && !text.startsWith("http://")) return undefined;
  let at = tls ? 8 : 7;
  // An IPv6 address in brackets, or a name / IPv4 address.
  const bracket = text.charCodeAt(at) === 0x5b;
  const start = bracket ? at + 1 : at;
  let end = start;
  while (end < n && (bracket ? isIpv6Char(text.charCodeAt(end)) : isHostChar(text.charCodeAt(end)))) end++;
  if (end === start || (bracket && text.charCodeAt(end) !== 0x5d)) return undefined;
  const host = text.slice(start, end);
  at = bracket ? end + 1 : end;
  let port = tls ? 443 : 80;
  if (text.charCodeAt(at) === 0x3a) {
    // 1 to 5 digits.
    end = at + 1;
    while (end < n && end - at <= 5 && isDigit(text.charCodeAt(end))) end++;
    if (end === at + 1) return undefined;
    port = Number(text.slice(at + 1, end));
    at = end;
  }
  let path = "/";
  if (text.charCodeAt(at) === 0x2f) {
    end = at;
    while (end < n && text.charCodeAt(end) !== 0x23 && !isSpace(text.charCodeAt(end))) end++;
    path = text.slice(at, end);
    at = end;
  }
  // A fragment, ignored.
  if (text.charCodeAt(at) === 0x23) while (at < n && !isSpace(text.charCodeAt(at))) at++;
  if (at !== n || port < 1 || port > 65535) return undefined;
  return { tls, host, port, path };
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** A-Z a-z 0-9 . - _ */
function isHostChar(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2e || c === 0x2d || c === 0x5f;
}

/** 0-9 a-f A-F : . */
function isIpv6Char(c: number): boolean {
  return isHex(c) || c === 0x3a || c === 0x2e;
}

/** What `\s` matches in a regular expression: white space and line terminators. */
function isSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** Printable ASCII without space (U+0021 to U+007E), at least one character. */
function isVersionText(text: string): boolean {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return n > 0;
}

/** A redirect's `Location`: absolute, or a path on the same server. */
export function resolveLocation(base: Location, location: string): Location | undefined {
  if (location.charAt(0) === "/" && location.charAt(1) !== "/")
    return { tls: base.tls, host: base.host, port: base.port, path: location };
  return parseUrl(location);
}

/** Undefined when `version` is acceptable, else why not. */
export function checkVersion(version: unknown): string | undefined {
  if (typeof version !== "string" || version.length === 0)
    return `"version" must be the firmware's version text, e.g. "0.2.0"`;
  if (version.length > MAX_VERSION || !isVersionText(version))
    return `"version" must be 1-${MAX_VERSION} printable characters without spaces`;
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
  if (value === null || typeof value !== "object" || Array.isArray(value))
    return { error: `ota/set ${usage}`, version: "" };
  const input = value as Record<string, unknown>;
  const version = typeof input.version === "string" && checkVersion(input.version) === undefined ? input.version : "";
  for (const key of Object.keys(input)) {
    if (key !== "url" && key !== "sha256" && key !== "version")
      return { error: `ota/set: unknown field "${key}" (${usage})`, version };
  }
  const bad = checkVersion(input.version);
  if (bad) return { error: `ota/set: ${bad}`, version };
  const location = typeof input.url === "string" ? parseUrl(input.url.trim()) : undefined;
  if (!location)
    return {
      error: `ota/set: "url" must be an http:// or https:// address of at most ${MAX_URL} characters, e.g. "http://192.168.1.10:8000/firmware.bin"`,
      version,
    };
  const sha256 = new Uint8Array(32);
  if (typeof input.sha256 !== "string" || !parseDigest(input.sha256.trim(), sha256))
    return { error: `ota/set: "sha256" must be the image's SHA-256 as 64 hex digits`, version };
  return { location, sha256, version: input.version as string };
}
