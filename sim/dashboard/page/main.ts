/**
 * The dashboard page: a sortable list of devices, and for the one selected
 * its latest reading, a chart over the last hour (24 h and 7 d from the
 * stored history), the LED as a switch, diag, recent errors, and, for the
 * simulator's own devices, live controls. Live updates come from the server's
 * event stream; nothing is fetched from outside.
 */
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./style.css";
import type { DeviceView, Row, SimDeviceState } from "../api";
import { age, clock, duration, fixed, sentence } from "./format";

type Device = DeviceView;
type SimState = SimDeviceState;

const RANGES: Record<string, number> = { "1 h": 3_600_000, "24 h": 86_400_000, "7 d": 604_800_000 };

const devices = new Map<string, Device>();
let selected: string | undefined = decodeURIComponent(location.hash.slice(1)) || undefined;
let range = "1 h";
let sortKey = "id";
let sortDir = 1;
let chart: uPlot | undefined;
let series: [number[], number[], number[]] = [[], [], []];
let brokerState = { connected: false, running: false };
let hasSim = false;

const $ = <T extends HTMLElement>(selector: string, root: ParentNode = document): T =>
  root.querySelector(selector) as T;
const el = (tag: string, attrs: Record<string, string> = {}, text?: string): HTMLElement => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
};

async function api(path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(
    path,
    body === undefined
      ? {}
      : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) },
  );
  const value = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error((value as { error?: string }).error ?? `${res.status} ${res.statusText}`);
  return value;
}

function notice(text: string, bad = true): void {
  const box = $("#notice");
  if (!box) return;
  box.textContent = text;
  box.className = bad ? "notice bad" : "notice";
}

// ---- the list ----

function sortValue(d: Device): string | number {
  switch (sortKey) {
    case "online":
      return d.online ? 0 : 1;
    case "temp":
      return d.last?.temp ?? -1e9;
    case "hum":
      return d.last?.hum ?? -1e9;
    case "age":
      return d.last ? -d.last.t : -1e15;
    case "led":
      return d.led ?? "";
    default:
      return d.id;
  }
}

function renderList(): void {
  const list = [...devices.values()].sort((a, b) => {
    const x = sortValue(a);
    const y = sortValue(b);
    const c =
      typeof x === "number" && typeof y === "number"
        ? x - y
        : String(x).localeCompare(String(y), undefined, { numeric: true });
    return c * sortDir || a.id.localeCompare(b.id, undefined, { numeric: true });
  });
  const body = $("#devices tbody");
  body.replaceChildren(
    ...list.map((d) => {
      const tr = el("tr", { "data-id": d.id, tabindex: "0", class: d.id === selected ? "selected" : "" });
      tr.append(
        el("td", { class: "id" }, d.id),
        el("td", {}, ""),
        el("td", { class: "num" }, fixed(d.last?.temp)),
        el("td", { class: "num" }, fixed(d.last?.hum)),
        el("td", { class: "age", "data-t": String(d.last?.t ?? "") }, d.last ? age(Date.now() - d.last.t) : "–"),
        el("td", {}, d.led ?? "–"),
      );
      tr.children[1].append(
        el("span", { class: `dot ${d.online ? "on" : "off"}` }),
        document.createTextNode(d.online ? "online" : "offline"),
      );
      return tr;
    }),
  );
  $("#empty").hidden = devices.size > 0;
  const online = list.filter((d) => d.online).length;
  $("#summary").textContent = devices.size
    ? `${devices.size} device${devices.size === 1 ? "" : "s"} · ${online} online`
    : "";
  for (const th of document.querySelectorAll<HTMLElement>("th[data-sort]")) {
    th.setAttribute("aria-sort", th.dataset.sort === sortKey ? (sortDir > 0 ? "ascending" : "descending") : "none");
  }
}

// ---- the selected device ----

function select(id: string | undefined): void {
  selected = id;
  series = [[], [], []];
  if (id) history.replaceState(null, "", `#${encodeURIComponent(id)}`);
  renderList();
  buildDetail();
  void loadHistory();
}

