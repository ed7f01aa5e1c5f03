/**
 * The device's own page (served by the device at "/", see src/web/routes.ts):
 * state, LED switch, diag and recent errors from the JSON API, and a form with
 * every configuration key. Built into one small HTML file by page/build.ts.
 */

interface State {
  id: string;
  version: string;
  temp: number | null;
  hum: number | null;
  readingAge: number | null;
  led: "ON" | "OFF";
  mqtt: "online" | "offline";
  uptime: number;
  rssi: number;
  heap: number;
  buffered: number;
  dropped: number;
}

interface Diag {
  diag: Record<string, number | string>;
  errors: { code: string; detail: string; age: number }[];
  mqtt: string;
  setup: boolean;
}

interface Settings {
  values: Record<string, string | number | boolean>;
  secrets: Record<string, boolean>;
  kept: string[];
  setup: boolean;
}

interface Hint {
  group: string;
  label: string;
  choices?: string[];
  number?: boolean;
  help?: string;
}

const GROUPS = ["Wi-Fi", "MQTT", "Sensor and LED", "Device"];
const HINTS: Record<string, Hint> = {
  ssid: { group: "Wi-Fi", label: "Network name" },
  password: { group: "Wi-Fi", label: "Wi-Fi password" },
  broker: { group: "MQTT", label: "Broker", help: "mqtt://192.168.1.10 — the broker's LAN address, not 127.0.0.1" },
  mqttUser: { group: "MQTT", label: "User" },
  mqttPassword: { group: "MQTT", label: "Password" },
  ca: { group: "MQTT", label: "CA for mqtts://" },
  id: { group: "MQTT", label: "Device id" },
  prefix: { group: "MQTT", label: "Topic prefix" },
  qos: { group: "MQTT", label: "Telemetry QoS", choices: ["0", "1", "2"] },
  keepalive: { group: "MQTT", label: "Keepalive, s", number: true },
  retain: { group: "MQTT", label: "Retain state and availability", choices: ["true", "false"] },
  discovery: { group: "MQTT", label: "Home Assistant discovery prefix, or off" },
  profile: { group: "MQTT", label: "Profile", choices: ["default", "losant"] },
  session: { group: "MQTT", label: "Session", choices: ["persistent", "clean"] },
  sensor: { group: "Sensor and LED", label: "Sensor", choices: ["dht11", "dht22"] },
  interval: { group: "Sensor and LED", label: "Sampling interval, ms", number: true },
  dhtPin: { group: "Sensor and LED", label: "DHT data GPIO", number: true },
  ledPin: { group: "Sensor and LED", label: "LED GPIO", number: true },
  ledRestore: { group: "Sensor and LED", label: "LED after power-up", choices: ["last", "on", "off"] },
  buffer: { group: "Sensor and LED", label: "Readings kept offline (0: off)", number: true },
  ntp: { group: "Device", label: "Time server, or off" },
  web: { group: "Device", label: "Web page port, or off" },
  webPassword: { group: "Device", label: "Web password (user admin)" },
  apPassword: { group: "Device", label: "Set-up access point password (8–63)" },
};

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

/** Empties an element (older phones lack replaceChildren). */
function empty(element: HTMLElement): HTMLElement {
  element.textContent = "";
  return element;
}

async function get<T>(path: string): Promise<T> {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return (await response.json()) as T;
}

/** POSTs a body; resolves with the status and the answer's text. */
async function post(path: string, body: string, type: string): Promise<{ status: number; text: string }> {
  const response = await fetch(path, { method: "POST", body, headers: { "content-type": type } });
  return { status: response.status, text: (await response.text()).trim() };
}

function refusal(status: number, text: string): string {
  if (status === 401) return "This needs the web password (user admin).";
  return text || `refused (${status})`;
}

function size(bytes: number): string {
  return bytes >= 1e6
    ? `${(bytes / 1e6).toFixed(1)} MB`
    : bytes >= 1e4
      ? `${(bytes / 1e3).toFixed(1)} kB`
      : `${bytes} B`;
}

