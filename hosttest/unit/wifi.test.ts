import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildConfig } from "../../src/app/config";
import { boot } from "../../src/boot";
import { Backoff } from "../../src/mqtt/backoff";
import { VirtualDht } from "../../src/virtual";
import { WiFiSupervisor, type WiFiSupervisorOptions } from "../../src/wifi/supervisor";
import { FakeClock, FakeNetwork, FakeWiFi, fixedRandom, MapStore, RecordingPin, serve, summary } from "./fakes";

function setup(extra: Partial<WiFiSupervisorOptions> = {}) {
  const clock = new FakeClock(1000);
  const wifi = new FakeWiFi();
  const events: string[] = [];
  const lines: string[] = [];
  const supervisor = new WiFiSupervisor({
    wifi,
    clock,
    ssid: "home",
    password: "secret",
    onUp: () => events.push("up"),
    onDown: () => events.push("down"),
    log: (line) => lines.push(line),
    // random 0: delays are half the ceiling (500, 1000, 2000, …), the floor of equal jitter
    backoff: new Backoff(1000, 8000, fixedRandom(0)),
    ...extra,
  });
  return { clock, wifi, events, lines, supervisor };
}

describe("Wi-Fi supervisor", () => {
  it("connects, waits for an address, then reports up with RSSI", () => {
    const { wifi, events, supervisor } = setup();
    assert.equal(supervisor.state, "idle");
    assert.equal(supervisor.rssi(), undefined);
    supervisor.start();
    assert.deepEqual(wifi.calls, ["connect home secret"]);
    assert.equal(supervisor.state, "connecting");
    wifi.emit("connected");
    assert.equal(supervisor.up, false, "associated is not enough: wait for an address");
    assert.deepEqual(events, []);
    wifi.emit("gotIP");
    assert.equal(supervisor.up, true);
    assert.deepEqual(events, ["up"]);
    assert.equal(supervisor.rssi(), -61);
  });

  it("start() twice connects once", () => {
    const { wifi, supervisor } = setup();
    supervisor.start();
    supervisor.start();
    assert.equal(wifi.connects, 1);
  });

  it("gives up on an attempt without an address and retries with growing delays", () => {
    const { clock, wifi, events, supervisor } = setup({ connectTimeout: 10000 });
    supervisor.start();
    clock.advance(9999);
    assert.equal(wifi.connects, 1);
    clock.advance(1);
    assert.equal(supervisor.state, "waiting");
    assert.deepEqual(wifi.calls, ["connect home secret", "disconnect"]);
    clock.advance(499);
    assert.equal(wifi.connects, 1);
    clock.advance(1); // first delay 500
    assert.equal(wifi.connects, 2);
    clock.advance(10000); // timeout again, then wait 1000
    clock.advance(999);
    assert.equal(wifi.connects, 2);
    clock.advance(1);
    assert.equal(wifi.connects, 3);
    assert.deepEqual(events, []);
  });

  it("a drop while connecting counts as a failed attempt", () => {
    const { clock, wifi, supervisor } = setup();
    supervisor.start();
    wifi.emit("connected", "disconnected");
    assert.equal(supervisor.state, "waiting");
    clock.advance(500);
    assert.equal(wifi.connects, 2);
    assert.equal(supervisor.state, "connecting");
  });

  it("a connect() that throws is retried later", () => {
    const { clock, wifi, supervisor, lines } = setup();
    wifi.failConnect = "esp_wifi_connect failed";
    supervisor.start();
    assert.equal(supervisor.state, "waiting");
    assert.ok(
      lines.some((l) => l.includes("esp_wifi_connect failed")),
      lines.join("\n"),
    );
    clock.advance(500);
    assert.equal(wifi.connects, 2);
  });

  it("after a drop: holds (onDown), reconnects with backoff, resumes (onUp)", () => {
    const { clock, wifi, events, supervisor } = setup();
    supervisor.start();
    wifi.emit("connected", "gotIP");
    wifi.emit("disconnected");
    assert.deepEqual(events, ["up", "down"]);
    assert.equal(supervisor.up, false);
    assert.equal(supervisor.rssi(), undefined);
    assert.equal(supervisor.drops, 1);
    wifi.emit("disconnected"); // repeated driver reports change nothing
    assert.deepEqual(events, ["up", "down"]);
    clock.advance(499);
    assert.equal(wifi.connects, 1);
    clock.advance(1);
    assert.equal(wifi.connects, 2);
    wifi.emit("connected", "gotIP");
    assert.deepEqual(events, ["up", "down", "up"]);
  });

  it("failed attempts back off further; a link that gets an address starts over from the base delay, however short it lasts", () => {
    const { clock, wifi, supervisor } = setup({ connectTimeout: 10000 });
    supervisor.start();
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      wifi.emit("disconnected"); // attempt failed
      const before = wifi.connects;
      let waited = 0;
      while (wifi.connects === before) {
        clock.advance(100);
        waited += 100;
      }
      waits.push(waited);
    }
    assert.deepEqual(waits, [500, 1000, 2000, 4000, 4000], "capped at half of 8000");
    wifi.emit("gotIP");
    clock.advance(1000);
    wifi.emit("disconnected");
    clock.advance(499);
    const before = wifi.connects;
    clock.advance(1);
    assert.equal(wifi.connects, before + 1, "back to the base delay after the link was up");
  });

  it("stop() disconnects, cancels the retry and ignores later events", () => {
    const { clock, wifi, events, supervisor } = setup();
    supervisor.start();
    wifi.emit("gotIP");
    wifi.emit("disconnected");
    supervisor.stop();
    assert.equal(supervisor.state, "idle");
    assert.equal(wifi.calls[wifi.calls.length - 1], "disconnect");
    clock.advance(120000);
    assert.equal(wifi.connects, 1);
    wifi.emit("gotIP");
    assert.deepEqual(events, ["up", "down"]);
    assert.equal(clock.pending, 0);
  });

  it("a late gotIP of an abandoned attempt is ignored until the next attempt", () => {
    const { clock, wifi, events, supervisor } = setup({ connectTimeout: 5000 });
    supervisor.start();
    clock.advance(5000);
    wifi.emit("gotIP");
    assert.deepEqual(events, []);
    assert.equal(supervisor.state, "waiting");
    clock.advance(500);
    wifi.emit("gotIP");
    assert.deepEqual(events, ["up"]);
  });
});

