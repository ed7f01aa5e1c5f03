/**
 * The device application (src/app/app.ts) with fake ports: manual clock,
 * scripted sockets (the test plays the broker), scripted sensor, recording
 * LED pin and a Map store. Checks the external contract of ../shared/interface.md.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { App, type AppPorts, VERSION } from "../../src/app/app";
import { buildConfig } from "../../src/app/config";
import { applyKept } from "../../src/app/settings";
import {
  bad,
  connack,
  FakeClock,
  FakeNetwork,
  FakeSensor,
  type FakeSocket,
  fixedRandom,
  good,
  MapStore,
  payloadText,
  puback,
  publishPacket,
  RamFlash,
  RecordingPin,
  serve,
  summary,
  type WrittenPacket,
} from "./fakes";

const ID = "esp32-01";
const BASE = `devices/${ID}`;
const STATE_PAYLOAD = '{"data":{"temp":23.5,"hum":41}}';

function setup(
  layer: Record<string, unknown> = {},
  storeInit: Record<string, string> = {},
  extra: Partial<AppPorts> = {},
  id = ID,
) {
  const clock = new FakeClock(0);
  const net = new FakeNetwork();
  const led = new RecordingPin();
  const sensor = new FakeSensor(good(23.5, 41));
  const store = new MapStore(storeInit);
  const logs: string[] = [];
  const { config, errors } = buildConfig(layer);
  assert.deepEqual(errors, []);
  // As the boot path does: kept settings win over the build-time ones.
  applyKept(config, store, (line) => logs.push(line));
  const app = new App(
    config,
    {
      clock,
      socket: net.factory,
      led,
      sensor,
      store,
      log: (line) => logs.push(line),
      heap: () => 123456,
      rssi: () => -61,
      random: fixedRandom(0),
      ...extra,
    },
    { id, broker: { tls: false, host: "broker.local", port: 1883 } },
  );
  let nextId = 1;
  const ctx = {
    clock,
    net,
    led,
    sensor,
    store,
    logs,
    app,
    /** start() and a broker that accepts and acknowledges everything; returns what the app wrote. */
    online(): WrittenPacket[] {
      app.start();
      net.last.open();
      return serve(net.last);
    },
    get socket(): FakeSocket {
      return net.last;
    },
    /** The broker delivers a message at QoS 1; returns the PUBLISH packets the app wrote in answer. */
    send(topic: string, payload: string | Uint8Array): WrittenPacket[] {
      net.last.receive(publishPacket(topic, payload, { qos: 1, id: nextId++ }));
      return publishes(serve(net.last));
    },
    /** Advances the clock and returns the PUBLISH packets written meanwhile (acknowledged). */
    advance(ms: number): WrittenPacket[] {
      const out: WrittenPacket[] = [];
      // In steps, so that the broker answers (PUBACK, PINGRESP) as time goes by.
      for (let left = ms; left > 0; left -= 1000) {
        clock.advance(Math.min(left, 1000));
        out.push(...publishes(serve(net.last)));
      }
      return out;
    },
  };
  return ctx;
}

function publishes(packets: WrittenPacket[]): WrittenPacket[] {
  return packets.filter((p) => p.name === "PUBLISH");
}

function json(p: WrittenPacket): Record<string, unknown> {
  return JSON.parse(payloadText(p)) as Record<string, unknown>;
}

// ---------------------------------------------------------------- connecting

