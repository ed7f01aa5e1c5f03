/**
 * The topic rules (src/mqtt/topic.ts), shared by the client (names it
 * publishes, filters it subscribes to), the parser (names it receives) and
 * the configuration (id, prefix and discovery prefix). Runs under node:test
 * and in XS.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkTopicFilter, checkTopicLevel, checkTopicName, checkTopicNameBytes } from "../../src/mqtt/topic";
import { utf8 } from "../../src/utf8";

const STATE_TOPIC = "devices/esp32-01/state";

const bytes = (...b: number[]) => new Uint8Array(b);

describe("checkTopicName [MQTT-1.5.3-1, -2], [MQTT-4.7.3-1], [MQTT-3.3.2-2]", () => {
  it("accepts valid names", () => {
    for (const t of [STATE_TOPIC, "/", "a//b", " ", "$SYS/x", "\u00fc/\u{1f600}", "\u20ac".repeat(21845)])
      assert.equal(checkTopicName(t), null, t);
  });
  it("names each fault", () => {
    assert.equal(checkTopicName(""), "empty topic");
    assert.equal(checkTopicName("a/+/c"), "wildcard in topic");
    assert.equal(checkTopicName("a/#"), "wildcard in topic");
    assert.equal(checkTopicName("a\u0000b"), "U+0000 in topic");
    assert.equal(checkTopicName("a\ud800"), "lone surrogate in topic");
    assert.equal(checkTopicName("\udc00a"), "lone surrogate in topic");
    assert.equal(checkTopicName("x".repeat(65536)), "topic longer than 65535 bytes");
  });
});

describe("checkTopicFilter [MQTT-4.7.1-1..3]", () => {
  it("accepts valid filters", () => {
    for (const f of ["#", "+", "+/+", "/+", "a/#", "a/+/c", "+/tennis/#", "sport/+/player1", "a//b", "/", "$SYS/#"]) {
      assert.equal(checkTopicFilter(f), null, f);
    }
  });
  it("rejects misplaced wildcards and bad strings", () => {
    assert.equal(checkTopicFilter("sport/tennis#"), "'#' must be last and occupy a whole level");
    assert.equal(checkTopicFilter("sport/tennis/#/ranking"), "'#' must be last and occupy a whole level");
    assert.equal(checkTopicFilter("##"), "'#' must be last and occupy a whole level");
    assert.equal(checkTopicFilter("sport+"), "'+' must occupy a whole level");
    assert.equal(checkTopicFilter("a/+b"), "'+' must occupy a whole level");
    assert.equal(checkTopicFilter("++"), "'+' must occupy a whole level");
    assert.equal(checkTopicFilter(""), "empty topic filter");
    assert.equal(checkTopicFilter("a/\u0000"), "U+0000 in topic filter");
    assert.equal(checkTopicFilter("\ud800/#"), "lone surrogate in topic filter");
  });
});

describe("checkTopicNameBytes: the same rules on received bytes", () => {
  it("accepts what checkTopicName accepts", () => {
    for (const t of [STATE_TOPIC, "/", "a//b", " ", "$SYS/x", "\u00fc/\u{1f600}", "\u20ac".repeat(21845)]) {
      const b = utf8(t);
      assert.equal(checkTopicNameBytes(b, 0, b.length), null, t);
    }
  });
  it("gives the string check's fault for the same topic", () => {
    for (const t of ["", "a/+/c", "a/#", "#", "a\u0000b"]) {
      const b = utf8(t);
      assert.equal(checkTopicNameBytes(b, 0, b.length), checkTopicName(t), JSON.stringify(t));
    }
  });
  it("checks only [start, end)", () => {
    const b = utf8("#a/b+");
    assert.equal(checkTopicNameBytes(b, 1, 4), null);
    assert.equal(checkTopicNameBytes(b, 0, 4), "wildcard in topic");
    assert.equal(checkTopicNameBytes(b, 1, 5), "wildcard in topic");
  });
  it("refuses ill-formed UTF-8 [MQTT-1.5.3-1]", () => {
    const bad = [
      bytes(0xed, 0xa0, 0x80), // U+D800, a surrogate
      bytes(0xed, 0xbf, 0xbf), // U+DFFF
      bytes(0xc0, 0xaf), // overlong '/'
      bytes(0xe0, 0x80, 0xaf), // overlong '/'
      bytes(0xf0, 0x80, 0x80, 0xaf), // overlong '/'
      bytes(0xf4, 0x90, 0x80, 0x80), // past U+10FFFF
      bytes(0xf5, 0x80, 0x80, 0x80),
      bytes(0x61, 0x80), // continuation without a lead
      bytes(0x61, 0xe2, 0x82), // truncated
      bytes(0xe2, 0x28, 0xac), // bad continuation
      bytes(0xff),
    ];
    for (const b of bad)
      assert.equal(checkTopicNameBytes(b, 0, b.length), "invalid UTF-8 in topic", Array.from(b).join(","));
  });
  it("a sequence cut by the end of the range is ill-formed", () => {
    const b = bytes(0x61, 0xe2, 0x82, 0xac);
    assert.equal(checkTopicNameBytes(b, 0, 4), null);
    assert.equal(checkTopicNameBytes(b, 0, 3), "invalid UTF-8 in topic");
  });
});

describe("checkTopicLevel: id, prefix and discovery prefix", () => {
  it("accepts a level every topic of the device can be made of", () => {
    for (const l of [
      "esp32-a1b2c3",
      "devices",
      "homeassistant",
      "sim 1",
      "$x",
      "x".repeat(64),
      "\u00e9".repeat(32),
      "\u{1f600}".repeat(16),
    ]) {
      assert.equal(checkTopicLevel(l), null, l);
    }
  });
  it("refuses what would make a bad topic, or one with other levels", () => {
    assert.equal(checkTopicLevel(""), "empty topic");
    assert.equal(checkTopicLevel("a+b"), "wildcard in topic");
    assert.equal(checkTopicLevel("+"), "wildcard in topic");
    assert.equal(checkTopicLevel("#"), "wildcard in topic");
    assert.equal(checkTopicLevel("a\u0000"), "U+0000 in topic");
    assert.equal(checkTopicLevel("id\ud800"), "lone surrogate in topic");
    assert.equal(checkTopicLevel("\udfff"), "lone surrogate in topic");
    assert.equal(checkTopicLevel("/"), "'/' in a topic level");
    assert.equal(checkTopicLevel("a/b"), "'/' in a topic level");
    assert.equal(checkTopicLevel("x".repeat(65)), "longer than 64 bytes");
    assert.equal(checkTopicLevel("\u00e9".repeat(33)), "longer than 64 bytes");
  });
  it("whatever it accepts makes valid topic names and filters", () => {
    for (const l of ["a", "\u00e9", "\u{1f600}", "$SYS", "x".repeat(64)]) {
      assert.equal(checkTopicLevel(l), null);
      assert.equal(checkTopicName(`${l}/${l}/state`), null);
      assert.equal(checkTopicFilter(`${l}/${l}/led/set`), null);
    }
  });
});
