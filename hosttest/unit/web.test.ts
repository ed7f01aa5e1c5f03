/**
 * The device's web layer (src/web/): every route through the boot path with a
 * fake HTTP server port, HTTP Basic, the same-origin check, 400s with the
 * configuration's own messages, the bounds, and no password in any answer.
 * Runs on Node and inside XS.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseLedCommand } from "../../src/app/command";
import { buildConfig } from "../../src/app/config";
import { type BootPorts, boot, type Device } from "../../src/boot";
import type { HttpExchange, HttpReply, HttpRequest, HttpServerOptions } from "../../src/ports";
import { SHA256_BYTES, Sha256, toHex } from "../../src/update/sha256";
import { VERSION } from "../../src/version";
import { VirtualDht } from "../../src/virtual";
import { parseFields } from "../../src/web/form";
import { MAX_SETTINGS_BODY, RESTART_DELAY } from "../../src/web/routes";
import { authorized, DISCARD_LIMIT, decodeBase64, LIMITS, text, WebServer } from "../../src/web/server";
import { bytes, FakeClock, FakeNetwork, FakeWiFi, MapStore, RecordingPin, serve } from "./fakes";
import { STATE_KEYS } from "./interface";
import { image, RamUpdate } from "./update-fakes";

const ID = "esp32-abcdef";
const PAGE = { html: bytes("<!doctype html><title>page</title>"), gzip: new Uint8Array([0x1f, 0x8b, 8, 0]) };

interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
  raw: HttpReply;
  /** The body parsed as JSON. */
  json(): Record<string, unknown>;
}

interface Call {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Split the body into chunks of this size. */
  chunk?: number;
}

/** A booted device with a fake HTTP server port: `call()` plays one request through it. */
function device(
  layer: Record<string, unknown> = {},
  storeInit: Record<string, string> = {},
  platform: { needsSsid?: boolean } = {},
  extra: Partial<BootPorts> = {},
) {
  const clock = new FakeClock(0);
  const wifi = new FakeWiFi();
  wifi.ip = "192.168.1.23";
  const net = new FakeNetwork();
  const store = new MapStore(storeInit);
  const logs: string[] = [];
  let server: HttpServerOptions | undefined;
  let closed = 0;
  let restarts = 0;
  const ports: BootPorts = {
    clock,
    socket: net.factory,
    wifi,
    store,
    log: (line) => logs.push(line),
    led: () => new RecordingPin(),
    capture: (_pin, model) => new VirtualDht({ model, now: () => clock.now() }),
    heap: () => 54321,
    http: (options) => {
      server = options;
      return { close: () => closed++ };
    },
    page: PAGE,
    restart: () => restarts++,
    ...extra,
  };
  const { config, errors } = buildConfig({ ssid: "home", broker: "mqtt://10.0.0.2", ...layer });
  const booted: Device = boot(config, errors, ports, {
    board: "test",
    defaultId: () => ID,
    needsSsid: platform.needsSsid ?? true,
  });
  const call = (target: string, options: Call = {}): Answer => {
    if (!server) throw new Error("no web server was started");
    const headers: Record<string, string> = {};
    for (const name of Object.keys(options.headers ?? {})) headers[name.toLowerCase()] = options.headers![name];
    const body = typeof options.body === "string" ? bytes(options.body) : (options.body ?? new Uint8Array(0));
    if (options.body !== undefined && headers["content-length"] === undefined && !options.chunk)
      headers["content-length"] = String(body.length);
    const request: HttpRequest = {
      method: options.method ?? (options.body === undefined ? "GET" : "POST"),
      target,
      headerCount: Object.keys(headers).length,
      header: (name) => headers[name],
    };
    const exchange: HttpExchange = server.onRequest(request);
    const step = options.chunk ?? (body.length || 1);
    for (let at = 0; at < body.length; at += step) {
      if (!exchange.body(body.subarray(at, at + step))) throw new Error("the exchange closed the connection");
    }
    let reply: HttpReply | undefined;
    exchange.end((r) => {
      assert.equal(reply, undefined, "answered twice");
      reply = r;
    });
    if (!reply) throw new Error("no answer");
    const answered = reply;
    const content = typeof answered.body === "string" ? answered.body : new TextDecoder().decode(answered.body);
    return {
      status: answered.status,
      headers: answered.headers,
      text: content,
      raw: answered,
      json: () => JSON.parse(content) as Record<string, unknown>,
    };
  };
  return {
    clock,
    wifi,
    net,
    store,
    logs,
    device: booted,
    call,
    get server() {
      return server;
    },
    get closed() {
      return closed;
    },
    get restarts() {
      return restarts;
    },
    /** Wi-Fi up, broker accepts. */
    online(): void {
      wifi.emit("connected", "gotIP");
      net.last.open();
      serve(net.last);
    },
  };
}

