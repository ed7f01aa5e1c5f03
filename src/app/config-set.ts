/**
 * `config/set`: the settings that may change at run time (`interval`, `qos`).
 * A JSON object whose keys are all valid applies at once, is kept in the
 * store (./settings) and echoed, retained, on `config` with the values in
 * effect; anything else changes nothing and is one `bad-command` error.
 *
 * Called from the message handler: a plain function, so the echo's publish
 * is no deeper on the stack than the app's own sends.
 */
import type { QoS } from "../mqtt/packet";
import type { App } from "./app";
import { parseValue } from "./config";
import { keep } from "./settings";

/** Keys `config/set` may change. */
export const SETTABLE = ["interval", "qos"];

/** Applies `config/set`: all keys valid, or nothing changes. */
export function configure(app: App, text: string): void {
  const values = parseSettings(text);
  if (typeof values === "string") {
    app.badCommand(values);
    return;
  }
  const config = app.ownConfig();
  if (values.qos !== undefined) config.qos = values.qos as QoS;
  if (values.interval !== undefined) {
    config.interval = values.interval as number;
    app.sampler.changeInterval(config.interval);
  }
  const store = app.ports.store;
  const refused = keep(store, values);
  if (refused && store) app.ports.log(`store: ${refused}`);
  app.send(
    app.topics.config,
    JSON.stringify({ interval: app.config.interval, qos: app.config.qos }),
    1,
    app.config.retain,
    "latest",
  );
  app.changed();
}

/** The values of a `config/set` payload, each checked as configuration; or why it is refused. */
export function parseSettings(text: string): Record<string, unknown> | string {
  let object: unknown;
  try {
    object = JSON.parse(text);
  } catch {
    object = undefined;
  }
  if (object === null || typeof object !== "object" || Array.isArray(object))
    return `config/set expects a JSON object with ${SETTABLE.join(" and/or ")}`;
  const input = object as Record<string, unknown>;
  const keys = Object.keys(input);
  if (keys.length === 0) return `config/set expects at least one of ${SETTABLE.join(", ")}`;
  const values: Record<string, unknown> = {};
  for (const key of keys) {
    if (SETTABLE.indexOf(key) < 0)
      return `config/set: "${key}" cannot be set at run time (settable: ${SETTABLE.join(", ")})`;
    const result = parseValue(key, input[key]);
    if ("error" in result) return `config/set: ${result.error}`;
    values[key] = result.value;
  }
  return values;
}
