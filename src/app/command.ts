/**
 * LED commands as users send them: `ON`, `OFF`, `TOGGLE`, `1`/`0`,
 * `true`/`false`, or JSON `{"state":"ON"|"OFF"|"TOGGLE"}`, in any case, with
 * surrounding whitespace ignored. Losant-style `{"name":"led","payload":{"state":…}}`
 * and `{"name":"toggle"}` are understood for the `losant` profile.
 */

export type LedCommand = "ON" | "OFF" | "TOGGLE";

export type Parsed = { command: LedCommand } | { error: string };

/** Longest command payload looked at, bytes. */
export const MAX_COMMAND = 256;

const WORDS: { [word: string]: LedCommand } = {
  ON: "ON",
  OFF: "OFF",
  TOGGLE: "TOGGLE",
  "1": "ON",
  "0": "OFF",
  TRUE: "ON",
  FALSE: "OFF",
};

/** A JSON `state` value: ON, OFF or TOGGLE in any case. */
function word(value: unknown): LedCommand | undefined {
  if (typeof value !== "string") return undefined;
  const key = value.trim().toUpperCase();
  return key === "ON" || key === "OFF" || key === "TOGGLE" ? key : undefined;
}

/** Parses the `led/set` payload. */
export function parseLedCommand(text: string): Parsed {
  if (text.length > MAX_COMMAND) return { error: `command too long (${text.length} > ${MAX_COMMAND} characters)` };
  const trimmed = text.trim();
  if (trimmed === "") return { error: "empty command" };
  if (trimmed.charAt(0) === "{") {
    const object = parseObject(trimmed);
    if (!object) return { error: `not valid JSON: ${quote(trimmed)}` };
    const key = Object.keys(object).find((k) => k.toLowerCase() === "state");
    if (key === undefined) return { error: `expected {"state":"ON"|"OFF"|"TOGGLE"}, got ${quote(trimmed)}` };
    const command = word(object[key]);
    return command
      ? { command }
      : { error: `bad state ${quote(JSON.stringify(object[key]))}: expected ON, OFF or TOGGLE` };
  }
  const key = trimmed.toUpperCase();
  if (Object.hasOwn(WORDS, key)) return { command: WORDS[key] };
  return { error: `unknown command ${quote(trimmed)}: expected ON, OFF, TOGGLE, 1, 0, true, false or {"state":…}` };
}

/** Parses a Losant device command: `{"name":"led","payload":{"state":"ON"}}` or `{"name":"toggle"}`. */
export function parseLosantCommand(text: string): Parsed {
  if (text.length > MAX_COMMAND) return { error: `command too long (${text.length} > ${MAX_COMMAND} characters)` };
  const object = parseObject(text.trim());
  if (!object || typeof object.name !== "string") return { error: `expected {"name":…}, got ${quote(text.trim())}` };
  const name = object.name.trim().toLowerCase();
  if (name === "toggle") return { command: "TOGGLE" };
  if (name === "led") {
    const payload = object.payload;
    const state = payload && typeof payload === "object" ? (payload as Record<string, unknown>).state : undefined;
    const command = word(state);
    if (command) return { command };
    return { error: `bad led payload ${quote(JSON.stringify(payload) ?? "")}: expected {"state":"ON"|"OFF"|"TOGGLE"}` };
  }
  return { error: `unknown command name ${quote(object.name)}: expected led or toggle` };
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Quotes user input for an error detail, shortened. */
function quote(text: string): string {
  const short = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return JSON.stringify(short);
}