describe("app: on connect", () => {
  it("the Last Will is `offline` retained QoS 1 on status", () => {
    const t = setup();
    t.app.start();
    t.socket.open();
    const [connect] = t.socket.packets();
    assert.equal(connect.name, "CONNECT");
    assert.deepEqual(connect.connect!.will, { topic: `${BASE}/status`, payload: "offline", qos: 1, retain: true });
    assert.equal(connect.connect!.clientId, ID);
    assert.equal(connect.connect!.keepalive, 30);
    assert.equal(connect.connect!.username, undefined);
  });

  it("credentials and keepalive come from the configuration", () => {
    const t = setup({ mqttUser: "user", mqttPassword: "secret", keepalive: 60 });
    t.app.start();
    t.socket.open();
    const c = t.socket.packets()[0].connect!;
    assert.equal(c.username, "user");
    assert.equal(c.password, "secret");
    assert.equal(c.keepalive, 60);
  });

  it("subscribes, announces online, reports the LED, sends discovery and diag", () => {
    const t = setup();
    const seen = t.online();
    assert.ok(t.app.client.connected);
    const lines = summary(seen).filter(
      (l) => !l.startsWith("PUBLISH q1 r homeassistant/") && !l.startsWith("PUBLISH q0 devices/esp32-01/diag"),
    );
    assert.deepEqual(lines, [
      "CONNECT",
      `SUBSCRIBE ${BASE}/led/set@1,${BASE}/config/set@1,${BASE}/ota/set@1`,
      `PUBLISH q1 r ${BASE}/status online`,
      `PUBLISH q1 r ${BASE}/led OFF`,
    ]);
    const discovery = publishes(seen).filter((p) => p.topic!.startsWith("homeassistant/"));
    assert.deepEqual(
      discovery.map((p) => `${p.qos} ${p.retain} ${p.topic}`),
      [
        `1 true homeassistant/sensor/${ID}/temperature/config`,
        `1 true homeassistant/sensor/${ID}/humidity/config`,
        `1 true homeassistant/light/${ID}/led/config`,
      ],
    );
    const diag = publishes(seen).filter((p) => p.topic === `${BASE}/diag`);
    assert.equal(diag.length, 1);
    assert.equal(diag[0].qos, 0);
    assert.equal(diag[0].retain, false);
  });

  it("the LED pin is driven to its initial state at start", () => {
    const t = setup();
    t.online();
    assert.deepEqual(t.led.writes, [0]);
  });

  it("Home Assistant discovery: unique_id, state_topic, value_template, command_topic, availability, one device", () => {
    const t = setup();
    const configs = publishes(t.online())
      .filter((p) => p.topic!.startsWith("homeassistant/"))
      .map(json);
    assert.equal(configs.length, 3);
    const [temp, hum, light] = configs;
    const ids = configs.map((c) => c.unique_id);
    assert.equal(new Set(ids).size, 3);
    for (const c of configs) {
      assert.equal(typeof c.unique_id, "string");
      assert.equal(c.availability_topic, `${BASE}/status`);
      assert.equal(c.payload_available, "online");
      assert.equal(c.payload_not_available, "offline");
      const device = c.device as Record<string, unknown>;
      assert.deepEqual(device.identifiers, [ID]);
      assert.equal(device.name, ID);
      assert.equal(typeof device.model, "string");
      assert.equal(typeof device.sw_version, "string");
      assert.deepEqual(c.device, configs[0].device);
    }
    assert.equal(temp.state_topic, `${BASE}/state`);
    assert.equal(hum.state_topic, `${BASE}/state`);
    assert.equal(temp.value_template, "{{ value_json.data.temp }}");
    assert.equal(hum.value_template, "{{ value_json.data.hum }}");
    assert.equal(temp.device_class, "temperature");
    assert.equal(hum.device_class, "humidity");
    assert.equal(temp.unit_of_measurement, "°C");
    assert.equal(hum.unit_of_measurement, "%");
    assert.equal(light.command_topic, `${BASE}/led/set`);
    assert.equal(light.state_topic, `${BASE}/led`);
    assert.equal(light.payload_on, "ON");
    assert.equal(light.payload_off, "OFF");
  });

  it("discovery=off sends no discovery; another prefix moves it", () => {
    const off = setup({ discovery: "off" });
    assert.deepEqual(
      publishes(off.online()).filter((p) => p.topic!.indexOf("/config") > 0 && p.topic!.split("/").length === 5),
      [],
    );
    const ha = setup({ discovery: "ha" });
    assert.equal(publishes(ha.online()).filter((p) => p.topic!.startsWith("ha/")).length, 3);
  });

  it("diag has exactly the keys version, uptime, rssi, heap, reconnects, sensorErrors, dropped, queued, buffered, refused", () => {
    const t = setup();
    const [diag] = publishes(t.online()).filter((p) => p.topic === `${BASE}/diag`);
    const d = json(diag);
    assert.deepEqual(Object.keys(d).sort(), [
      "buffered",
      "dropped",
      "heap",
      "queued",
      "reconnects",
      "refused",
      "rssi",
      "sensorErrors",
      "uptime",
      "version",
    ]);
    assert.equal(d.version, VERSION);
    for (const k of Object.keys(d)) if (k !== "version") assert.equal(typeof d[k], "number", k);
    assert.equal(d.rssi, -61);
    assert.equal(d.heap, 123456);
    assert.equal(d.reconnects, 0);
  });

  it("diag every 60 s, with uptime in seconds", () => {
    const t = setup();
    t.online();
    const out = t.advance(60000).filter((p) => p.topic === `${BASE}/diag`);
    assert.equal(out.length, 1);
    assert.equal(json(out[0]).uptime, 60);
  });

  it("after a reconnect: online, LED state and diag again, reconnects counted", () => {
    const t = setup();
    t.online();
    t.app.command("ON");
    serve(t.socket);
    t.socket.drop("reset");
    t.clock.fireNext();
    t.socket.open();
    const again = publishes(serve(t.socket));
    const lines = summary(again).filter((l) => !l.includes("homeassistant/"));
    assert.deepEqual(lines.slice(0, 2), [`PUBLISH q1 r ${BASE}/status online`, `PUBLISH q1 r ${BASE}/led ON`]);
    const diag = again.filter((p) => p.topic === `${BASE}/diag`);
    assert.equal(diag.length, 1);
    assert.equal(json(diag[0]).reconnects, 1);
  });
});

