/**
 * Configuration parsing (src/app/config.ts): every key's valid and invalid
 * values, unknown keys, broker URL forms and the losant profile's overrides.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  buildConfig,
  CONFIG_KEYS,
  DEFAULTS,
  isConfigKey,
  likelyKey,
  parseBroker,
  parseValue,
  SECRET_KEYS,
} from "../../src/app/config";

function value(key: string, v: unknown): unknown {
  const r = parseValue(key, v);
  if ("error" in r) assert.fail(`${key}=${JSON.stringify(v)} refused: ${r.error}`);
  return r.value;
}

function refused(key: string, v: unknown): string {
  const r = parseValue(key, v);
  if (!("error" in r)) return assert.fail(`${key}=${JSON.stringify(v)} accepted as ${JSON.stringify(r.value)}`);
  return r.error;
}

/** Valid inputs → parsed values, and invalid inputs, per key; plus text the error must contain. */
const TABLE: { key: string; good: [unknown, unknown][]; bad: unknown[]; allowed: string }[] = [
  {
    key: "ssid",
    good: [
      ["home", "home"],
      ["", ""],
      ["my net ✓", "my net ✓"],
    ],
    bad: [5, true, null, undefined, {}],
    allowed: "a Wi-Fi network name",
  },
  { key: "password", good: [["p@ss word", "p@ss word"]], bad: [123, false], allowed: "a Wi-Fi password" },
  {
    key: "broker",
    good: [
      ["", ""],
      ["mqtt://broker.local", "mqtt://broker.local"],
      ["mqtts://broker.local:8884", "mqtts://broker.local:8884"],
      ["10.0.0.2", "10.0.0.2"],
      ["[::1]:1883", "[::1]:1883"],
    ],
    bad: [
      "http://broker",
      "mqtt://",
      "mqtt://host:0",
      "mqtt://host:65536",
      "mqtt://host:port",
      "mqtt://user@host",
      "two words",
      1883,
    ],
    allowed: "mqtt://host[:port], mqtts://host[:port] or a host name",
  },
  {
    key: "mqttUser",
    good: [
      ["u", "u"],
      ["", ""],
    ],
    bad: [1],
    allowed: "a user name",
  },
  { key: "mqttPassword", good: [["s3cret", "s3cret"]], bad: [null], allowed: "a password" },
  {
    key: "ca",
    good: [
      ["ca.pem", "ca.pem"],
      ["-----BEGIN CERTIFICATE-----\nMII…", "-----BEGIN CERTIFICATE-----\nMII…"],
    ],
    bad: [0],
    allowed: "a CA certificate",
  },
  {
    key: "id",
    good: [
      ["esp32-a1b2c3", "esp32-a1b2c3"],
      ["x".repeat(64), "x".repeat(64)],
      ["é".repeat(32), "é".repeat(32)],
      ["sim 1", "sim 1"],
    ],
    bad: ["", "a/b", "/", "a+b", "+", "a#b", "#", "x".repeat(65), "é".repeat(33), "a\u0000b", "a\ud800", "\udc00b", 7],
    allowed: "1-64 bytes without / + #",
  },
  {
    key: "prefix",
    good: [
      ["devices", "devices"],
      ["home-lab", "home-lab"],
    ],
    bad: ["", "a/b", "#", "+", "p".repeat(65), "a\u0000b", "\u0000", "p\ud83d"],
    allowed: "1-64 bytes without / + #",
  },
  {
    key: "interval",
    good: [
      [1000, 1000],
      [10000, 10000],
      ["5000", 5000],
      [" 2000 ", 2000],
      [86400000, 86400000],
    ],
    bad: [999, 0, -1000, 86400001, 1500.5, "1500.5", "fast", "", "1e4", null, true, NaN, Infinity],
    allowed: "an integer number of ms from 1000 to 86400000",
  },
  {
    key: "sensor",
    good: [
      ["dht11", "dht11"],
      ["dht22", "dht22"],
      ["DHT22", "dht22"],
      [" dht11 ", "dht11"],
    ],
    bad: ["dht21", "am2302", "", 11],
    allowed: "dht11 or dht22",
  },
  {
    key: "dhtPin",
    good: [
      [0, 0],
      [4, 4],
      ["48", 48],
    ],
    bad: [-1, 49, 4.5, "four", ""],
    allowed: "a GPIO number from 0 to 48",
  },
  {
    key: "ledPin",
    good: [
      [2, 2],
      [48, 48],
    ],
    bad: [49, -2, "x"],
    allowed: "a GPIO number from 0 to 48",
  },
  {
    key: "qos",
    good: [
      [0, 0],
      [1, 1],
      [2, 2],
      ["2", 2],
    ],
    bad: [3, -1, 1.5, "one", "", null],
    allowed: "0, 1 or 2",
  },
  {
    key: "keepalive",
    good: [
      [5, 5],
      [30, 30],
      [600, 600],
      ["60", 60],
    ],
    bad: [4, 0, 601, 30.5, "never"],
    allowed: "an integer number of seconds from 5 to 600",
  },
  {
    key: "retain",
    good: [
      [true, true],
      [false, false],
      ["true", true],
      ["FALSE", false],
      ["1", true],
      ["0", false],
      [" true ", true],
    ],
    bad: ["yes", "no", 1, 0, "", null],
    allowed: "true or false",
  },
  {
    key: "discovery",
    good: [
      ["homeassistant", "homeassistant"],
      ["off", "off"],
      ["ha", "ha"],
    ],
    bad: ["", "a/b", "#", "ha\u0000", "\ude00ha", 0],
    allowed: "a topic prefix such as homeassistant, or off",
  },
  {
    key: "profile",
    good: [
      ["default", "default"],
      ["losant", "losant"],
      ["Losant", "losant"],
    ],
    bad: ["aws", "", 1],
    allowed: "default or losant",
  },
  {
    key: "session",
    good: [
      ["persistent", "persistent"],
      ["clean", "clean"],
      [" Clean ", "clean"],
    ],
    bad: ["", "keep", true, 0],
    allowed: "persistent or clean",
  },
  {
    key: "ledRestore",
    good: [
      ["last", "last"],
      ["on", "on"],
      ["OFF", "off"],
    ],
    bad: ["", "previous", true, 1],
    allowed: "last, on or off",
  },
  {
    key: "buffer",
    good: [
      ["0", 0],
      [8640, 8640],
      ["100000", 100000],
    ],
    bad: ["-1", "100001", "lots", 1.5],
    allowed: "an integer number of readings from 0 to 100000",
  },
  {
    key: "ntp",
    good: [
      ["pool.ntp.org", "pool.ntp.org"],
      ["off", "off"],
      ["192.168.1.1", "192.168.1.1"],
    ],
    bad: ["", "ntp server", 1, "a/b"],
    allowed: "a time server host name, or off",
  },
  {
    key: "web",
    good: [
      [80, 80],
      ["8080", 8080],
      ["off", "off"],
      ["OFF", "off"],
      [65535, 65535],
    ],
    bad: [0, "0", 65536, "http", "", 80.5, true],
    allowed: "a TCP port from 1 to 65535, or off",
  },
  {
    key: "webPassword",
    good: [
      ["", ""],
      ["s3cret pass", "s3cret pass"],
      ["x".repeat(64), "x".repeat(64)],
    ],
    bad: ["x".repeat(65), 1234, null],
    allowed: "a password of up to 64 characters",
  },
  {
    key: "apPassword",
    good: [
      ["", ""],
      ["12345678", "12345678"],
      ["a b c d e", "a b c d e"],
      ["x".repeat(63), "x".repeat(63)],
    ],
    bad: ["1234567", "x".repeat(64), "caf\u00e9 1234", "tab\there!", 12345678],
    allowed: "8 to 63 printable ASCII characters",
  },
];