function buildDetail(): void {
  const box = $("#detail");
  const d = selected ? devices.get(selected) : undefined;
  box.hidden = !d;
  chart?.destroy();
  chart = undefined;
  if (!d) return;
  box.innerHTML = `
    <div class="head"><h2></h2><span class="badge"></span></div>
    <div id="notice" class="notice" role="status"></div>
    <div class="now">
      <div><span class="big" id="temp"></span><span class="unit">°C</span></div>
      <div><span class="big" id="hum"></span><span class="unit">%RH</span></div>
      <div class="muted" id="age"></div>
      <label class="switch"><input type="checkbox" role="switch" id="led"><span class="track"></span><span>LED <b id="ledText"></b></span></label>
    </div>
    <div class="chartHead"><div class="ranges" role="group" aria-label="time range"></div><a id="csv" class="muted">CSV</a></div>
    <div id="chart" class="chart"></div>
    <div class="cols">
      <section><h3>Diagnostics</h3><dl id="diag"></dl></section>
      <section><h3>Recent errors</h3><ul id="errors" class="errors"></ul></section>
    </div>
    <section id="sim" class="sim" hidden><h3>Simulator controls</h3>
      <div class="controls">
        <label>Temperature <input id="simTemp" type="number" step="0.1" min="-40" max="80"> °C</label>
        <label>Humidity <input id="simHum" type="number" step="0.1" min="0" max="100"> %RH</label>
        <button id="simSet">Set</button><button id="simDrift">Drift</button>
      </div>
      <div class="controls">
        <label>Sensor faults <input id="simFault" type="range" min="0" max="100" step="5"> <output id="simFaultOut"></output></label>
      </div>
      <div class="controls">
        <button id="simWifi"></button><button id="simReboot">Reboot</button><span class="muted" id="simInfo"></span>
      </div>
    </section>`;
  $("h2", box).textContent = d.id;
  const ranges = $(".ranges", box);
  for (const name of Object.keys(RANGES)) {
    const b = el("button", { "aria-pressed": String(name === range) }, name);
    b.onclick = () => {
      range = name;
      for (const other of ranges.children) other.setAttribute("aria-pressed", String(other === b));
      void loadHistory();
    };
    ranges.append(b);
  }
  $<HTMLInputElement>("#led").onchange = async (event) => {
    const input = event.target as HTMLInputElement;
    const want = input.checked ? "ON" : "OFF";
    input.checked = d.led === "ON"; // shows the device's report, not the wish
    $("#ledText").textContent = `${d.led ?? "?"} → ${want}…`;
    try {
      await api("/api/led", { id: d.id, state: want });
    } catch (error) {
      notice(`The LED command was not sent: ${(error as Error).message}`);
      renderDetail();
    }
  };
  wireSim(d.id);
  chart = new uPlot(
    {
      width: Math.max(200, $("#chart").clientWidth),
      height: 240,
      series: [
        {},
        { label: "°C", stroke: "#d9480f", width: 2, value: (_u, v) => fixed(v) },
        { label: "%RH", stroke: "#1971c2", width: 2, scale: "%", value: (_u, v) => fixed(v) },
      ],
      axes: [
        {},
        { label: "°C", stroke: "#d9480f" },
        { side: 1, scale: "%", label: "%RH", stroke: "#1971c2", grid: { show: false } },
      ],
      // The window ends now; it starts at the oldest point shown (at least a minute back), never before the range.
      scales: {
        x: {
          time: true,
          range: (_u, min) => {
            const now = Date.now() / 1000;
            const oldest = Number.isFinite(min) && min !== null ? min : now;
            return [Math.max(now - RANGES[range] / 1000, Math.min(oldest, now - 60)), now];
          },
        },
      },
      legend: { live: true },
    },
    series,
    $("#chart"),
  );
  draw();
  renderDetail();
}