const basic = (user: string, password: string): Record<string, string> => ({
  authorization: `Basic ${base64(`${user}:${password}`)}`,
});

function base64(s: string): string {
  const b = bytes(s);
  const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  let out = "";
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i] << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    out +=
      digits[(n >> 18) & 63] +
      digits[(n >> 12) & 63] +
      (i + 1 < b.length ? digits[(n >> 6) & 63] : "=") +
      (i + 2 < b.length ? digits[n & 63] : "=");
  }
  return out;
}

describe("web: GET routes", () => {
  it("serves on port `web` with bounded connections, head and idle time, and says where the page is", () => {
    const t = device({ web: 8080 });
    const server = t.server!;
    assert.equal(server.port, 8080);
    assert.ok(server.maxConnections >= 2 && server.maxConnections <= 8, String(server.maxConnections));
    assert.equal(server.maxHead, LIMITS.head);
    assert.ok(server.idleTimeout > 0);
    t.online();
    assert.ok(t.logs.includes("web: serving on port 8080"), t.logs.join("\n"));
    assert.ok(t.logs.includes("web: the page is at http://192.168.1.23:8080/"), t.logs.join("\n"));
  });

  it("web=off starts no server", () => {
    const t = device({ web: "off" });
    assert.equal(t.server, undefined);
    assert.equal(t.device.web, undefined);
  });

  it("GET /state.json has exactly the interface's keys; nulls before the first reading", () => {
    const t = device();
    const before = t.call("/state.json");
    assert.equal(before.status, 200);
    assert.equal(before.headers["content-type"], "application/json");
    const s = before.json();
    assert.deepEqual(Object.keys(s), STATE_KEYS);
    assert.equal(s.id, ID);
    assert.equal(typeof s.version, "string");
    assert.equal(s.temp, null);
    assert.equal(s.hum, null);
    assert.equal(s.readingAge, null);
    assert.equal(s.led, "OFF");
    assert.equal(s.mqtt, "offline");
    assert.equal(s.heap, 54321);
    for (const key of ["uptime", "rssi", "buffered", "dropped"]) assert.equal(typeof s[key], "number", key);
  });

  it("GET /state.json after a reading: numbers, its age in seconds, online", () => {
    const t = device({ interval: 10000 });
    t.online();
    while (t.device.app.telemetry.lastAt === undefined) t.clock.advance(100); // the first reading
    const at = t.clock.now();
    t.clock.advance(3400);
    const s = t.call("/state.json").json();
    assert.equal(typeof s.temp, "number");
    assert.equal(typeof s.hum, "number");
    assert.equal(s.readingAge, 3);
    assert.equal(s.mqtt, "online");
    assert.equal(s.uptime, Math.floor((at + 3400) / 1000));
    assert.equal(s.temp, t.device.app.telemetry.last!.temp);
  });

  it("GET / is the page: gzip when the browser takes it, plain otherwise", () => {
    const t = device();
    const gz = t.call("/", { headers: { "accept-encoding": "gzip, deflate, br" } });
    assert.equal(gz.status, 200);
    assert.equal(gz.headers["content-encoding"], "gzip");
    assert.equal(gz.raw.body, PAGE.gzip);
    assert.equal(gz.headers["content-type"], "text/html; charset=utf-8");
    const plain = t.call("/");
    assert.equal(plain.headers["content-encoding"], undefined);
    assert.equal(plain.raw.body, PAGE.html);
  });

  it("GET /settings.json: every key, secrets only as set or not, the kept ones listed", () => {
    const t = device(
      { password: "wifi-secret", mqttPassword: "mqtt-secret", webPassword: "web-secret" },
      { interval: "5000" },
    );
    const s = t.call("/settings.json").json() as {
      values: Record<string, unknown>;
      secrets: Record<string, boolean>;
      kept: string[];
      setup: boolean;
    };
    assert.deepEqual(s.secrets, { password: true, mqttPassword: true, webPassword: true, apPassword: false });
    assert.equal(s.values.interval, 5000);
    assert.equal(s.values.id, ID);
    assert.equal(s.values.ssid, "home");
    assert.equal(s.values.web, 80);
    for (const key of Object.keys(s.secrets)) assert.equal(key in s.values, false, key);
    assert.deepEqual(s.kept, ["interval"]);
    assert.equal(s.setup, false);
  });

  it("GET /diag.json: diag figures, the last errors with their age, set-up mode", () => {
    const t = device({ interval: "soon" });
    t.clock.advance(7000);
    const d = t.call("/diag.json").json() as {
      diag: Record<string, unknown>;
      errors: { code: string; detail: string; age: number }[];
      setup: boolean;
      mqtt: string;
    };
    for (const key of [
      "version",
      "uptime",
      "rssi",
      "heap",
      "reconnects",
      "sensorErrors",
      "dropped",
      "queued",
      "buffered",
    ])
      assert.ok(key in d.diag, key);
    assert.equal(d.errors.length, 1);
    assert.equal(d.errors[0].code, "config");
    assert.match(d.errors[0].detail, /bad value "soon" for "interval"/);
    assert.equal(d.errors[0].age, 7);
    assert.equal(d.setup, false);
    assert.equal(typeof d.mqtt, "string");
  });

  it("unknown pages are 404, a wrong method 405 with Allow", () => {
    const t = device();
    assert.equal(t.call("/nope").status, 404);
    const wrong = t.call("/led", { method: "GET" });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.allow, "POST");
    assert.equal(t.call("/state.json", { method: "POST", body: "" }).status, 405);
    assert.equal(t.call("/state.json?now=1").status, 200, "a query is ignored");
  });

  it("in set-up mode every other page redirects to / (the captive portal), and the page still works", () => {
    const t = device({ ssid: "" });
    assert.equal(t.device.wifi.setup, true);
    const probe = t.call("/generate_204", { headers: { host: "connectivitycheck.gstatic.com" } });
    assert.equal(probe.status, 302);
    assert.equal(probe.headers.location, "/");
    assert.equal(t.call("/hotspot-detect.html").status, 302);
    assert.equal(t.call("/").status, 200);
    assert.equal((t.call("/diag.json").json() as { setup: boolean }).setup, true);
  });
});