describe("config: parseValue", () => {
  it("the table covers every key", () => {
    assert.deepEqual(TABLE.map((row) => row.key).sort(), CONFIG_KEYS.slice().sort());
  });

  for (const row of TABLE) {
    it(`${row.key}: valid values`, () => {
      for (const [input, expected] of row.good)
        assert.deepEqual(value(row.key, input), expected, `${row.key}=${JSON.stringify(input)}`);
    });
    it(`${row.key}: invalid values name the key and the allowed values`, () => {
      for (const input of row.bad) {
        const error = refused(row.key, input);
        assert.ok(error.indexOf(`"${row.key}"`) >= 0, error);
        assert.ok(error.indexOf(row.allowed) >= 0, error);
      }
    });
  }

  it("a refused secret is never echoed in the message, other values are", () => {
    for (const key of SECRET_KEYS) {
      const error = refused(
        key,
        key === "webPassword" ? "hunter2".repeat(10) : key === "apPassword" ? "hunter2" : 12345,
      );
      assert.ok(error.indexOf("hunter2") < 0 && error.indexOf("12345") < 0, error);
      assert.ok(error.startsWith(`bad value for "${key}"`), error);
    }
    assert.match(refused("interval", "fast"), /^bad value "fast" for "interval"/);
  });

  it("an id, prefix or discovery prefix that would make a bad topic is refused with the reason", () => {
    assert.equal(
      refused("id", "esp\ud800"),
      'bad value "esp\\ud800" for "id": it would make a bad topic (lone surrogate in topic); expected 1-64 bytes without / + #',
    );
    assert.match(refused("id", "+"), /^bad value "\+" for "id": it would make a bad topic \(wildcard in topic\); /);
    assert.match(refused("id", "#"), /for "id": it would make a bad topic \(wildcard in topic\); /);
    assert.match(refused("id", "a/b"), /for "id": it would make a bad topic \('\/' in a topic level\); /);
    assert.match(refused("id", ""), /for "id": it would make a bad topic \(empty topic\); /);
    assert.match(refused("prefix", "\udc00"), /for "prefix": it would make a bad topic \(lone surrogate in topic\); /);
    assert.match(
      refused("discovery", "ha/\u0000"),
      /for "discovery": it would make a bad topic \(U\+0000 in topic\); /,
    );
    // Other keys keep the plain message.
    assert.equal(refused("qos", 3), 'bad value 3 for "qos": expected 0, 1 or 2');
  });

  it("unknown keys are refused with the list of known keys", () => {
    for (const key of ["color", "Interval", "broker_url", "", "__proto__", "toString", "constructor"]) {
      const error = refused(key, "x");
      assert.ok(error.indexOf(`unknown key "${key}"`) >= 0, error);
      for (const known of CONFIG_KEYS) assert.ok(error.indexOf(known) >= 0, `${error} lacks ${known}`);
    }
    assert.equal(isConfigKey("toString"), false);
    assert.equal(isConfigKey("qos"), true);
  });
});