// ---------------------------------------------------------------- state

describe("app: state", () => {
  it("publishes exactly the state payload at the configured QoS, not retained", () => {
    const t = setup();
    t.online();
    const out = t.advance(1000);
    assert.deepEqual(summary(out), [`PUBLISH q1 ${BASE}/state ${STATE_PAYLOAD}`]);
  });

  it("rounds to one decimal at most", () => {
    const t = setup();
    t.sensor.push(good(23.456, 41.04), good(-0.04, 99.95), good(-12.35, 0));
    t.online();
    const payloads = [...t.advance(1000), ...t.advance(10000), ...t.advance(10000)].map(payloadText);
    assert.deepEqual(payloads, [STATE_PAYLOAD, '{"data":{"temp":0,"hum":100}}', '{"data":{"temp":-12.3,"hum":0}}']);
  });

  for (const qos of [0, 2] as const) {
    it(`qos=${qos} publishes state at QoS ${qos}`, () => {
      const t = setup({ qos });
      t.online();
      const [p] = t.advance(1000);
      assert.equal(p.qos, qos);
      assert.equal(p.retain, false);
      assert.equal(payloadText(p), STATE_PAYLOAD);
    });
  }

  it("samples every interval", () => {
    const t = setup({ interval: 3000 });
    t.online();
    assert.equal(t.advance(1000).length, 1);
    assert.equal(t.advance(2999).length, 0);
    assert.equal(t.advance(1).length, 1);
  });

  it("sensor failing 3 times in a row → one sensor error, no state for failed reads", () => {
    const t = setup();
    t.sensor.push(bad("timeout"), bad("checksum"), bad("timeout"), bad("timeout"), bad("timeout"));
    t.online();
    const out = t.advance(34999);
    assert.equal(out.filter((p) => p.topic === `${BASE}/state`).length, 0);
    const errors = out.filter((p) => p.topic === `${BASE}/error`);
    assert.equal(errors.length, 1);
    assert.equal(errors[0].qos, 0);
    assert.equal(errors[0].retain, false);
    const e = json(errors[0]);
    assert.equal(e.error, "sensor");
    assert.equal(typeof e.detail, "string");
    assert.equal(t.app.sampler.sensorErrors, 5);
    const next = t.advance(1);
    assert.deepEqual(summary(next), [`PUBLISH q1 ${BASE}/state ${STATE_PAYLOAD}`]);
    const diag = t.advance(60000).filter((p) => p.topic === `${BASE}/diag`);
    assert.equal(json(diag[0]).sensorErrors, 5);
  });

  it("one or two failures publish no error", () => {
    const t = setup();
    t.sensor.push(bad(), bad());
    t.online();
    const out = t.advance(5000);
    assert.equal(out.filter((p) => p.topic === `${BASE}/error`).length, 0);
    assert.equal(out.filter((p) => p.topic === `${BASE}/state`).length, 1);
  });
});

// ---------------------------------------------------------------- LED commands