describe("web: POST /led", () => {
  const commands: [string, "ON" | "OFF"][] = [
    ["ON", "ON"],
    ["off", "OFF"],
    ["TOGGLE", "ON"],
    ["0", "OFF"],
    ["true", "ON"],
    ['{"state":"off"}', "OFF"],
    [' {"State":"Toggle"} ', "ON"],
  ];

  it("takes every led/set format and answers the new state", () => {
    const t = device();
    t.online();
    for (const [body, led] of commands) {
      const a = t.call("/led", { body });
      assert.equal(a.status, 200, `${body}: ${a.text}`);
      assert.deepEqual(a.json(), { led });
      assert.equal(t.device.app.led, led === "ON");
    }
    assert.equal(t.call("/state.json").json().led, "ON");
  });

  it("the LED state is published on MQTT like any command", () => {
    const t = device();
    t.online();
    t.net.last.take();
    t.call("/led", { body: "ON" });
    const out = t.net.last.take().filter((p) => p.topic === `devices/${ID}/led`);
    assert.equal(out.length, 1);
    assert.equal(new TextDecoder().decode(out[0].payload), "ON");
  });

  it("bad bodies: 400 with the command parser's own one-line message, the LED unchanged", () => {
    const t = device();
    for (const body of ["", "blink", "2", "{", '{"state":1}', "x".repeat(300)]) {
      const a = t.call("/led", { body });
      const expected = parseLedCommand(body);
      assert.ok("error" in expected);
      assert.equal(a.status, 400, body);
      assert.equal(a.text, `${expected.error}\n`);
      assert.equal(a.text.trim().indexOf("\n"), -1, "one line");
      assert.equal(t.device.app.led, false);
    }
    assert.equal(t.call("/led", { body: new Uint8Array([0xff, 0xfe]) }).status, 400);
  });
});