describe("config: buildConfig", () => {
  it("no layers give the documented defaults", () => {
    const { config, errors } = buildConfig();
    assert.deepEqual(errors, []);
    assert.deepEqual(config, { ...DEFAULTS });
    assert.equal(config.prefix, "devices");
    assert.equal(config.interval, 10000);
    assert.equal(config.sensor, "dht11");
    assert.equal(config.dhtPin, 4);
    assert.equal(config.ledPin, 2);
    assert.equal(config.qos, 1);
    assert.equal(config.keepalive, 30);
    assert.equal(config.retain, true);
    assert.equal(config.discovery, "homeassistant");
    assert.equal(config.profile, "default");
  });

  it("later layers win; bad values are reported and the good ones still apply", () => {
    const { config, errors } = buildConfig(
      { interval: "2000", qos: 0, sensor: "dht22" },
      { interval: 3000, qos: 5, color: "red" },
    );
    assert.equal(config.interval, 3000);
    assert.equal(config.qos, 0);
    assert.equal(config.sensor, "dht22");
    assert.equal(errors.length, 2);
    assert.match(errors[0], /"qos"/);
    assert.match(errors[1], /unknown key "color"/);
  });

  it("does not change DEFAULTS", () => {
    buildConfig({ qos: 0, prefix: "x" });
    assert.equal(DEFAULTS.qos, 1);
    assert.equal(DEFAULTS.prefix, "devices");
  });

  it("losant forces retain false and QoS ≤ 1", () => {
    let { config } = buildConfig({ profile: "losant", qos: 2, retain: true });
    assert.equal(config.retain, false);
    assert.equal(config.qos, 1);
    ({ config } = buildConfig({ profile: "losant", qos: 0 }));
    assert.equal(config.qos, 0);
    assert.equal(config.retain, false);
    ({ config } = buildConfig({ qos: 2 }, { profile: "losant" }));
    assert.equal(config.qos, 1);
  });

  it("the default profile keeps QoS 2 and retain", () => {
    const { config } = buildConfig({ qos: 2 });
    assert.equal(config.qos, 2);
    assert.equal(config.retain, true);
  });
});