describe("app: LED commands", () => {
  const cases: [string, "ON" | "OFF" | "TOGGLE"][] = [
    ["ON", "ON"],
    ["OFF", "OFF"],
    ["TOGGLE", "TOGGLE"],
    ["on", "ON"],
    ["Off", "OFF"],
    ["toggle", "TOGGLE"],
    ["1", "ON"],
    ["0", "OFF"],
    ["true", "ON"],
    ["false", "OFF"],
    ["TRUE", "ON"],
    ["False", "OFF"],
    ["  ON \r\n", "ON"],
    ["\toff\t", "OFF"],
    ['{"state":"ON"}', "ON"],
    ['{"state":"off"}', "OFF"],
    ['{"state":"Toggle"}', "TOGGLE"],
    ['{"STATE":"on"}', "ON"],
    [' { "state" : " on " } \n', "ON"],
  ];
  for (const [payload, command] of cases) {
    for (const initial of [false, true]) {
      it(`${JSON.stringify(payload)} with the LED ${initial ? "on" : "off"}`, () => {
        const t = setup();
        t.online();
        if (initial) {
          t.send(`${BASE}/led/set`, "ON");
        }
        const writes = t.led.writes.length;
        const expected = command === "TOGGLE" ? !initial : command === "ON";
        const out = t.send(`${BASE}/led/set`, payload);
        assert.deepEqual(summary(out), [`PUBLISH q1 r ${BASE}/led ${expected ? "ON" : "OFF"}`]);
        assert.deepEqual(t.led.writes.slice(writes), [expected ? 1 : 0]);
        assert.equal(t.app.led, expected);
      });
    }
  }

  const garbage: (string | Uint8Array)[] = [
    "",
    "   ",
    "blink",
    "onn",
    "2",
    "-1",
    "yes",
    "ON OFF",
    "{",
    "{}",
    "[1]",
    "null",
    '"ON"',
    '{"state":"blink"}',
    '{"state":1}',
    '{"state":true}',
    '{"state":null}',
    '{"foo":"ON"}',
    '{"state":"ON"}x',
    "O".repeat(300),
    "N".repeat(2000),
    Uint8Array.from([0xff, 0xfe, 0x4f, 0x4e]),
  ];
  for (const payload of garbage) {
    const name =
      typeof payload === "string"
        ? JSON.stringify(payload.length > 20 ? `${payload.slice(0, 20)}…` : payload)
        : "invalid UTF-8";
    it(`garbage ${name} → one bad-command error, LED unchanged`, () => {
      const t = setup();
      t.online();
      const writes = t.led.writes.length;
      const out = t.send(`${BASE}/led/set`, payload);
      assert.equal(out.length, 1, summary(out).join("\n"));
      assert.equal(out[0].topic, `${BASE}/error`);
      assert.equal(out[0].qos, 0);
      assert.equal(out[0].retain, false);
      const e = json(out[0]);
      assert.deepEqual(Object.keys(e).sort(), ["detail", "error"]);
      assert.equal(e.error, "bad-command");
      assert.equal(typeof e.detail, "string");
      assert.equal(t.led.writes.length, writes);
      assert.equal(t.app.led, false);
      assert.ok(t.app.client.connected);
    });
  }

  it("messages on other topics are ignored", () => {
    const t = setup();
    t.online();
    assert.deepEqual(t.send(`${BASE}/led`, "ON"), []);
    assert.equal(t.app.led, false);
  });
});

// ---------------------------------------------------------------- config/set

