/**
 * The device entry (ESP32 and the Moddable simulator): configuration from
 * `mc/config`, the Moddable ports, and the core's one boot path.
 *
 * A restart (settings saved on the web page) reboots the ESP32; the Moddable
 * simulator cannot reboot itself, so there the app is stopped cleanly and
 * booted again in place, with what Preference kept.
 */

import Resource from "Resource";
import {
  announce,
  BOARD,
  BOARD_DEFAULTS,
  defaultId,
  FALLBACK_RSSI,
  freeHeap,
  makeCapture,
  makeLed,
  makeUpdate,
  NEEDS_SSID,
  openFlash,
  portal,
  RESTART,
  startClock,
} from "device/board";
import mcConfig from "mc/config";
import { buildConfig, CONFIG_KEYS, isConfigKey, likelyKey } from "../app/config";
import { type BootPorts, boot, type Device } from "../boot";
import type { WebPage } from "../web/routes";
import { clock } from "./clock";
import { cryptSha256 } from "./digest";
import { deviceHttpClient } from "./http-client";
import { deviceHttpServer } from "./http-server";
import { deviceSocket } from "./socket";
import { preferenceStore } from "./store";
import { moddableWiFi } from "./wifi";

const log = (line: string): void => trace(`${line}\n`);

// mc/config also carries the SDK's own settings: take ours, and refuse
// what looks like a misspelling of ours (`intervall=`, `Broker=`).
const source = mcConfig as Record<string, unknown>;
const layer: Record<string, unknown> = {};
for (const key of CONFIG_KEYS) if (source[key] !== undefined) layer[key] = source[key];
const typos: string[] = [];
for (const key of Object.keys(source)) {
  const meant = isConfigKey(key) ? undefined : likelyKey(key);
  if (meant) typos.push(`unknown key "${key}" (did you mean "${meant}"?)`);
}
const built = buildConfig(BOARD_DEFAULTS, layer);

/** The page, kept in flash as resources (npm run page builds them; manifest.json "data"). */
function page(): WebPage | undefined {
  if (!Resource.exists("page.html")) {
    log("web: no page.html resource in this build (run npm run page before mcconfig); the JSON API still works");
    return undefined;
  }
  return {
    html: new Uint8Array(new Resource("page.html")),
    gzip: Resource.exists("page.html.gz") ? new Uint8Array(new Resource("page.html.gz")) : undefined,
  };
}

let device: Device | undefined;
let restarting = false;

const ports: BootPorts = {
  clock,
  socket: deviceSocket,
  // One Wi-Fi port for the life of the program: the SDK's wifi module allows one instance.
  wifi: moddableWiFi({ fallbackRssi: FALLBACK_RSSI, portal }),
  log,
  store: preferenceStore("dhtmqtt"),
  led: (pin) => makeLed(pin, log),
  capture: (pin, model) => makeCapture(pin, model, () => clock.now()),
  heap: freeHeap,
  flash: (byteLength) => openFlash(byteLength, log),
  wallClock: () => Date.now(),
  http: deviceHttpServer,
  page: page(),
  announce: (name, port) => announce(name, port, log),
  update: makeUpdate(log),
  httpClient: deviceHttpClient,
  sha256: cryptSha256,
  // Say goodbye to the broker (offline), then reboot; the simulator cannot reboot, so it boots again in place.
  restart: () => {
    if (restarting || !device) return;
    restarting = true;
    log(RESTART ? "restarting" : "restarting (in place: the simulator cannot reboot)");
    device.stop(() => {
      if (RESTART) {
        RESTART();
        return;
      }
      device = start();
      restarting = false;
    });
  },
};

function start(): Device {
  return boot(built.config, typos.concat(built.errors), ports, { board: BOARD, defaultId, needsSsid: NEEDS_SSID });
}

device = start();
// The time server in effect (a kept setting wins over the build's).
startClock(device.app.config.ntp, log);