function renderDetail(): void {
  const d = selected ? devices.get(selected) : undefined;
  if (!d || $("#detail").hidden) return;
  const badge = $(".badge");
  badge.textContent = d.online ? "online" : "offline";
  badge.className = `badge ${d.online ? "on" : "off"}`;
  $("#temp").textContent = fixed(d.last?.temp);
  $("#hum").textContent = fixed(d.last?.hum);
  $("#age").dataset.t = String(d.last?.t ?? "");
  $("#age").textContent = d.last ? `read ${age(Date.now() - d.last.t)}` : "no reading yet";
  const led = $<HTMLInputElement>("#led");
  led.checked = d.led === "ON";
  $("#ledText").textContent = d.led ?? "unknown";
  $("#csv").setAttribute("href", `${historyUrl(d.id)}&format=csv`);
  const diag = d.diag ?? {};
  const rows: [string, string][] = [
    ["Firmware", String(diag.version ?? "–")],
    ["Up", typeof diag.uptime === "number" ? duration(diag.uptime) : "–"],
    ["Wi-Fi signal", typeof diag.rssi === "number" ? `${diag.rssi} dBm` : "–"],
    ["Free heap", typeof diag.heap === "number" ? `${Math.round(diag.heap / 1024)} KiB` : "–"],
    ["Reconnects", String(diag.reconnects ?? "–")],
    ["Sensor errors", String(diag.sensorErrors ?? "–")],
    ["Dropped readings", String(diag.dropped ?? "–")],
    ["Queued / buffered", `${diag.queued ?? "–"} / ${diag.buffered ?? "–"}`],
    ["Last message", d.seen ? clock(d.seen) : "–"],
  ];
  $("#diag").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  const errors = $("#errors");
  errors.replaceChildren(
    ...d.errors
      .slice(-8)
      .reverse()
      .map((e) => el("li", {}, `${clock(e.t)} — ${sentence(e)}`)),
  );
  if (d.errors.length === 0) errors.append(el("li", { class: "muted" }, "None."));
  const sim = $("#sim");
  sim.hidden = !d.sim;
  if (d.sim) {
    // A field being typed into (focused, or edited and not yet set) keeps what the user typed.
    const focus = document.activeElement;
    const show = (id: string, value: string) => {
      const input = $<HTMLInputElement>(id);
      if (input !== focus && !editing.has(id)) input.value = value;
    };
    show("#simTemp", String(d.sim.temp));
    show("#simHum", String(d.sim.hum));
    show("#simFault", String(Math.round(d.sim.faultRate * 100)));
    $("#simFaultOut").textContent = `${Math.round(d.sim.faultRate * 100)} %`;
    $("#simWifi").textContent = d.sim.wifi ? "Drop Wi-Fi" : "Restore Wi-Fi";
    $("#simInfo").textContent =
      `${d.sim.drift ? "values drift" : "values set by hand"} · Wi-Fi ${d.sim.wifi ? "in range" : "gone"} · ${d.sim.restarts} reboots`;
  }
}

/** The virtual sensor's fields the user has typed into since the last Set: a refresh leaves them alone. */
const editing = new Set<string>();

function wireSim(id: string): void {
  editing.clear(); // another device's fields
  const change = async (body: Record<string, unknown>) => {
    try {
      const sim = (await api("/api/sim/device", { id, ...body })) as SimState;
      const d = devices.get(id);
      if (d) d.sim = sim;
      notice("", false);
      renderDetail();
    } catch (error) {
      notice((error as Error).message);
    }
  };
  for (const field of ["#simTemp", "#simHum"]) $<HTMLInputElement>(field).oninput = () => editing.add(field);
  $("#simSet").onclick = () => {
    const body = { temp: $<HTMLInputElement>("#simTemp").value, hum: $<HTMLInputElement>("#simHum").value };
    editing.clear();
    return change(body);
  };
  $("#simDrift").onclick = () => change({ drift: true });
  $<HTMLInputElement>("#simFault").oninput = (e) =>
    ($("#simFaultOut").textContent = `${(e.target as HTMLInputElement).value} %`);
  $<HTMLInputElement>("#simFault").onchange = (e) =>
    change({ faultRate: Number((e.target as HTMLInputElement).value) / 100 });
  $("#simWifi").onclick = () => change({ wifi: devices.get(id)?.sim?.wifi ? "drop" : "restore" });
  $("#simReboot").onclick = () => change({ reboot: true });
}

function historyUrl(id: string): string {
  const to = Date.now();
  return `/api/history?id=${encodeURIComponent(id)}&from=${to - RANGES[range]}&to=${to}`;
}

async function loadHistory(): Promise<void> {
  const id = selected;
  if (!id) return;
  try {
    const rows = (await api(historyUrl(id))) as Row[];
    if (id !== selected) return;
    series = [rows.map((r) => r.t / 1000), rows.map((r) => r.temp), rows.map((r) => r.hum)];
    draw();
  } catch (error) {
    notice(`The history could not be loaded: ${(error as Error).message}`);
  }
}

function addPoint(row: Row): void {
  const [t, temp, hum] = series;
  const x = row.t / 1000;
  let i = t.length;
  while (i > 0 && t[i - 1] > x) i--; // a replayed reading lands in its place
  if (t[i - 1] === x) return;
  t.splice(i, 0, x);
  temp.splice(i, 0, row.temp);
  hum.splice(i, 0, row.hum);
  const from = (Date.now() - RANGES[range]) / 1000;
  while (t.length && t[0] < from) {
    t.shift();
    temp.shift();
    hum.shift();
  }
  draw();
}