describe("config: parseBroker", () => {
  const cases: [string, { tls: boolean; host: string; port: number } | undefined][] = [
    ["mqtt://broker.local", { tls: false, host: "broker.local", port: 1883 }],
    ["mqtt://broker.local:1884", { tls: false, host: "broker.local", port: 1884 }],
    ["mqtts://broker.losant.com", { tls: true, host: "broker.losant.com", port: 8883 }],
    ["mqtts://broker.local:443", { tls: true, host: "broker.local", port: 443 }],
    ["tcp://10.0.0.2", { tls: false, host: "10.0.0.2", port: 1883 }],
    ["ssl://10.0.0.2", { tls: true, host: "10.0.0.2", port: 8883 }],
    ["broker.local", { tls: false, host: "broker.local", port: 1883 }],
    ["broker.local:2883", { tls: false, host: "broker.local", port: 2883 }],
    ["192.168.1.10", { tls: false, host: "192.168.1.10", port: 1883 }],
    ["mqtt://[::1]", { tls: false, host: "::1", port: 1883 }],
    ["mqtt://[::1]:1884", { tls: false, host: "::1", port: 1884 }],
    ["mqtts://[fe80::1]", { tls: true, host: "fe80::1", port: 8883 }],
    ["[2001:db8::2]:8883", { tls: false, host: "2001:db8::2", port: 8883 }],
    ["mqtt://broker.local/", { tls: false, host: "broker.local", port: 1883 }],
    ["  mqtt://broker.local  ", { tls: false, host: "broker.local", port: 1883 }],
    ["mqtt://host:1", { tls: false, host: "host", port: 1 }],
    ["mqtt://host:65535", { tls: false, host: "host", port: 65535 }],
    ["", undefined],
    ["mqtt://", undefined],
    ["http://broker.local", undefined],
    ["ws://broker.local", undefined],
    ["mqtt://host:0", undefined],
    ["mqtt://host:65536", undefined],
    ["mqtt://host:123456", undefined],
    ["mqtt://host:", undefined],
    ["mqtt://user:pw@host", undefined],
    ["mqtt://host/path", undefined],
    ["::1", undefined],
    ["mqtt://[::1", undefined],
    ["mqtt://[zz::1]", undefined],
    ["broker local", undefined],
  ];
  for (const [url, expected] of cases) {
    it(`${JSON.stringify(url)} → ${expected ? `${expected.tls ? "TLS " : ""}${expected.host} port ${expected.port}` : "refused"}`, () => {
      assert.deepEqual(parseBroker(url), expected);
    });
  }
});

describe("config: misspelt keys", () => {
  it("names the key that was probably meant", () => {
    assert.equal(likelyKey("intervall"), "interval");
    assert.equal(likelyKey("Broker"), "broker");
    assert.equal(likelyKey("ledpin"), "ledPin");
    assert.equal(likelyKey("keepAlive"), "keepalive");
    assert.equal(likelyKey("prefx"), "prefix");
    assert.equal(likelyKey("ID"), "id");
  });

  it("leaves the SDK's own mc/config keys alone", () => {
    for (const key of [
      "file",
      "tls",
      "sntp",
      "format",
      "rotation",
      "led",
      "led1",
      "touch",
      "screen",
      "i2c",
      "io",
      "parity",
      "button",
    ]) {
      assert.equal(likelyKey(key), undefined, key);
    }
  });

  it("an unknown key's error suggests the likely one", () => {
    const { errors } = buildConfig({ intervall: 2000 });
    assert.equal(errors.length, 1);
    assert.match(errors[0], /^unknown key "intervall" \(did you mean "interval"\? known keys: ssid, /);
  });
});