describe("web: POST /settings", () => {
  it("form-encoded: validated, kept, answered, then the device restarts itself", () => {
    const t = device();
    const a = t.call("/settings", {
      body: "interval=5000&prefix=home+lab&broker=mqtt%3A%2F%2F10.0.0.9%3A1884",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    assert.equal(a.status, 200, a.text);
    assert.deepEqual(a.json(), { saved: ["interval", "prefix", "broker"], restart: true });
    assert.equal(t.store.get("interval"), "5000");
    assert.equal(t.store.get("prefix"), "home lab");
    assert.equal(t.store.get("broker"), "mqtt://10.0.0.9:1884");
    assert.equal(t.restarts, 0, "not before the answer is out");
    t.clock.advance(RESTART_DELAY);
    assert.equal(t.restarts, 1);
  });

  it("JSON: numbers and booleans as well as text", () => {
    const t = device();
    const a = t.call("/settings", {
      body: '{"qos":0,"retain":false,"ssid":"other net"}',
      headers: { "content-type": "application/json" },
    });
    assert.equal(a.status, 200, a.text);
    assert.deepEqual(t.store.get("retain"), "false");
    assert.deepEqual(t.store.get("ssid"), "other net");
  });

  it("two changes in a row restart once", () => {
    const t = device();
    t.call("/settings", { body: "interval=5000" });
    t.call("/settings", { body: "qos=0" });
    t.clock.advance(10 * RESTART_DELAY);
    assert.equal(t.restarts, 1);
  });

  it("bad input: 400 with the configuration's message; nothing kept, no restart", () => {
    const cases: [string, RegExp][] = [
      ["interval=fast", /^bad value "fast" for "interval": expected an integer number of ms from 1000 to 86400000$/],
      ["interval=5000&qos=7", /^bad value "7" for "qos": expected 0, 1 or 2$/],
      ["colour=red", /^unknown key "colour"/],
      ["intervall=5000", /did you mean "interval"\?/],
      ["", /^no settings given/],
      ["reset=true&interval=5000", /^reset=true takes no settings/],
      ["reset=maybe", /"reset": expected true/],
      ["interval=%E0%A4%A", /bad percent-encoding/],
      ['{"interval":', /not valid JSON/],
      ["[1,2]", /bad value|unknown key/],
      ['{"web":0}', /^bad value 0 for "web": expected a TCP port/],
    ];
    for (const [body, message] of cases) {
      const t = device();
      const a = t.call("/settings", { body });
      assert.equal(a.status, 400, `${body}: ${a.text}`);
      assert.match(a.text.trim(), message, body);
      assert.equal(t.store.sets, 0, body);
      t.clock.advance(10 * RESTART_DELAY);
      assert.equal(t.restarts, 0);
    }
    assert.equal(
      device().call("/settings", { body: '"interval"', headers: { "content-type": "application/json" } }).status,
      400,
    );
  });

  it("reset=true forgets every kept setting (not the LED state) and restarts", () => {
    const t = device({}, { interval: "5000", ssid: "kept", led: "ON" });
    assert.equal(t.device.app.config.interval, 5000);
    const a = t.call("/settings", { body: "reset=true" });
    assert.equal(a.status, 200, a.text);
    assert.deepEqual(a.json(), { reset: true, restart: true });
    assert.equal(t.store.get("interval"), undefined);
    assert.equal(t.store.get("ssid"), undefined);
    assert.equal(t.store.get("led"), "ON");
    t.clock.advance(RESTART_DELAY);
    assert.equal(t.restarts, 1);
    assert.equal(device().call("/settings", { body: '{"reset":true}' }).status, 200);
  });

  it("every configuration key can be set", () => {
    const t = device();
    const values: Record<string, string> = {
      ssid: "n",
      password: "p",
      broker: "mqtts://b:8883",
      mqttUser: "u",
      mqttPassword: "m",
      ca: "ca.der",
      id: "kitchen",
      prefix: "home",
      interval: "3000",
      sensor: "dht22",
      dhtPin: "5",
      ledPin: "13",
      qos: "2",
      keepalive: "60",
      retain: "false",
      discovery: "off",
      profile: "default",
      session: "clean",
      ledRestore: "on",
      buffer: "100",
      ntp: "off",
      web: "8081",
      webPassword: "w",
      apPassword: "12345678",
    };
    const settings = t.call("/settings.json").json() as { values: object; secrets: object };
    assert.deepEqual(
      Object.keys(values).sort(),
      Object.keys(settings.values).concat(Object.keys(settings.secrets)).sort(),
    );
    const body = Object.keys(values)
      .map((k) => `${k}=${encodeURIComponent(values[k])}`)
      .join("&");
    const a = t.call("/settings", { body });
    assert.equal(a.status, 200, a.text);
    for (const key of Object.keys(values)) assert.equal(t.store.get(key), values[key], key);
  });
});

describe("web: HTTP Basic and the same-origin check", () => {
  it("with webPassword: changes need admin:<password>, else 401 with a Basic challenge; reading stays open", () => {
    const t = device({ webPassword: "s3cret" });
    const refused = t.call("/led", { body: "ON" });
    assert.equal(refused.status, 401);
    assert.match(refused.headers["www-authenticate"], /^Basic realm="esp32-abcdef"/);
    assert.equal(t.device.app.led, false);
    assert.equal(t.call("/led", { body: "ON", headers: basic("admin", "wrong") }).status, 401);
    assert.equal(t.call("/led", { body: "ON", headers: basic("root", "s3cret") }).status, 401);
    assert.equal(t.call("/led", { body: "ON", headers: { authorization: "Bearer s3cret" } }).status, 401);
    assert.equal(t.call("/settings", { body: "interval=5000" }).status, 401);
    assert.equal(t.store.sets, 0);
    assert.equal(t.call("/led", { body: "ON", headers: basic("admin", "s3cret") }).status, 200);
    assert.equal(t.device.app.led, true);
    assert.equal(t.call("/settings", { body: "interval=5000", headers: basic("admin", "s3cret") }).status, 200);
    for (const path of ["/", "/state.json", "/diag.json", "/settings.json"])
      assert.equal(t.call(path).status, 200, path);
  });

  it("without webPassword, changes are open", () => {
    assert.equal(device().call("/led", { body: "ON" }).status, 200);
  });

  it("a browser's change from another site is refused; from the page itself it is taken", () => {
    const t = device();
    const cross = t.call("/led", { body: "ON", headers: { origin: "http://evil.example", host: "192.168.1.23" } });
    assert.equal(cross.status, 403);
    assert.equal(t.device.app.led, false);
    assert.equal(t.call("/led", { body: "ON", headers: { origin: "null", host: "192.168.1.23" } }).status, 403);
    assert.equal(
      t.call("/led", { body: "ON", headers: { origin: "http://192.168.1.23:8080", host: "192.168.1.23:8080" } }).status,
      200,
    );
    assert.equal(
      t.call("/led", { body: "OFF", headers: { origin: "http://ESP32-abcdef.local", host: "esp32-abcdef.local" } })
        .status,
      200,
    );
  });

  it("authorized() and decodeBase64()", () => {
    assert.equal(authorized(`Basic ${base64("admin:pä ss:word")}`, "pä ss:word"), true);
    assert.equal(authorized(`basic   ${base64("admin:x")}  `, "x"), true);
    assert.equal(authorized(`Basic ${base64("admin:x")}`, "xx"), false);
    assert.equal(authorized(`Basic ${base64("admin:xx")}`, "x"), false);
    assert.equal(authorized("Basic !!!", "x"), false);
    assert.equal(authorized(undefined, "x"), false);
    assert.deepEqual(Array.from(decodeBase64("AQID")!), [1, 2, 3]);
    assert.deepEqual(Array.from(decodeBase64("AQI=")!), [1, 2]);
    assert.deepEqual(Array.from(decodeBase64("AQ")!), [1]);
    assert.equal(decodeBase64("A"), undefined);
    assert.equal(decodeBase64("A*=="), undefined);
  });
});

describe("web: no password ever appears in an answer", () => {
  it("not in any GET, nor in a refused or accepted change", () => {
    const secrets = {
      password: "wifi-SECRET-1",
      mqttPassword: "mqtt-SECRET-2",
      webPassword: "web-SECRET-3",
      apPassword: "ap-SECRET-4",
    };
    const t = device(secrets);
    t.online();
    const auth = basic("admin", secrets.webPassword);
    const answers: Answer[] = [
      t.call("/"),
      t.call("/state.json"),
      t.call("/diag.json"),
      t.call("/settings.json"),
      t.call("/nope"),
      t.call("/led", { body: "ON" }),
      t.call("/settings", { body: `apPassword=short&webPassword=${"x".repeat(70)}`, headers: auth }),
      t.call("/settings", { body: `mqttPassword=${secrets.mqttPassword}-new`, headers: auth }),
      t.call("/settings", { body: `password=${secrets.password}&qos=9`, headers: auth }),
    ];
    for (const a of answers)
      for (const secret of Object.values(secrets)) assert.equal(a.text.indexOf(secret), -1, `${secret} in ${a.text}`);
    for (const line of t.logs)
      for (const secret of Object.values(secrets)) assert.equal(line.indexOf(secret), -1, `${secret} traced: ${line}`);
    assert.match(answers[6].text, /^bad value for "apPassword"/);
  });
});

describe("web: bounds", () => {
  it("too many header lines: 431", () => {
    const t = device();
    const headers: Record<string, string> = {};
    for (let i = 0; i <= LIMITS.headers; i++) headers[`x-h${i}`] = "1";
    assert.equal(t.call("/state.json", { headers }).status, 431);
  });

  it("a body over the route's limit is read through and answered 413, declared or not; nothing changes", () => {
    const t = device();
    const big = `interval=5000&prefix=${"p".repeat(MAX_SETTINGS_BODY)}`;
    assert.equal(t.call("/settings", { body: big }).status, 413);
    assert.equal(t.call("/settings", { body: big, chunk: 512 }).status, 413, "chunked, no content-length");
    assert.equal(t.store.sets, 0);
    assert.equal(t.call("/led", { body: "O".repeat(2000) }).status, 413);
  });

  it("a body longer than its content-length: 400", () => {
    const t = device();
    assert.equal(t.call("/led", { body: "ON and more", headers: { "content-length": "2" } }).status, 400);
    assert.equal(t.call("/led", { body: "ON", headers: { "content-length": "lots" } }).status, 400);
  });

  it("past DISCARD_LIMIT the exchange asks the adapter to close the connection", () => {
    const t = device();
    const exchange = t.server!.onRequest({
      method: "POST",
      target: "/settings",
      headerCount: 1,
      header: (n) => (n === "content-length" ? "100000000" : undefined),
    });
    const chunk = new Uint8Array(8192);
    let open = true;
    let sent = 0;
    while (open && sent <= DISCARD_LIMIT + chunk.length) {
      open = exchange.body(chunk);
      sent += chunk.length;
    }
    assert.equal(open, false);
    assert.ok(sent > DISCARD_LIMIT && sent <= DISCARD_LIMIT + chunk.length);
    exchange.abort();
  });

  it("a body on a page that takes none is ignored", () => {
    assert.equal(device().call("/state.json", { method: "GET", body: "x" }).status, 413);
    assert.equal(device().call("/nope", { method: "POST", body: "x".repeat(1000) }).status, 404);
  });
});

describe("web: the route table", () => {
  it("a streaming route (as POST /update will be) gets the body in chunks, after the same checks", () => {
    const t = device({ webPassword: "pw" });
    const received: number[] = [];
    t.device.web!.add({
      method: "POST",
      path: "/update",
      change: true,
      stream: () => ({
        body: (chunk) => {
          received.push(chunk.length);
          return true;
        },
        end: (respond) => respond(text(200, `got ${received.reduce((a, b) => a + b, 0)} bytes`)),
        abort: () => {},
      }),
    });
    assert.equal(t.call("/update", { body: new Uint8Array(100) }).status, 401);
    assert.deepEqual(received, [], "an unauthorized body never reaches the route");
    const a = t.call("/update", { body: new Uint8Array(10000), chunk: 1460, headers: basic("admin", "pw") });
    assert.equal(a.status, 200);
    assert.equal(a.text, "got 10000 bytes\n");
    assert.equal(received.length, 7);
  });

  it("a handler that throws answers 500 and the device carries on", () => {
    const server = new WebServer({ log: () => {}, password: "", realm: "x" });
    server.add({
      method: "GET",
      path: "/boom",
      handle: () => {
        throw new Error("kaput");
      },
    });
    const exchange = server.request({ method: "GET", target: "/boom", headerCount: 0, header: () => undefined });
    let status = 0;
    exchange.end((r) => (status = r.status));
    assert.equal(status, 500);
  });

  it("stop() closes the server", () => {
    const t = device();
    t.device.stop();
    assert.equal(t.closed, 1);
  });
});

describe("web: form and JSON bodies", () => {
  it("parses forms, JSON objects, and refuses the rest", () => {
    assert.deepEqual(parseFields("a=1&b=two+words&c=%C3%A9&d=&e", undefined), {
      fields: { a: "1", b: "two words", c: "é", d: "", e: "" },
    });
    assert.deepEqual(parseFields("a=1&a=2", "application/x-www-form-urlencoded"), { fields: { a: "2" } });
    assert.deepEqual(parseFields(' {"qos":0} ', undefined), { fields: { qos: 0 } });
    assert.ok("error" in parseFields("[1]", "application/json"));
    assert.ok("error" in parseFields("%zz=1", undefined));
    assert.deepEqual(parseFields("", undefined), { fields: {} });
  });
});

describe("POST /update: a firmware image posted to the page", () => {
  const hex = (data: Uint8Array) => {
    const h = new Sha256();
    h.write(data);
    const out = new Uint8Array(SHA256_BYTES);
    h.digest(out);
    return toHex(out);
  };
  const auth = basic("admin", "pw");

  it("streams the body into the spare partition, checks the SHA-256 and restarts into it", () => {
    const update = new RamUpdate();
    const t = device({ webPassword: "pw" }, {}, {}, { update });
    const img = image(20_000);
    const answer = t.call(`/update?version=9.9.9&sha256=${hex(img)}`, { body: img, chunk: 1460, headers: auth });
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.json(), { state: "rebooting", version: "9.9.9" });
    assert.ok(update.holds(img), "the partition holds the image");
    assert.equal(update.completed, 1);
    t.clock.advance(5000);
    assert.equal(t.restarts, 1, "the device restarted into it");
  });

  it("needs the web password when one is set, before any byte is written", () => {
    const update = new RamUpdate();
    const t = device({ webPassword: "pw" }, {}, {}, { update });
    const answer = t.call("/update?version=9.9.9", { body: image(100) });
    assert.equal(answer.status, 401);
    assert.equal(update.opened.length, 0);
    assert.equal(t.call("/update").status, 401, "GET /update asks for it too");
    assert.deepEqual(t.call("/update", { headers: auth }).json(), { version: VERSION, state: "idle" });
  });

  it("refuses a wrong digest (422), the running version (200 done, nothing written) and a bad query (400), leaving the firmware alone", () => {
    const update = new RamUpdate();
    const t = device({}, {}, {}, { update });
    const img = image(5000);
    const wrong = t.call(`/update?version=9.9.9&sha256=${hex(image(5000, 7))}`, { body: img, chunk: 512 });
    assert.equal(wrong.status, 422);
    assert.equal(wrong.json().error, "digest-mismatch");
    assert.equal(update.completed, 0);
    const same = t.call(`/update?version=${VERSION}`, { body: img });
    assert.equal(same.status, 200);
    assert.deepEqual(same.json(), { state: "done", version: VERSION });
    assert.equal(update.opened.length, 1, "the running version opens nothing");
    const bad = t.call("/update?sha256=xyz", { body: img });
    assert.equal(bad.status, 400);
    assert.equal(bad.json().error, "bad-request");
    const encoding = t.call("/update?version=%zz", { body: img });
    assert.equal(encoding.status, 400);
    t.clock.advance(5000);
    assert.equal(t.restarts, 0);
  });

  it("answers busy (409) while another update runs, and 413 for an image larger than the partition", () => {
    const update = new RamUpdate(4096);
    const t = device({}, {}, {}, { update });
    const big = t.call("/update?version=2.0.0", { body: image(5000) });
    assert.equal(big.status, 413);
    assert.equal(big.json().error, "too-large");
    assert.ok(t.device.app.updater.begin({ version: "3.0.0" }).state === "downloading");
    const busy = t.call("/update?version=2.0.0", { body: image(100) });
    assert.equal(busy.status, 409);
    assert.equal(busy.json().error, "busy");
  });

  it("a device without updates answers 501", () => {
    const t = device();
    const answer = t.call("/update?version=2.0.0", { body: image(100) });
    assert.equal(answer.status, 501);
    assert.equal(answer.json().error, "unsupported");
  });
});
