/**
 * The device entry (ESP32 and the Moddable simulator): configuration from
 * `mc/config`, the Moddable ports, and the core's one boot path.
 */
import mcConfig from "mc/config";
import { boot } from "../boot";
import { buildConfig, CONFIG_KEYS, isConfigKey, likelyKey } from "../app/config";
import { BOARD, FALLBACK_RSSI, NEEDS_SSID, defaultId, freeHeap, makeCapture, makeLed, makeUpdate, openFlash, restartDevice, startClock } from "device/board";
import { deviceHttp } from "./http";
import { cryptSha256 } from "./digest";
import { clock } from "./clock";
import { deviceSocket } from "./socket";
import { preferenceStore } from "./store";
import { moddableWiFi } from "./wifi";

const log = (line: string): void => trace(line + "\n");

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
const built = buildConfig(layer);

// Restarting (into a new firmware): say goodbye to the broker first, then reboot.
const restart = restartDevice;
const device = boot(
  built.config,
  typos.concat(built.errors),
  {
    clock,
    socket: deviceSocket,
    wifi: moddableWiFi(FALLBACK_RSSI),
    log,
    store: preferenceStore("dhtmqtt"),
    led: (pin) => makeLed(pin, log),
    capture: (pin, model) => makeCapture(pin, model, () => clock.now()),
    heap: freeHeap,
    flash: (byteLength) => openFlash(byteLength, log),
    wallClock: () => Date.now(),
    update: makeUpdate(log),
    http: deviceHttp,
    sha256: cryptSha256,
    restart: restart ? () => (device ? device.stop(restart) : restart()) : undefined,
  },
  { board: BOARD, defaultId, needsSsid: NEEDS_SSID },
);
startClock(built.config.ntp, log);
