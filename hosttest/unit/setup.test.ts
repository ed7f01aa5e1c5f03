/**
 * Set-up mode (src/wifi/supervisor.ts), the LED's blink pattern
 * (src/wifi/indicator.ts) and kept settings (src/app/settings.ts), with the
 * fake clock: the access point opens with no network configured or after 2
 * minutes without a link, and closes once the station has an address.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildConfig } from "../../src/app/config";
import { applyKept, forget, keep, keptKeys } from "../../src/app/settings";
import { boot } from "../../src/boot";
import { Backoff } from "../../src/mqtt/backoff";
import { VirtualDht } from "../../src/virtual";
import { IndicatorLed, SETUP_PATTERN } from "../../src/wifi/indicator";
import { SETUP_AFTER, WiFiSupervisor, type WiFiSupervisorOptions } from "../../src/wifi/supervisor";
import { FakeClock, FakeNetwork, FakeWiFi, fixedRandom, MapStore, RecordingPin } from "./fakes";

function supervised(extra: Partial<WiFiSupervisorOptions> = {}) {
  const clock = new FakeClock(0);
  const wifi = new FakeWiFi();
  const lines: string[] = [];
  const setups: string[] = [];
  const supervisor = new WiFiSupervisor({
    wifi,
    clock,
    ssid: "home",
    password: "secret",
    log: (line) => lines.push(line),
    backoff: new Backoff(1000, 8000, fixedRandom(0)),
    setup: { name: "esp32-abcdef-setup", password: "" },
    onSetup: (active, address) => setups.push(active ? `on ${address}` : "off"),
    ...extra,
  });
  return { clock, wifi, lines, setups, supervisor };
}

describe("set-up mode", () => {
  it("no network configured: the access point opens at once, open, and the station never tries", () => {
    const { clock, wifi, lines, setups, supervisor } = supervised({ ssid: "" });
    supervisor.start();
    assert.equal(supervisor.setup, true);
    assert.equal(supervisor.state, "unconfigured");
    assert.deepEqual(wifi.calls, ["accessPoint esp32-abcdef-setup "]);
    assert.deepEqual(setups, ["on 192.168.4.1"]);
    assert.ok(
      lines.includes(
        'wifi: set-up mode (no Wi-Fi network is configured): access point "esp32-abcdef-setup" (open) at 192.168.4.1',
      ),
      lines.join("\n"),
    );
    clock.advance(10 * SETUP_AFTER);
    assert.equal(wifi.connects, 0);
    supervisor.stop();
    assert.deepEqual(wifi.calls.slice(-2), ["closeAccessPoint", "disconnect"]);
    assert.equal(clock.pending, 0);
  });

  it("a network that never answers: set-up mode after exactly 2 minutes, WPA2 with apPassword; the station keeps trying", () => {
    const { clock, wifi, lines, setups, supervisor } = supervised({
      setup: { name: "esp32-abcdef-setup", password: "letmein1" },
    });
    supervisor.start();
    clock.advance(SETUP_AFTER - 1);
    assert.equal(supervisor.setup, false);
    assert.deepEqual(setups, []);
    clock.advance(1);
    assert.equal(supervisor.setup, true);
    assert.ok(wifi.calls.includes("accessPoint esp32-abcdef-setup letmein1"));
    assert.ok(
      lines.some((l) =>
        l.startsWith('wifi: set-up mode (no Wi-Fi link for 120 s): access point "esp32-abcdef-setup" (WPA2)'),
      ),
      lines.join("\n"),
    );
    assert.ok(
      lines.every((l) => !l.includes("letmein1")),
      "the password is never traced",
    );
    const tries = wifi.connects;
    clock.advance(60000);
    assert.ok(wifi.connects > tries, "the station keeps trying in set-up mode");
    while (supervisor.state !== "connecting") clock.advance(100);
    wifi.emit("connected", "gotIP");
    assert.equal(supervisor.setup, false);
    assert.deepEqual(setups, ["on 192.168.4.1", "off"]);
    assert.ok(wifi.calls.includes("closeAccessPoint"));
    assert.ok(lines.includes("wifi: left set-up mode (access point closed)"));
  });

  it("a link that comes up within 2 minutes never opens the access point; one lost for 2 minutes does", () => {
    const { clock, wifi, supervisor, setups } = supervised();
    supervisor.start();
    clock.advance(SETUP_AFTER - 1000);
    while (supervisor.state !== "connecting") clock.advance(100);
    wifi.emit("connected", "gotIP");
    clock.advance(10 * SETUP_AFTER);
    assert.equal(supervisor.setup, false);
    assert.deepEqual(setups, []);
    wifi.emit("disconnected"); // lost: the attempts that follow all time out
    clock.advance(SETUP_AFTER - 1);
    assert.equal(supervisor.setup, false);
    clock.advance(1);
    assert.equal(supervisor.setup, true);
    assert.deepEqual(setups, ["on 192.168.4.1"]);
    while (supervisor.state !== "connecting") clock.advance(100);
    wifi.emit("connected", "gotIP");
    assert.deepEqual(setups, ["on 192.168.4.1", "off"]);
  });

  it("a link that flaps shorter than 2 minutes down never reaches set-up mode", () => {
    const { clock, wifi, supervisor } = supervised();
    supervisor.start();
    for (let i = 0; i < 20; i++) {
      wifi.emit("connected", "gotIP");
      clock.advance(30000);
      wifi.emit("disconnected");
      clock.advance(60000);
      while (supervisor.state !== "connecting") clock.advance(100);
    }
    assert.equal(wifi.calls.filter((c) => c.startsWith("accessPoint")).length, 0);
  });

  it("the address the port reports is traced with the link", () => {
    const { wifi, lines, supervisor } = supervised();
    wifi.ip = "192.168.1.23";
    supervisor.start();
    wifi.emit("connected", "gotIP");
    assert.ok(lines.includes("wifi: got an address (192.168.1.23)"), lines.join("\n"));
    assert.equal(supervisor.address(), "192.168.1.23");
  });

  it("a platform without an access point says so and carries on", () => {
    const { clock, lines, supervisor, wifi } = supervised({ ssid: "" });
    (wifi as { openAccessPoint?: unknown }).openAccessPoint = undefined;
    supervisor.start();
    assert.equal(supervisor.setup, false);
    assert.ok(
      lines.some((l) => l.includes("has no access point for set-up mode")),
      lines.join("\n"),
    );
    assert.equal(clock.pending, 0);
  });

  it("an access point the driver refuses is traced, not thrown", () => {
    const { lines, supervisor, wifi } = supervised({ ssid: "" });
    wifi.openAccessPoint = () => {
      throw new Error("esp_wifi_start failed");
    };
    supervisor.start();
    assert.equal(supervisor.setup, false);
    assert.ok(
      lines.some((l) => l.includes("cannot open the set-up access point (esp_wifi_start failed)")),
      lines.join("\n"),
    );
  });

  it("a simulated link (requireSsid false) connects without an ssid", () => {
    const { wifi, supervisor } = supervised({ ssid: "", requireSsid: false });
    supervisor.start();
    assert.equal(wifi.connects, 1);
    assert.equal(supervisor.setup, false);
  });
});

describe("the LED in set-up mode", () => {
  it("plays two short blinks every 2 s, keeps the app's writes and restores the last one", () => {
    const clock = new FakeClock(0);
    const pin = new RecordingPin();
    const led = new IndicatorLed(pin, clock);
    led.write(1);
    assert.deepEqual(pin.writes, [1]);
    led.blink(SETUP_PATTERN);
    const seen: string[] = [];
    for (let t = 0; t < 4000; t += 50) {
      seen.push(String(pin.value));
      clock.advance(50);
    }
    // 100 on, 150 off, 100 on, 1650 off, at 50 ms steps
    const period = `1100011${"0".repeat(33)}`;
    assert.equal(seen.join(""), period + period);
    led.write(0); // the app switches the LED meanwhile: not shown
    led.write(1);
    assert.equal(led.blinking, true);
    led.blink(undefined);
    assert.equal(pin.value, 1, "the app's last state is back");
    assert.equal(clock.pending, 0);
  });
});

describe("kept settings", () => {
  it("win over build-time values, are said at start without secrets, and bad ones are skipped", () => {
    const store = new MapStore({
      interval: "5000",
      mqttPassword: "hunter2",
      broker: "mqtt://10.0.0.9",
      qos: "7",
      led: "ON",
    });
    const { config } = buildConfig({ interval: 2000, broker: "mqtt://build" });
    const lines: string[] = [];
    const applied = applyKept(config, store, (l) => lines.push(l));
    assert.deepEqual(applied.sort(), ["broker", "interval", "mqttPassword"]);
    assert.equal(config.interval, 5000);
    assert.equal(config.broker, "mqtt://10.0.0.9");
    assert.equal(config.mqttPassword, "hunter2");
    assert.equal(config.qos, 1);
    assert.ok(
      lines.some((l) => l.startsWith('store: ignored bad value "7" for "qos"')),
      lines.join("\n"),
    );
    assert.ok(
      lines.includes(
        "store: applied broker=mqtt://10.0.0.9, mqttPassword=(set), interval=5000 (kept settings win over build-time ones)",
      ),
      lines.join("\n"),
    );
    assert.ok(lines.every((l) => !l.includes("hunter2")));
  });

  it("the losant profile's rules hold over kept values", () => {
    const { config } = buildConfig({ profile: "losant" });
    applyKept(config, new MapStore({ qos: "2", retain: "true" }), () => {});
    assert.equal(config.qos, 1);
    assert.equal(config.retain, false);
  });

  it("keep() writes text; forget() removes every setting and leaves the LED state", () => {
    const store = new MapStore({ led: "ON" });
    assert.equal(keep(store, { interval: 5000, retain: false, ssid: "home" }), undefined);
    assert.deepEqual(keptKeys(store).sort(), ["interval", "retain", "ssid"]);
    assert.equal(store.get("retain"), "false");
    assert.equal(forget(store), undefined);
    assert.deepEqual(keptKeys(store), []);
    assert.equal(store.get("led"), "ON");
  });

  it("a store that fails is reported, not thrown", () => {
    const store = new MapStore();
    store.set = () => {
      throw new Error("NVS full");
    };
    assert.match(keep(store, { interval: 5000 }) ?? "", /cannot keep interval \(NVS full\)/);
    assert.match(keep(undefined, { interval: 5000 }) ?? "", /no store/);
  });

  it("at boot: the kept ssid, broker and apPassword are the ones used", () => {
    const clock = new FakeClock(0);
    const wifi = new FakeWiFi();
    const net = new FakeNetwork();
    const store = new MapStore({
      ssid: "kept-net",
      password: "kept-pass",
      broker: "mqtt://10.0.0.9:1884",
      apPassword: "12345678",
    });
    const { config } = buildConfig({ ssid: "build-net", broker: "mqtt://build" });
    const lines: string[] = [];
    const device = boot(
      config,
      [],
      {
        clock,
        socket: net.factory,
        wifi,
        store,
        log: (l) => lines.push(l),
        led: () => new RecordingPin(),
        capture: (_pin, model) => new VirtualDht({ model, now: () => 0 }),
      },
      { board: "test", defaultId: () => "esp32-abcdef", needsSsid: true },
    );
    assert.equal(config.ssid, "build-net", "the caller's config is not changed");
    assert.deepEqual(wifi.calls, ["connect kept-net kept-pass"]);
    wifi.emit("connected", "gotIP");
    assert.equal(net.last.options.host, "10.0.0.9");
    assert.equal(net.last.options.port, 1884);
    wifi.emit("disconnected");
    clock.advance(SETUP_AFTER);
    assert.ok(wifi.calls.includes("accessPoint esp32-abcdef-setup 12345678"), wifi.calls.join("\n"));
    device.stop();
  });

  it("at boot in set-up mode the LED blinks; leaving it restores the LED", () => {
    const clock = new FakeClock(0);
    const wifi = new FakeWiFi();
    const pin = new RecordingPin();
    const { config } = buildConfig({ broker: "mqtt://h", ledRestore: "on" });
    const device = boot(
      config,
      [],
      {
        clock,
        socket: new FakeNetwork().factory,
        wifi,
        log: () => {},
        led: () => pin,
        capture: (_pin, model) => new VirtualDht({ model, now: () => 0 }),
      },
      { board: "test", defaultId: () => "x", needsSsid: true },
    );
    assert.equal(device.wifi.setup, true);
    const before = pin.writes.length;
    clock.advance(4000);
    assert.ok(pin.writes.length - before >= 8, "blinking");
    device.stop();
    assert.equal(pin.value, 1, "the LED as ledRestore says once set-up mode ends");
  });
});