function draw(): void {
  chart?.setData(series);
  // How many points the chart holds, for people reading the page's source and for tests.
  document.getElementById("chart")?.setAttribute("data-points", String(series[0].length));
}

// ---- the broker and the live feed ----

function renderBroker(): void {
  const box = $("#broker");
  box.replaceChildren(
    el("span", { class: `dot ${brokerState.connected ? "on" : "off"}` }),
    document.createTextNode(brokerState.connected ? "broker connected" : "broker unreachable"),
  );
  if (hasSim && brokerState.running !== undefined) {
    const b = el("button", { id: "brokerToggle" }, brokerState.running ? "Stop broker" : "Start broker");
    b.onclick = async () => {
      try {
        const r = (await api("/api/sim/broker", { running: !brokerState.running })) as { running: boolean };
        brokerState.running = r.running;
        renderBroker();
      } catch (error) {
        notice((error as Error).message);
      }
    };
    box.append(b);
  }
}

function take(d: Device): void {
  const before = devices.get(d.id);
  devices.set(d.id, d);
  if (d.sim) hasSim = true;
  if (!selected) {
    select(d.id);
    return;
  }
  if (d.id === selected && (!before || $("#detail").hidden)) buildDetail();
  later();
}

/** Redraws the list and the detail at most four times a second, however busy the fleet. */
let pending: number | undefined;
function later(): void {
  if (pending !== undefined) return;
  pending = window.setTimeout(() => {
    pending = undefined;
    renderList();
    renderDetail();
  }, 250);
}

function connect(): void {
  const live = $("#live");
  const source = new EventSource("/api/events");
  source.addEventListener("hello", (e) => {
    const hello = JSON.parse((e as MessageEvent).data) as { devices: Device[]; broker: typeof brokerState };
    brokerState = hello.broker;
    for (const d of hello.devices) take(d);
    renderBroker();
    if (selected && devices.has(selected)) void loadHistory();
    live.textContent = "live";
    live.className = "live on";
  });
  source.addEventListener("device", (e) => take(JSON.parse((e as MessageEvent).data) as Device));
  source.addEventListener("reading", (e) => {
    const r = JSON.parse((e as MessageEvent).data) as Row & { id: string };
    const d = devices.get(r.id);
    if (d && (!d.last || r.t >= d.last.t)) {
      d.last = { t: r.t, temp: r.temp, hum: r.hum };
      d.seen = Date.now();
    }
    if (r.id === selected) addPoint(r);
    later();
  });
  source.addEventListener("broker", (e) => {
    brokerState = JSON.parse((e as MessageEvent).data);
    renderBroker();
  });
  source.onerror = () => {
    live.textContent = "reconnecting…";
    live.className = "live off";
  };
}

document.querySelector("#devices tbody")!.addEventListener("click", (e) => {
  const tr = (e.target as HTMLElement).closest("tr");
  if (tr?.dataset.id) select(tr.dataset.id);
});
document.querySelector("#devices tbody")!.addEventListener("keydown", (e) => {
  const tr = (e.target as HTMLElement).closest("tr");
  if ((e as KeyboardEvent).key === "Enter" && tr?.dataset.id) select(tr.dataset.id);
});
for (const th of document.querySelectorAll<HTMLElement>("th[data-sort]")) {
  th.onclick = () => {
    sortDir = sortKey === th.dataset.sort ? -sortDir : 1;
    sortKey = th.dataset.sort!;
    renderList();
  };
}
setInterval(() => {
  for (const node of document.querySelectorAll<HTMLElement>("[data-t]")) {
    const t = Number(node.dataset.t);
    if (!t) continue;
    node.textContent = node.id === "age" ? `read ${age(Date.now() - t)}` : age(Date.now() - t);
  }
}, 1000);
new ResizeObserver(() => {
  const box = document.getElementById("chart");
  if (chart && box) chart.setSize({ width: Math.max(200, box.clientWidth), height: 240 });
}).observe(document.body);

// The last known state at once, from the stored history; then the live feed.
api("/api/devices")
  .then((list) => {
    for (const d of list as Device[]) take(d);
  })
  .catch((error) => notice(`The devices could not be loaded: ${(error as Error).message}`))
  .finally(connect);
