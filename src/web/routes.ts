/**
 * The device's own web page and JSON API (../../../shared/interface.md, "The
 * device's web page and set-up"):
 *
 *   GET  /               the page (kept in flash; gzip when the browser takes it)
 *   GET  /state.json     {"id","version","temp","hum","readingAge","led","mqtt","uptime","rssi","heap","buffered","dropped"}
 *   GET  /diag.json      the diag figures, the last errors, set-up mode (for the page)
 *   GET  /settings.json  every configuration key in effect; secrets only as set / not set (for the page's form)
 *   POST /led            any led/set body
 *   POST /settings       configuration keys, form-encoded or JSON; kept, then the device restarts; reset=true forgets them
 *
 * Changes need HTTP Basic admin:<webPassword> when one is set. Passwords are
 * never part of any answer.
 */

import type { App } from "../app/app";
import { MAX_COMMAND, parseLedCommand } from "../app/command";
import { CONFIG_KEYS, parseValue, SECRET_KEYS } from "../app/config";
import { forget, keep, keptKeys } from "../app/settings";
import type { Clock, HttpReply, Log, Store } from "../ports";
import { parseFields } from "./form";
import { json, text, type WebRequest, type WebServer } from "./server";

/** The page as built by page/build.ts: plain, and gzip-compressed when that is smaller. */
export interface WebPage {
  html: Uint8Array;
  gzip?: Uint8Array;
}

export interface DeviceWeb {
  app: App;
  clock: Clock;
  log: Log;
  store?: Store;
  page?: WebPage;
  /** True while the device is in set-up mode (its access point is open). */
  setup(): boolean;
  /** Restarts the device (settings apply then); undefined: at the next power-up. */
  restart?(): void;
}

/** The answer goes out before the device restarts. */
export const RESTART_DELAY = 500;
/** Largest body of POST /led and POST /settings, bytes. */
export const MAX_LED_BODY = MAX_COMMAND * 4;
export const MAX_SETTINGS_BODY = 4096;

export function addDeviceRoutes(server: WebServer, device: DeviceWeb): void {
  let scheduled = false;
  const restartLater = (answer: Record<string, unknown>): HttpReply => {
    const restart = device.restart;
    answer.restart = restart !== undefined;
    if (restart && !scheduled) {
      scheduled = true;
      device.log(`web: restarting in ${RESTART_DELAY} ms to apply the settings`);
      device.clock.set(() => restart(), RESTART_DELAY);
    }
    return json(200, answer);
  };
  server.add({ method: "GET", path: "/", handle: (request) => page(device.page, request) });
  server.add({ method: "GET", path: "/state.json", handle: () => json(200, state(device)) });
  server.add({ method: "GET", path: "/diag.json", handle: () => json(200, diag(device)) });
  server.add({ method: "GET", path: "/settings.json", handle: () => json(200, settings(device)) });
  server.add({
    method: "POST",
    path: "/led",
    change: true,
    maxBody: MAX_LED_BODY,
    handle: (_request, body) => led(device, body),
  });
  server.add({
    method: "POST",
    path: "/settings",
    change: true,
    maxBody: MAX_SETTINGS_BODY,
    handle: (request, body) => change(device, request, body, restartLater),
  });
}

function page(built: WebPage | undefined, request: WebRequest): HttpReply {
  if (!built)
    return text(503, "the page is not part of this build (npm run page builds it); the JSON API works: /state.json");
  const headers: Record<string, string> = {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-cache",
    vary: "accept-encoding",
  };
  const accepted = request.header("accept-encoding") ?? "";
  if (built.gzip && /\bgzip\b/i.test(accepted)) {
    headers["content-encoding"] = "gzip";
    return { status: 200, headers, body: built.gzip };
  }
  return { status: 200, headers, body: built.html };
}

/** Whole seconds between two clock times. */
function seconds(from: number, to: number): number {
  return Math.floor((to - from) / 1000);
}

function state(device: DeviceWeb): Record<string, unknown> {
  const { app, clock } = device;
  const diag = app.diagnostics();
  const reading = app.telemetry.last;
  const at = app.telemetry.lastAt;
  return {
    id: app.id,
    version: diag.version,
    temp: reading ? reading.temp : null,
    hum: reading ? reading.hum : null,
    readingAge: reading && at !== undefined ? seconds(at, clock.now()) : null,
    led: app.led ? "ON" : "OFF",
    mqtt: app.client.connected ? "online" : "offline",
    uptime: diag.uptime,
    rssi: diag.rssi,
    heap: diag.heap,
    buffered: diag.buffered,
    dropped: diag.dropped,
  };
}

function diag(device: DeviceWeb): Record<string, unknown> {
  const { app, clock } = device;
  const now = clock.now();
  return {
    diag: app.diagnostics(),
    errors: app.recentErrors.map((e) => ({ code: e.code, detail: e.detail, age: seconds(e.at, now) })),
    mqtt: app.client.connected ? "online" : app.client.lastError || app.client.state,
    setup: device.setup(),
  };
}

function settings(device: DeviceWeb): Record<string, unknown> {
  const config = device.app.config as unknown as Record<string, unknown>;
  const values: Record<string, unknown> = {};
  const secrets: Record<string, boolean> = {};
  for (const key of CONFIG_KEYS) {
    if (SECRET_KEYS.indexOf(key) >= 0) secrets[key] = config[key] !== "";
    else values[key] = key === "id" ? device.app.id : config[key];
  }
  return { values, secrets, kept: keptKeys(device.store), setup: device.setup() };
}

function led(device: DeviceWeb, body: string): HttpReply {
  const parsed = parseLedCommand(body);
  if ("error" in parsed) return text(400, parsed.error);
  device.app.command(parsed.command);
  return json(200, { led: device.app.led ? "ON" : "OFF" });
}

/**
 * Validates every field first (nothing is kept unless all are good), keeps
 * them, answers, and restarts shortly after so that they apply.
 */
function change(
  device: DeviceWeb,
  request: WebRequest,
  body: string,
  restartLater: (answer: Record<string, unknown>) => HttpReply,
): HttpReply {
  const parsed = parseFields(body, request.header("content-type"));
  if ("error" in parsed) return text(400, parsed.error);
  const fields = parsed.fields;
  const names = Object.keys(fields);
  let reset = false;
  const values: Record<string, unknown> = {};
  for (const name of names) {
    if (name === "reset") {
      const flag = fields[name];
      const on = flag === true || flag === "true" || flag === "1" || flag === "on";
      if (!on && !(flag === false || flag === "false" || flag === "0" || flag === ""))
        return text(400, `bad value ${JSON.stringify(flag)} for "reset": expected true`);
      reset = on;
      continue;
    }
    const result = parseValue(name, fields[name]);
    if ("error" in result) return text(400, result.error);
    values[name] = result.value;
  }
  const keys = Object.keys(values);
  if (reset) {
    if (keys.length) return text(400, `reset=true takes no settings with it (got ${keys.join(", ")})`);
    const refused = forget(device.store);
    if (refused) return text(500, refused);
    device.log("web: settings reset to the build-time ones");
    return restartLater({ reset: true });
  }
  if (!keys.length)
    return text(400, "no settings given: send configuration keys (form-encoded or JSON), or reset=true");
  const refused = keep(device.store, values);
  if (refused) return text(500, refused);
  device.log(`web: kept ${keys.join(", ")}`);
  return restartLater({ saved: keys });
}
