/**
 * Topic names and fixed payloads of one device, from its configuration.
 */
import type { Config } from "./config";

export interface Topics {
  state: string;
  /** `led/set` (default profile) or `command` (losant). */
  command: string;
  /** Empty in the losant profile, which has only `state` and `command`. */
  led: string;
  status: string;
  error: string;
  diag: string;
  configSet: string;
  config: string;
  /** Firmware update requests and answers (empty in the losant profile). */
  otaSet: string;
  ota: string;
}

export function topicsFor(config: Config, id: string): Topics {
  if (config.profile === "losant") {
    const base = `losant/${id}`;
    return {
      state: `${base}/state`,
      command: `${base}/command`,
      led: "",
      status: "",
      error: "",
      diag: "",
      configSet: "",
      config: "",
      otaSet: "",
      ota: "",
    };
  }
  const base = `${config.prefix}/${id}`;
  return {
    state: `${base}/state`,
    command: `${base}/led/set`,
    led: `${base}/led`,
    status: `${base}/status`,
    error: `${base}/error`,
    diag: `${base}/diag`,
    configSet: `${base}/config/set`,
    config: `${base}/config`,
    otaSet: `${base}/ota/set`,
    ota: `${base}/ota`,
  };
}

/** One decimal at most, and never `-0`. */
export function round1(x: number): number {
  const r = Math.round(x * 10) / 10;
  return r === 0 ? 0 : r;
}

export interface DiscoveryInfo {
  id: string;
  model: string;
  version: string;
}

/**
 * Home Assistant MQTT discovery: three retained configs that make one device
 * with a temperature sensor, a humidity sensor and a light.
 */
export function discoveryMessages(
  config: Config,
  topics: Topics,
  info: DiscoveryInfo,
): { topic: string; payload: string }[] {
  if (config.discovery === "off" || config.profile !== "default") return [];
  const { id } = info;
  const device = {
    identifiers: [id],
    name: id,
    model: info.model,
    manufacturer: "Espressif",
    sw_version: info.version,
  };
  const common = {
    availability_topic: topics.status,
    payload_available: "online",
    payload_not_available: "offline",
    device,
  };
  const sensor = (kind: "temperature" | "humidity", unit: string, field: string) => ({
    topic: `${config.discovery}/sensor/${id}/${kind}/config`,
    payload: JSON.stringify({
      name: kind === "temperature" ? "Temperature" : "Humidity",
      unique_id: `${id}_${kind}`,
      object_id: `${id}_${kind}`,
      device_class: kind,
      state_class: "measurement",
      unit_of_measurement: unit,
      state_topic: topics.state,
      value_template: `{{ value_json.data.${field} }}`,
      ...common,
    }),
  });
  return [
    sensor("temperature", "°C", "temp"),
    sensor("humidity", "%", "hum"),
    {
      topic: `${config.discovery}/light/${id}/led/config`,
      payload: JSON.stringify({
        name: "LED",
        unique_id: `${id}_led`,
        object_id: `${id}_led`,
        command_topic: topics.command,
        state_topic: topics.led,
        payload_on: "ON",
        payload_off: "OFF",
        qos: 1,
        retain: false,
        ...common,
      }),
    },
  ];
}