describe("app: the offline buffer", () => {
  const T0 = 1764547200000; // 2025-12-01, Unix ms
  /** A device with flash and a wall clock; readings count up: temp = n / 10. */
  function buffered(flash = new RamFlash(4096, 4), layer: Record<string, unknown> = {}) {
    let clock: FakeClock | undefined;
    const t = setup(
      { interval: 2000, discovery: "off", ...layer },
      {},
      { flash, wallClock: () => T0 + (clock?.now() ?? 0) },
    );
    clock = t.clock;
    for (let n = 1; n <= 200; n++) t.sensor.push(good(n / 10, 50));
    const advance = (ms: number) => t.clock.advance(ms);
    return Object.assign(t, { flash, advance });
  }
  const states = (packets: WrittenPacket[]) =>
    publishes(packets)
      .filter((p) => p.topic === `${BASE}/state`)
      .map((p) => json(p));

  it("readings taken while the broker is unreachable are replayed first, oldest first, with their capture time; live ones follow", () => {
    const t = buffered();
    t.app.start();
    t.app.hold(); // the network is down
    t.advance(10000); // 5 readings
    assert.equal(t.app.diagnostics().buffered, 5);
    t.app.resume();
    t.net.last.open();
    const out = states(serve(t.net.last));
    // Captured at 1 s (the sensor's warm-up), then every 2 s; the log keeps seconds.
    assert.deepEqual(
      out,
      [1, 2, 3, 4, 5].map((n) => ({ time: T0 + (2 * n - 1) * 1000, data: { temp: n / 10, hum: 50 } })),
    );
    assert.equal(t.app.diagnostics().buffered, 0);
    t.advance(2000);
    assert.deepEqual(states(serve(t.net.last)), [{ data: { temp: 0.6, hum: 50 } }]);
  });

  it("a replay is paced: at most 4 readings wait for their PUBACK, and an LED command is answered in the middle", () => {
    const t = buffered();
    t.app.start();
    t.app.hold();
    t.advance(60000); // 30 readings
    t.app.resume();
    const socket = t.net.last;
    socket.open();
    socket.take();
    socket.receive(connack(false));
    const first = socket.take().filter((p) => p.name === "PUBLISH" && p.topic === `${BASE}/state`);
    assert.equal(first.length, 4, "four in flight");
    socket.receive(publishPacket(`${BASE}/led/set`, "ON", { qos: 1, id: 900 }));
    const answer = socket.take().filter((p) => p.name === "PUBLISH");
    assert.deepEqual(
      answer.map((p) => `${p.topic} ${payloadText(p)}`),
      [`${BASE}/led ON`],
      "answered at once, ahead of the backlog",
    );
    socket.receive(puback(first[0].packetId!));
    const next = socket.take().filter((p) => p.name === "PUBLISH");
    assert.equal(next.length, 1, "one acknowledged, one more sent");
    assert.equal(json(next[0]).data && (json(next[0]).data as { temp: number }).temp, 0.5);
  });

  it("a restart in the middle of a backlog: what was acknowledged is not sent again, the rest is, in order", () => {
    const flash = new RamFlash(4096, 4);
    const t = buffered(flash);
    t.app.start();
    t.app.hold();
    t.advance(20000); // 10 readings
    t.app.resume();
    const socket = t.net.last;
    socket.open();
    socket.take();
    socket.receive(connack(false));
    const sent = socket.take().filter((p) => p.name === "PUBLISH" && p.topic === `${BASE}/state`);
    socket.receive(puback(sent[0].packetId!));
    socket.receive(puback(sent[1].packetId!));
    // Power cut: a new device on the same flash.
    const again = buffered(flash);
    assert.ok(
      again.logs.includes("buffer: 8 readings kept from before the restart, to be sent first"),
      again.logs.join("\n"),
    );
    again.app.start();
    again.net.last.open();
    const temps = states(serve(again.net.last)).map((x) => (x.data as { temp: number }).temp);
    assert.deepEqual(temps, [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
  });

  it("readings taken before the wall clock was known carry no time", () => {
    const t = setup({ interval: 2000, discovery: "off" }, {}, { flash: new RamFlash(4096, 4), wallClock: () => 5000 });
    t.app.start();
    t.app.hold();
    t.clock.advance(4000);
    t.app.resume();
    t.net.last.open();
    assert.deepEqual(states(serve(t.net.last)), [{ data: { temp: 23.5, hum: 41 } }, { data: { temp: 23.5, hum: 41 } }]);
  });

  it("when the buffer is full the oldest readings go, counted in dropped and reported once", () => {
    const t = buffered(new RamFlash(64, 3), {}); // 7 readings a block: 14 kept at least
    for (let n = 1; n <= 200; n++) t.sensor.push(good(n / 10, 50));
    t.app.start();
    t.app.hold();
    t.advance(60000); // 30 readings
    t.app.resume();
    t.net.last.open();
    const out = serve(t.net.last);
    const temps = states(out).map((x) => (x.data as { temp: number }).temp);
    const dropped = t.app.diagnostics().dropped as number;
    assert.equal(temps.length + dropped, 30);
    assert.deepEqual(
      temps,
      temps.slice().sort((a, b) => a - b),
    );
    assert.equal(temps[temps.length - 1], 3);
    const errors = publishes(out)
      .filter((p) => p.topic === `${BASE}/error`)
      .map((p) => json(p).error);
    assert.deepEqual(errors, ["queue-full"]);
  });
});

describe("app: commands that come again", () => {
  it("a retained TOGGLE is not applied (it would flip the LED at every connect); retained ON/OFF are", () => {
    const t = setup();
    t.online();
    t.socket.receive(publishPacket(`${BASE}/led/set`, "TOGGLE", { qos: 1, id: 1, retain: true }));
    const out = publishes(serve(t.socket));
    assert.equal(t.app.led, false);
    assert.deepEqual(
      out.map((p) => p.topic),
      [`${BASE}/error`],
    );
    assert.match(json(out[0]).detail as string, /retained TOGGLE is ignored/);
    t.socket.receive(publishPacket(`${BASE}/led/set`, "ON", { qos: 1, id: 2, retain: true }));
    serve(t.socket);
    assert.equal(t.app.led, true);
  });

  it("a command over the device's packet limit is read through and answered with one bad-command naming its size", () => {
    const t = setup();
    t.online();
    const big = publishPacket(`${BASE}/led/set`, "x".repeat(10240), { qos: 1, id: 3, retain: true });
    t.socket.receive(big);
    const out = serve(t.socket);
    assert.ok(summary(out).includes("PUBACK 3"));
    const errors = publishes(out).filter((p) => p.topic === `${BASE}/error`);
    assert.equal(errors.length, 1);
    assert.equal(json(errors[0]).error, "bad-command");
    assert.match(
      json(errors[0]).detail as string,
      new RegExp(`message of ${big.length} bytes on ${BASE}/led/set is over the device's limit of 4096 bytes`),
    );
    assert.equal(t.app.client.connected, true);
  });

  it("the LED state is kept in the store only when it changes (ledRestore last), and not at all otherwise", () => {
    const t = setup();
    t.online();
    for (const c of ["ON", "ON", "1", "OFF", "TOGGLE"]) t.send(`${BASE}/led/set`, c);
    assert.equal(t.store.map.get("led"), "ON");
    assert.equal(t.store.sets, 3, "ON, OFF, ON: one write per change");
    const off = setup({ ledRestore: "off" });
    off.online();
    off.send(`${BASE}/led/set`, "ON");
    assert.equal(off.store.map.get("led"), undefined);
  });

  it("after a restart the restored LED state is what the device reports: it never overwrites the user's last choice", () => {
    const t = setup({}, { led: "ON" });
    const out = publishes(t.online()).filter((p) => p.topic === `${BASE}/led`);
    assert.deepEqual(summary(out), [`PUBLISH q1 r ${BASE}/led ON`]);
    assert.ok(t.logs.includes("store: restored led ON"));
  });

  it("says at start which stored settings it applied", () => {
    const t = setup({}, { interval: "5000", qos: "0" });
    assert.ok(
      t.logs.includes("store: applied interval=5000, qos=0 (kept settings win over build-time ones)"),
      t.logs.join("\n"),
    );
    assert.equal(t.app.config.qos, 0);
  });

  it("asks for a persistent session by default, a clean one with session=clean", () => {
    for (const [layer, clean] of [
      [{}, false],
      [{ session: "clean" }, true],
    ] as const) {
      const t = setup(layer);
      t.app.start();
      t.socket.open();
      assert.equal(t.socket.packets()[0].connect!.cleanSession, clean);
    }
  });
});

describe("app: config/set", () => {
  it('{"interval":5000,"qos":0} applies, persists and is echoed retained on config', () => {
    const t = setup();
    t.online();
    assert.equal(t.advance(1000).length, 1);
    const out = t.send(`${BASE}/config/set`, '{"interval":5000,"qos":0}');
    assert.deepEqual(summary(out), [`PUBLISH q1 r ${BASE}/config {"interval":5000,"qos":0}`]);
    assert.equal(t.app.config.interval, 5000);
    assert.equal(t.app.config.qos, 0);
    assert.equal(t.store.get("interval"), "5000");
    assert.equal(t.store.get("qos"), "0");
    assert.equal(t.advance(4999).length, 0);
    const [state] = t.advance(1);
    assert.equal(state.topic, `${BASE}/state`);
    assert.equal(state.qos, 0);
  });

  it("one key alone changes only that key", () => {
    const t = setup();
    t.online();
    const out = t.send(`${BASE}/config/set`, '{"qos":2}');
    assert.deepEqual(summary(out), [`PUBLISH q1 r ${BASE}/config {"interval":10000,"qos":2}`]);
    assert.equal(t.store.get("interval"), undefined);
    assert.equal(t.store.get("qos"), "2");
  });

  it("persisted settings are loaded at start; bad stored values are ignored", () => {
    const t = setup({}, { interval: "5000", qos: "0" });
    assert.equal(t.app.config.interval, 5000);
    assert.equal(t.app.config.qos, 0);
    const u = setup({}, { interval: "fast", qos: "9" });
    assert.equal(u.app.config.interval, 10000);
    assert.equal(u.app.config.qos, 1);
  });

  const refused = [
    "nope",
    "",
    "[]",
    "null",
    "5000",
    "{}",
    '{"interval":500}',
    '{"interval":"fast"}',
    '{"interval":5000.5}',
    '{"qos":3}',
    '{"qos":-1}',
    '{"foo":1}',
    '{"broker":"mqtt://evil"}',
    '{"interval":5000,"qos":7}',
    '{"qos":0,"prefix":"x"}',
  ];
  for (const payload of refused) {
    it(`bad config/set ${JSON.stringify(payload)} → bad-command, nothing changes`, () => {
      const t = setup();
      t.online();
      const before = JSON.stringify(t.app.config);
      const out = t.send(`${BASE}/config/set`, payload);
      assert.equal(out.length, 1, summary(out).join("\n"));
      assert.equal(out[0].topic, `${BASE}/error`);
      assert.equal(json(out[0]).error, "bad-command");
      assert.equal(JSON.stringify(t.app.config), before);
      assert.equal(t.store.sets, 0);
    });
  }
});

// ---------------------------------------------------------------- losant

describe("app: losant profile", () => {
  function losant() {
    const t = setup({ profile: "losant", qos: 2, retain: true });
    return t;
  }

  it("forces retain off and QoS ≤ 1; no will; subscribes only to the command topic", () => {
    const t = losant();
    assert.equal(t.app.config.retain, false);
    assert.equal(t.app.config.qos, 1);
    const seen = t.online();
    assert.equal(seen[0].connect!.will, undefined);
    assert.deepEqual(summary(seen), [
      "CONNECT",
      `SUBSCRIBE losant/${ID}/command@1`,
      `PUBLISH q1 losant/${ID}/state {"data":{"led":"OFF"}}`,
    ]);
  });

  it("state on losant/<id>/state carries the LED state", () => {
    const t = losant();
    t.online();
    const out = t.advance(1000);
    assert.deepEqual(summary(out), [`PUBLISH q1 losant/${ID}/state {"data":{"temp":23.5,"hum":41,"led":"OFF"}}`]);
  });

  it('commands {"name":"led","payload":{"state":"ON"}} and {"name":"toggle"}', () => {
    const t = losant();
    t.online();
    let out = t.send(`losant/${ID}/command`, '{"name":"led","payload":{"state":"ON"}}');
    assert.deepEqual(summary(out), [`PUBLISH q1 losant/${ID}/state {"data":{"led":"ON"}}`]);
    assert.equal(t.led.value, 1);
    out = t.send(`losant/${ID}/command`, '{"name":"toggle"}');
    assert.deepEqual(summary(out), [`PUBLISH q1 losant/${ID}/state {"data":{"led":"OFF"}}`]);
    assert.equal(t.led.value, 0);
    t.send(`losant/${ID}/command`, '{"name":"led","payload":{"state":"toggle"}}');
    assert.equal(t.led.value, 1);
    const state = t.advance(1000);
    assert.equal(payloadText(state[0]), '{"data":{"temp":23.5,"hum":41,"led":"ON"}}');
  });

  it("a plain ON is not a Losant command; bad commands change nothing", () => {
    const t = losant();
    t.online();
    for (const payload of ["ON", '{"name":"blink"}', '{"name":"led","payload":{"state":"dim"}}', "{}"]) {
      const out = t.send(`losant/${ID}/command`, payload);
      assert.equal(out.filter((p) => p.topic === `losant/${ID}/state`).length, 0, payload);
    }
    assert.equal(t.app.led, false);
    assert.equal(t.app.badCommands, 4);
  });

  it("nothing is ever retained", () => {
    const t = losant();
    const all = [...t.online(), ...t.send(`losant/${ID}/command`, '{"name":"toggle"}'), ...t.advance(61000)];
    assert.ok(all.length > 3);
    for (const p of publishes(all)) assert.equal(p.retain, false, p.topic);
  });
});

// ---------------------------------------------------------------- offline

describe("app: while the broker is unreachable", () => {
  it("readings queue up to the outbox bound; the drops are counted and reported once, after reconnecting", () => {
    const t = setup();
    t.app.start();
    t.app.hold();
    for (let i = 0; i < 250; i++) t.clock.advance(1000); // 25 readings at QoS 1, never connected
    assert.ok(t.app.client.queued <= 16);
    assert.ok(t.app.client.dropped <= 25, `dropped ${t.app.client.dropped}`);
    assert.ok(t.app.client.dropped > 0);
    assert.equal(t.logs.filter((l) => l.indexOf("queue-full") >= 0).length, 0, "reported while offline");
    t.app.resume();
    t.socket.open();
    const sent = publishes(serve(t.socket));
    assert.ok(sent.filter((p) => p.topic === `${BASE}/state`).length >= 10);
    assert.equal(sent.filter((p) => p.topic === `${BASE}/status`).length, 1);
    // Reports come from the connection, each for new drops: a few, never a cascade.
    const errors = sent.filter((p) => p.topic === `${BASE}/error`);
    assert.ok(errors.length >= 1 && errors.length <= 8, `${errors.length} error reports`);
    for (const e of errors) assert.equal(json(e).error, "queue-full");
  });

  it("on reconnecting, online and the LED state go out before the readings queued meanwhile", () => {
    const t = setup({ discovery: "off" });
    t.app.start();
    t.app.hold();
    t.clock.advance(5000); // a reading or two, queued
    assert.ok(t.app.client.queued >= 1);
    t.app.resume();
    t.socket.open();
    const sent = summary(serve(t.socket)).filter((line) => line.startsWith("PUBLISH"));
    assert.deepEqual(sent.slice(0, 2), [`PUBLISH q1 r ${BASE}/status online`, `PUBLISH q1 r ${BASE}/led OFF`]);
    assert.ok(sent.some((line) => line.startsWith(`PUBLISH q1 ${BASE}/state `)));
  });

  it("hold() stops connecting, resume() connects at once", () => {
    const t = setup();
    t.online();
    t.app.hold();
    assert.equal(t.socket.closed, true);
    t.clock.advance(120000);
    assert.equal(t.net.count, 1);
    t.app.resume();
    assert.equal(t.net.count, 2);
  });
});

// ---------------------------------------------------------------- stop

describe("app: stop()", () => {
  it("publishes offline retained QoS 1, disconnects, and stops sampling", () => {
    const t = setup();
    t.online();
    let done = 0;
    t.app.stop(() => done++);
    const seen = serve(t.socket);
    assert.deepEqual(summary(seen), [`PUBLISH q1 r ${BASE}/status offline`, "DISCONNECT"]);
    assert.equal(t.socket.closed, true);
    assert.equal(done, 1);
    const reads = t.sensor.reads;
    t.clock.advance(10 * 60 * 1000);
    assert.equal(t.sensor.reads, reads);
    assert.equal(t.net.count, 1);
  });

  it("while disconnected it just ends", () => {
    const t = setup();
    t.app.start();
    let done = 0;
    t.app.stop(() => done++);
    assert.equal(done, 1);
    assert.equal(t.app.client.state, "closed");
  });
});

describe("app: refused messages are surfaced, never ignored", () => {
  it("an id that makes bad topics (a lone surrogate from the platform) is a logged config error, and every refused message is counted and logged", () => {
    const t = setup({}, {}, {}, "esp\ud800");
    const written = publishes(t.online());
    assert.deepEqual(written, []);
    const fault = 'topic "devices/esp\\ud800/state" (from id "esp\\ud800"): lone surrogate in topic';
    assert.ok(t.logs.indexOf(`error: config: ${fault}`) >= 0, t.logs.join("\n"));
    assert.deepEqual(
      t.app.recentErrors.map((e) => [e.code, e.detail]),
      [["config", fault]],
    );
    assert.ok(t.app.refused >= 3, String(t.app.refused)); // online, led, diag, the config error …
    assert.equal(t.app.diagnostics().refused, t.app.refused);
    assert.ok(
      t.logs.indexOf("mqtt: refused a message to devices/esp\ud800/status: lone surrogate in topic") >= 0,
      t.logs.join("\n"),
    );
  });

  it("a good id refuses nothing", () => {
    const t = setup();
    t.online();
    assert.equal(t.app.refused, 0);
    assert.deepEqual(t.app.recentErrors, []);
    assert.equal(t.logs.filter((l) => l.startsWith("mqtt: refused")).length, 0);
  });
});
