/**
 * The device entry (ESP32 and the Moddable simulator): configuration from
 * `mc/config`, Moddable ports, a Wi-Fi supervisor, and the core App.
 *
 * MQTT starts at the first address; while Wi-Fi is down it is held, and it
 * resumes as soon as the link is back.
 */
import mcConfig from "mc/config";
import { App, VERSION } from "../app/app";
import { buildConfig, CONFIG_KEYS, isConfigKey, likelyKey, parseBroker } from "../app/config";
import { createDhtSensor } from "../dht/sensor";
import { WiFiSupervisor } from "../wifi/supervisor";
import { BOARD, FALLBACK_RSSI, NEEDS_SSID, defaultId, freeHeap, makeCapture, makeLed } from "device/board";
import { clock } from "./clock";
import { deviceSocket } from "./socket";
import { preferenceStore } from "./store";
import { moddableWiFi } from "./wifi";

const log = (line: string): void => trace(line + "\n");

function start(): void {
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
  const { config } = built;
  const errors = typos.concat(built.errors);
  for (const error of errors) log(`config: ${error}`);

  const broker = config.broker ? parseBroker(config.broker) : undefined;
  if (!broker) {
    log("config: broker is required, e.g. mcconfig … broker=mqtt://192.168.1.10 (or mqtts://host:8883)");
    return;
  }
  if (!config.ssid && NEEDS_SSID) {
    log("config: ssid is required, e.g. mcconfig … ssid=MyWiFi password=secret");
    return;
  }
  const id = config.id || defaultId();
  log(`device: ${BOARD}, id ${id}, version ${VERSION}, broker ${broker.tls ? "mqtts" : "mqtt"}://${broker.host}:${broker.port}`);

  const wifi = moddableWiFi(FALLBACK_RSSI);
  let app: App | undefined;
  let started = false;
  const supervisor = new WiFiSupervisor({
    wifi,
    clock,
    ssid: config.ssid,
    password: config.password,
    log,
    onUp: () => {
      if (!app) return;
      if (started) {
        app.resume();
      } else {
        started = true;
        app.start();
      }
    },
    onDown: () => app?.hold(),
  });

  app = new App(
    config,
    {
      clock,
      socket: deviceSocket,
      led: makeLed(config.ledPin, log),
      sensor: createDhtSensor(makeCapture(config.dhtPin, config.sensor, () => clock.now()), config.sensor),
      log,
      store: preferenceStore("dhtmqtt"),
      heap: freeHeap,
      rssi: () => supervisor.rssi(),
    },
    { id, broker },
  );

  // Refused settings are reported once on the error topic, after the first connect.
  const pending = errors.slice();
  const running = app;
  if (pending.length) {
    running.onChange = () => {
      if (!pending.length || !running.client.connected || !running.topics.error) return;
      while (pending.length) {
        running.client.publish(running.topics.error, JSON.stringify({ error: "config", detail: pending.shift() }), 0);
      }
    };
  }

  supervisor.start();
}

start();