describe("the boot path (src/boot.ts) with Wi-Fi", () => {
  function booted(layer: Record<string, unknown> = {}, storeInit: Record<string, string> = {}) {
    const clock = new FakeClock(0);
    const wifi = new FakeWiFi();
    const net = new FakeNetwork();
    const led = new RecordingPin();
    const store = new MapStore(storeInit);
    const logs: string[] = [];
    const { config, errors } = buildConfig({ discovery: "off", interval: 60000, ssid: "home", ...layer });
    const device = boot(
      config,
      errors,
      {
        clock,
        socket: net.factory,
        wifi,
        log: (line) => logs.push(line),
        store,
        led: () => led,
        capture: (_pin, model) => new VirtualDht({ model, now: () => clock.now() }),
        random: fixedRandom(0.5),
      },
      {
        board: "test",
        defaultId: () => "esp32-abcdef",
        needsSsid: true,
        defaultBroker: { tls: false, host: "127.0.0.1", port: 1883 },
      },
    );
    return { clock, wifi, net, led, store, logs, device };
  }

  it("holds MQTT while Wi-Fi is down and resumes it after", () => {
    const { clock, wifi, net, device } = booted();
    assert.ok(device);
    assert.equal(net.count, 0, "no MQTT before Wi-Fi has an address");
    wifi.emit("gotIP");
    assert.equal(net.count, 1);
    net.last.open();
    const seen = summary(serve(net.last));
    assert.ok(seen.includes("PUBLISH q1 r devices/esp32-abcdef/status online"), seen.join("\n"));
    const diag = seen.find((l) => l.startsWith("PUBLISH q0 devices/esp32-abcdef/diag "));
    assert.ok(diag?.includes('"rssi":-61'), diag);

    wifi.emit("disconnected");
    assert.equal(net.last.closed, true, "the socket is closed while Wi-Fi is down");
    assert.equal(device.app.client.connected, false);
    clock.advance(60000);
    assert.equal(net.count, 1, "no MQTT attempt while Wi-Fi is down");
    assert.ok(wifi.connects > 1, "the supervisor tries again");
    wifi.emit("gotIP");
    assert.equal(net.count, 2, "MQTT resumes at once when Wi-Fi is back");
    net.last.open();
    const again = summary(serve(net.last));
    assert.ok(again.includes("PUBLISH q1 r devices/esp32-abcdef/status online"), again.join("\n"));
    assert.equal(device.app.client.connected, true);
    device.stop();
  });

  it("drives the LED to its restored state at power-up, before any network", () => {
    const { led, logs } = booted({}, { led: "ON" });
    assert.deepEqual(led.writes, [1]);
    assert.ok(logs.includes("store: restored led ON"), logs.join("\n"));
    assert.deepEqual(booted({ ledRestore: "off" }, { led: "ON" }).led.writes, [0]);
    assert.deepEqual(booted({ ledRestore: "on" }).led.writes, [1]);
  });

  it("refused settings are traced at once and published once as config errors after connecting", () => {
    const { config, errors } = buildConfig({ interval: "soon" });
    assert.equal(errors.length, 1);
    const { wifi, net, logs } = booted({ interval: "soon" });
    assert.ok(
      logs.some((l) => l.startsWith('config: bad value "soon" for "interval"')),
      logs.join("\n"),
    );
    wifi.emit("gotIP");
    net.last.open();
    const seen = summary(serve(net.last)).filter((l) => l.includes("/error "));
    assert.equal(seen.length, 1);
    assert.ok(seen[0].includes('"error":"config"'), seen[0]);
    void config;
  });

  it("no broker: the device runs (LED, sensor, web) with MQTT off; no ssid where one is needed: set-up mode", () => {
    const clock = new FakeClock(0);
    const logs: string[] = [];
    const wifi = new FakeWiFi();
    const net = new FakeNetwork();
    const ports = {
      clock,
      socket: net.factory,
      wifi,
      log: (line: string) => logs.push(line),
      led: () => new RecordingPin(),
      capture: (_pin: number, model: "dht11" | "dht22") => new VirtualDht({ model, now: () => 0 }),
    };
    const { config } = buildConfig({});
    const device = boot(config, [], ports, { board: "test", defaultId: () => "x", needsSsid: false });
    assert.ok(
      logs.some((l) => l.startsWith("config: no broker: MQTT stays off")),
      logs.join("\n"),
    );
    wifi.emit("connected", "gotIP");
    clock.advance(60000);
    assert.equal(net.count, 0, "no MQTT connection without a broker");
    assert.equal(device.app.client.state, "idle");
    device.stop();

    const unprovisioned = boot({ ...config, broker: "mqtt://h" }, [], ports, {
      board: "test",
      defaultId: () => "x",
      needsSsid: true,
    });
    assert.ok(
      logs.some((l) => l.startsWith("config: no Wi-Fi network")),
      logs.join("\n"),
    );
    assert.equal(unprovisioned.wifi.setup, true);
    assert.equal(unprovisioned.wifi.state, "unconfigured");
    assert.deepEqual(wifi.calls.slice(-1), ["accessPoint x-setup "]);
    unprovisioned.stop();
    assert.equal(clock.pending, 0, "stop() leaves no timer behind");
  });
});