function duration(s: number): string {
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

// ---------------------------------------------------------------- state

let seen: State | undefined;
let seenAt = 0;
let ledBusy = false;

function showState(s: State): void {
  seen = s;
  seenAt = Date.now();
  document.title = s.id;
  $("id").textContent = s.id;
  $("fwVersion").textContent = s.version;
  $("temp").textContent = s.temp === null ? "–" : `${s.temp.toFixed(1)} °C`;
  $("hum").textContent = s.hum === null ? "–" : `${s.hum.toFixed(1)} %RH`;
  showAge();
  if (!ledBusy) {
    $<HTMLInputElement>("led").checked = s.led === "ON";
    $("ledText").textContent = s.led;
  }
  const badge = $("mqtt");
  badge.textContent = s.mqtt === "online" ? "online" : "offline";
  badge.className = `badge ${s.mqtt}`;
}

function showAge(): void {
  const s = seen;
  if (!s || s.readingAge === null) return;
  const age = s.readingAge + Math.floor((Date.now() - seenAt) / 1000);
  $("age").textContent = `${duration(age)} ago`;
}

function showDiag(d: Diag): void {
  const rows: [string, string][] = [];
  const v = d.diag;
  rows.push(
    ["version", String(v.version)],
    ["uptime", duration(Number(v.uptime))],
    ["Wi-Fi signal", v.rssi ? `${v.rssi} dBm` : "–"],
    ["heap", size(Number(v.heap))],
  );
  for (const key of ["reconnects", "sensorErrors", "dropped", "queued", "buffered"]) rows.push([key, String(v[key])]);
  const list = empty($("diag"));
  for (const [name, value] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = value;
    list.append(dt, dd);
  }
  $("mqttError").textContent =
    d.mqtt === "online"
      ? "MQTT: connected"
      : d.mqtt === "idle"
        ? "MQTT: not started (no network or no broker yet)"
        : `MQTT: ${d.mqtt}`;
  setupMode(d.setup);
  const errors = empty($("errors"));
  if (!d.errors.length) {
    const li = document.createElement("li");
    li.className = "dim";
    li.textContent = "none";
    errors.append(li);
  }
  for (const e of d.errors.slice().reverse()) {
    const li = document.createElement("li");
    const code = document.createElement("b");
    code.textContent = e.code;
    li.append(code, ` ${e.detail} `);
    const age = document.createElement("span");
    age.className = "dim";
    age.textContent = `(${duration(e.age)} ago)`;
    li.append(age);
    errors.append(li);
  }
}

let polls = 0;

async function poll(): Promise<void> {
  try {
    showState(await get<State>("/state.json"));
    if (polls++ % 5 === 0) showDiag(await get<Diag>("/diag.json"));
    $("gone").hidden = true;
  } catch {
    $("gone").hidden = false;
    polls = 0;
  }
}

// ---------------------------------------------------------------- LED

async function switchLed(): Promise<void> {
  const input = $<HTMLInputElement>("led");
  const want = input.checked ? "ON" : "OFF";
  ledBusy = true;
  $("ledError").textContent = "";
  try {
    const r = await post("/led", want, "text/plain");
    if (r.status === 200) {
      const led = (JSON.parse(r.text) as { led: string }).led;
      input.checked = led === "ON";
      $("ledText").textContent = led;
    } else {
      input.checked = !input.checked;
      $("ledError").textContent = refusal(r.status, r.text);
    }
  } catch {
    input.checked = !input.checked;
    $("ledError").textContent = "the device does not answer";
  } finally {
    ledBusy = false;
  }
}

// ---------------------------------------------------------------- settings

/** The value each field had when the form was filled. */
const original = new Map<string, string>();

function field(
  key: string,
  value: string | number | boolean | undefined,
  secret: boolean,
  isSet: boolean,
  kept: boolean,
): HTMLElement {
  const hint = HINTS[key] ?? { group: "Device", label: key };
  const label = document.createElement("label");
  label.className = "field";
  const name = document.createElement("span");
  name.textContent = `${hint.label} `;
  const code = document.createElement("code");
  code.textContent = key;
  name.append(code);
  if (kept) name.className = "kept";
  label.append(name);
  let input: HTMLInputElement | HTMLSelectElement;
  if (hint.choices) {
    const select = document.createElement("select");
    for (const choice of hint.choices) select.append(new Option(choice, choice));
    input = select;
  } else {
    const box = document.createElement("input");
    box.type = secret ? "password" : hint.number ? "number" : "text";
    if (secret) {
      box.placeholder = isSet ? "set (leave empty to keep)" : "not set";
      box.autocomplete = "new-password";
    }
    input = box;
  }
  input.name = key;
  input.id = `f-${key}`;
  const text = secret ? "" : value === undefined ? "" : String(value);
  input.value = text;
  original.set(key, text);
  input.addEventListener("input", () => input.classList.toggle("changed", input.value !== original.get(key)));
  input.addEventListener("change", () => input.classList.toggle("changed", input.value !== original.get(key)));
  label.append(input);
  if (hint.help) {
    const small = document.createElement("small");
    small.textContent = hint.help;
    label.append(small);
  }
  if (secret && isSet) {
    const clear = document.createElement("label");
    clear.className = "field clear";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = `clear-${key}`;
    clear.append(box, "remove it");
    label.append(clear);
  }
  return label;
}

function fillForm(s: Settings): void {
  original.clear();
  const groups = new Map<string, HTMLFieldSetElement>();
  for (const name of GROUPS) {
    const set = document.createElement("fieldset");
    const legend = document.createElement("legend");
    legend.textContent = name;
    set.append(legend);
    groups.set(name, set);
  }
  const keys = Object.keys(HINTS).filter((k) => k in s.values || k in s.secrets);
  for (const k of Object.keys(s.values).concat(Object.keys(s.secrets))) if (keys.indexOf(k) < 0) keys.push(k);
  for (const key of keys) {
    const secret = key in s.secrets;
    const element = field(key, s.values[key], secret, secret && s.secrets[key], s.kept.indexOf(key) >= 0);
    groups.get((HINTS[key] ?? { group: "Device" }).group)!.append(element);
  }
  const fields = empty($("fields"));
  for (const set of groups.values()) fields.append(set);
  setupMode(s.setup);
}

/** In set-up mode the banner shows and the settings come first. */
function setupMode(on: boolean): void {
  $("setup").hidden = !on;
  document.body.classList.toggle("setup", on);
}

function changedFields(): URLSearchParams {
  const form = $<HTMLFormElement>("settings");
  const out = new URLSearchParams();
  for (const [key, before] of original) {
    const input = form.elements.namedItem(key) as HTMLInputElement | null;
    if (!input) continue;
    const clear = form.elements.namedItem(`clear-${key}`) as HTMLInputElement | null;
    if (clear?.checked) out.set(key, "");
    else if (input.type === "password" ? input.value !== "" : input.value !== before) out.set(key, input.value);
  }
  return out;
}

function say(text: string, ok: boolean): void {
  const result = $("formResult");
  result.textContent = text;
  result.className = ok ? "ok" : "error";
}

/** After a restart: wait for the device to answer again, then show what it now runs with. */
async function awaitRestart(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1500));
  for (let i = 0; i < 40; i++) {
    try {
      fillForm(await get<Settings>("/settings.json"));
      await poll();
      say("Restarted with the new settings.", true);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  say(
    "The device has not answered since its restart: it may have joined another network, or moved to another port.",
    false,
  );
}

async function send(body: URLSearchParams, done: string): Promise<void> {
  try {
    const r = await post("/settings", body.toString(), "application/x-www-form-urlencoded");
    if (r.status !== 200) {
      say(refusal(r.status, r.text), false);
      return;
    }
    const answer = JSON.parse(r.text) as { restart: boolean };
    say(answer.restart ? `${done} Restarting…` : `${done} They apply at the next start.`, true);
    if (answer.restart) await awaitRestart();
  } catch {
    say("The device does not answer.", false);
  }
}

async function save(event: Event): Promise<void> {
  event.preventDefault();
  const changed = changedFields();
  const keys = Array.from(changed.keys());
  if (!keys.length) {
    say("Nothing changed.", false);
    return;
  }
  await send(changed, `Saved ${keys.join(", ")}.`);
}

async function reset(): Promise<void> {
  if (!confirm("Forget every setting saved here and restart with the built-in ones?")) return;
  await send(new URLSearchParams({ reset: "true" }), "Saved settings forgotten.");
}

/** Sends a firmware image to POST /update, after a small authenticated request so the browser asks for the password first. */
async function update(event: Event): Promise<void> {
  event.preventDefault();
  const result = $("fwResult");
  const show = (text: string, ok: boolean) => {
    result.textContent = text;
    result.className = ok ? "ok" : "error";
  };
  const file = ($("fwFile") as HTMLInputElement).files?.[0];
  if (!file) return show("Choose an image file first.", false);
  const ready = await fetch("/update", { cache: "no-store" });
  if (ready.status !== 200) return show(refusal(ready.status, (await ready.text()).trim()), false);
  const sha = ($("fwSha") as HTMLInputElement).value.trim();
  show(`Sending ${file.name} (${size(file.size)})…`, true);
  try {
    const response = await fetch(`/update${sha ? `?sha256=${encodeURIComponent(sha)}` : ""}`, {
      method: "POST",
      body: file,
      headers: { "content-type": "application/octet-stream" },
    });
    const answer = (await response.json()) as { state: string; version: string; detail?: string };
    if (answer.state === "rebooting") {
      show(`Installed ${answer.version}. Restarting…`, true);
      await awaitRestart();
      show(`Now running ${($("fwVersion") as HTMLElement).textContent}.`, true);
    } else if (answer.state === "done") show(`${answer.version} already runs: nothing to do.`, true);
    else show(`Not installed: ${answer.detail ?? answer.state}. The running firmware is unchanged.`, false);
  } catch {
    show("The device stopped answering during the upload.", false);
  }
}

async function start(): Promise<void> {
  $("firmware").addEventListener("submit", (e) => void update(e));
  $("led").addEventListener("change", () => void switchLed());
  $("settings").addEventListener("submit", (e) => void save(e));
  $("reset").addEventListener("click", () => void reset());
  await poll();
  try {
    fillForm(await get<Settings>("/settings.json"));
  } catch {
    say("Could not read the settings.", false);
  }
  setInterval(() => void poll(), 2000);
  setInterval(showAge, 1000);
}

void start();
