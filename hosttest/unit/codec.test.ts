/**
 * Encoder tests: byte-exact vectors from the MQTT 3.1.1
 * specification and from captures of mosquitto 2.0.11 (hosttest/tools/capture.ts).
 * Runs under node:test and in XS through a shim of node:test and node:assert/strict.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  connectLength,
  publishHeaderLength,
  publishLength,
  subscribeLength,
  unsubscribeLength,
  utf8,
  utf8Length,
  varLengthSize,
  writeAck,
  writeConnect,
  writeDisconnect,
  writePingreq,
  writePublish,
  writePublishHeader,
  writeSubscribe,
  writeUnsubscribe,
  writeVarLength,
} from "../../src/mqtt/codec";
import { type ConnectOptions, PUBACK, PUBCOMP, PUBREC, PUBREL, type QoS, UNSUBACK } from "../../src/mqtt/packet";
import { asc, fromHex, hex } from "./hex";
import { encoded, publishBytes } from "./packets";

// ---------------------------------------------------------------- helpers

const clean = (h: string) => h.replace(/\s+/g, "");

function encode(length: number, write: (out: Uint8Array, at: number) => number): string {
  return hex(encoded(length, write));
}

function connect(o: ConnectOptions): string {
  return encode(connectLength(o), (out, at) => writeConnect(out, at, o));
}

const publish = (...args: Parameters<typeof publishBytes>): string => hex(publishBytes(...args));

function subscribe(packetId: number, filters: string[], qos: QoS[]): string {
  const topics = filters.map(utf8);
  return encode(subscribeLength(topics), (out, at) => writeSubscribe(out, at, packetId, topics, qos));
}

function unsubscribe(packetId: number, filters: string[]): string {
  const topics = filters.map(utf8);
  return encode(unsubscribeLength(topics), (out, at) => writeUnsubscribe(out, at, packetId, topics));
}

const STATE_TOPIC = "devices/esp32-01/state";
const STATE = utf8('{"data":{"temp":23.5,"hum":41}}');

// Captured from mosquitto_pub/mosquitto_sub 2.0.11 (-V mqttv311) against mosquitto 2.0.11.
/** mosquitto_pub -i pub-q0 -q 0 -t devices/esp32-01/state -m '{"data":{"temp":23.5,"hum":41}}' */
const CAP_CONNECT_PUB_Q0 = "101200044d5154540402003c00067075622d7130";
const CAP_PUBLISH_Q0 =
  "30370016646576696365732f65737033322d30312f73746174657b2264617461223a7b2274656d70223a32332e352c2268756d223a34317d7d";
/** mosquitto_pub -i pub-q1 -q 1 (same topic and message), first message id 1 */
const CAP_PUBLISH_Q1 =
  "32390016646576696365732f65737033322d30312f737461746500017b2264617461223a7b2274656d70223a32332e352c2268756d223a34317d7d";
/** mosquitto_pub -i pub-r1 -q 1 -r */
const CAP_PUBLISH_Q1_RETAIN =
  "33390016646576696365732f65737033322d30312f737461746500017b2264617461223a7b2274656d70223a32332e352c2268756d223a34317d7d";
/** mosquitto_pub -i pub-q2 -q 2: PUBLISH, then PUBREL after the broker's PUBREC */
const CAP_PUBLISH_Q2 =
  "34390016646576696365732f65737033322d30312f737461746500017b2264617461223a7b2274656d70223a32332e352c2268756d223a34317d7d";
const CAP_PUBREL = "62020001";
/** mosquitto_pub -i pub-will -k 30 -u user -P pass --will-topic devices/esp32-01/status --will-payload offline --will-qos 1 --will-retain -q 0 */
const CAP_CONNECT_WILL =
  "104200044d51545404ee001e00087075622d77696c6c0017646576696365732f65737033322d30312f73746174757300076f66666c696e65000475736572000470617373";
/** mosquitto_sub -i sub-1 -q 2 -t devices/+/state -t 'secret/#': CONNECT, SUBSCRIBE, then acks for the 4 messages it got, DISCONNECT */
const CAP_CONNECT_SUB = "101100044d5154540402003c00057375622d31";
const CAP_SUBSCRIBE = "821f0001000f646576696365732f2b2f73746174650200087365637265742f2302";
const CAP_SUB_ACKS = ["40020001", "40020002", "50020003", "70020003"];
const CAP_DISCONNECT = "e000";

// ---------------------------------------------------------------- tests

describe("Remaining Length (2.2.3)", () => {
  // Table 2.4 boundaries.
  const table: [number, string][] = [
    [0, "00"],
    [127, "7f"],
    [128, "8001"],
    [16383, "ff7f"],
    [16384, "808001"],
    [2097151, "ffff7f"],
    [2097152, "80808001"],
    [268435455, "ffffff7f"],
  ];
  for (const [n, h] of table) {
    it(`${n} → ${h}`, () => {
      assert.equal(varLengthSize(n), h.length / 2);
      assert.equal(
        encode(h.length / 2, (out, at) => writeVarLength(out, at, n)),
        h,
      );
    });
  }
  it("throws RangeError beyond 268435455 or below 0", () => {
    assert.throws(() => varLengthSize(268435456), RangeError);
    assert.throws(() => varLengthSize(-1), RangeError);
    assert.throws(() => writeVarLength(new Uint8Array(8), 0, 268435456), RangeError);
  });
});

describe("utf8", () => {
  it("spec example 1.5.3: A U+2A6D4", () => {
    assert.equal(hex(utf8("A\u{2A6D4}")), "41f0aa9b94");
  });
  it("1, 2, 3 and 4 byte sequences", () => {
    assert.equal(hex(utf8("")), "");
    assert.equal(hex(utf8("a/b")), "612f62");
    assert.equal(hex(utf8("\u00fc")), "c3bc");
    assert.equal(hex(utf8("\u20ac")), "e282ac");
    assert.equal(hex(utf8("\uffff")), "efbfbf");
    assert.equal(hex(utf8("\u{10ffff}")), "f48fbfbf");
  });
  it("lone surrogates become U+FFFD, as with TextEncoder", () => {
    assert.equal(hex(utf8("\ud800x")), "efbfbd78");
    assert.equal(hex(utf8("x\udc00")), "78efbfbd");
    assert.equal(hex(utf8("\udc00\ud800")), "efbfbdefbfbd");
  });
  it("utf8Length agrees with utf8", () => {
    for (const s of ["", "abc", "\u00fc\u20ac\u{1f600}", "\ud800", "\ud83d\ude00\ud83d"])
      assert.equal(utf8Length(s), utf8(s).length, s);
  });
});

describe("CONNECT (3.1)", () => {
  it("spec 3.1.2.10 example: will QoS 1, user name, password, clean session, keep alive 10 (flags 0xCE)", () => {
    const o: ConnectOptions = {
      clientId: "c",
      keepalive: 10,
      cleanSession: true,
      username: "u",
      password: "p",
      will: { topic: "w", payload: utf8("x"), qos: 1, retain: false },
    };
    assert.equal(connect(o), clean("10 19  0004 4d515454 04 ce 000a  0001 63  0001 77  0001 78  0001 75  0001 70"));
  });
  it("minimal: clean session, no will, no credentials", () => {
    assert.equal(connect({ clientId: "pub-q0", keepalive: 60, cleanSession: true }), CAP_CONNECT_PUB_Q0);
    assert.equal(connect({ clientId: "sub-1", keepalive: 60, cleanSession: true }), CAP_CONNECT_SUB);
  });
  it("persistent session, empty client id, user name only", () => {
    assert.equal(
      connect({ clientId: "", keepalive: 0, cleanSession: false, username: "u" }),
      clean("10 0f 0004 4d515454 04 80 0000 0000 0001 75"),
    );
  });
  it("will QoS 2 retained, empty will payload, no credentials", () => {
    assert.equal(
      connect({
        clientId: "a",
        keepalive: 65535,
        cleanSession: true,
        will: { topic: "t", payload: new Uint8Array(0), qos: 2, retain: true },
      }),
      clean("10 12 0004 4d515454 04 36 ffff 0001 61 0001 74 0000"),
    );
  });
  it("mosquitto_pub with will, -u/-P and -k 30 (capture)", () => {
    const o: ConnectOptions = {
      clientId: "pub-will",
      keepalive: 30,
      cleanSession: true,
      username: "user",
      password: "pass",
      will: { topic: "devices/esp32-01/status", payload: utf8("offline"), qos: 1, retain: true },
    };
    assert.equal(connect(o), CAP_CONNECT_WILL);
  });
  it("2-byte remaining length", () => {
    const clientId = "\u20ac".repeat(100);
    const h = connect({ clientId, keepalive: 60, cleanSession: true });
    assert.equal(h.slice(0, 6), "10b802"); // 10 + 2 + 300 = 312
    assert.equal(h.slice(26), `012c${"e282ac".repeat(100)}`);
  });
  it("a string over 65535 bytes is a RangeError", () => {
    // (Strings of 21846 to 65535 UTF-16 units, which need measuring, are in codec-diff.test.ts: slow on XS.)
    const long = "x".repeat(65536);
    assert.throws(() => connectLength({ clientId: long, keepalive: 0, cleanSession: true }), RangeError);
    assert.throws(
      () => writeConnect(new Uint8Array(70000), 0, { clientId: long, keepalive: 0, cleanSession: true }),
      RangeError,
    );
    assert.throws(
      () => connectLength({ clientId: "a", keepalive: 0, cleanSession: true, username: "u", password: long }),
      RangeError,
    );
  });
});

describe("PUBLISH (3.3)", () => {
  it("spec 3.3.2.3 example: topic a/b, packet id 10", () => {
    assert.equal(publish("a/b", new Uint8Array(0), 1, false, false, 10), clean("3207 0003612f62 000a"));
  });
  it("QoS 0 carries no packet id", () => {
    assert.equal(publish("a/b", fromHex("0102"), 0, false, false, 99), clean("3007 0003612f62 0102"));
  });
  it("QoS 2, retain and dup flags", () => {
    assert.equal(publish("a/b", fromHex("ff"), 2, false, false, 0x1234), clean("3408 0003612f62 1234 ff"));
    assert.equal(publish("a/b", fromHex("ff"), 1, true, true, 1), clean("3b08 0003612f62 0001 ff"));
    assert.equal(publish("a/b", fromHex("ff"), 2, false, true, 1), clean("3c08 0003612f62 0001 ff"));
    assert.equal(publish("a/b", fromHex(""), 0, true, false, 0), clean("3105 0003612f62"));
  });
  it("the state message: 57 bytes at QoS 0, 59 at QoS 1", () => {
    assert.equal(publishHeaderLength(utf8(STATE_TOPIC).length, STATE.length, 0) + STATE.length, 57);
    assert.equal(publishHeaderLength(utf8(STATE_TOPIC).length, STATE.length, 1) + STATE.length, 59);
  });
  it("mosquitto_pub -q 0 / -q 1 / -q 1 -r / -q 2 (capture)", () => {
    assert.equal(publish(STATE_TOPIC, STATE, 0, false, false, 0), CAP_PUBLISH_Q0);
    assert.equal(publish(STATE_TOPIC, STATE, 1, false, false, 1), CAP_PUBLISH_Q1);
    assert.equal(publish(STATE_TOPIC, STATE, 1, true, false, 1), CAP_PUBLISH_Q1_RETAIN);
    assert.equal(publish(STATE_TOPIC, STATE, 2, false, false, 1), CAP_PUBLISH_Q2);
  });
  it("payloads that need 2 and 3 length bytes", () => {
    const p = new Uint8Array(200).fill(7);
    const h = publish("t", p, 0, false, false, 0);
    assert.equal(h.slice(0, 12), "30cb01000174"); // 3 + 200 = 203 = 0xcb 0x01
    assert.equal(publishHeaderLength(1, 16381 - 3, 0), 1 + 2 + 3);
    assert.equal(publishHeaderLength(1, 16381, 0), 1 + 3 + 3);
  });
  it("writePublish: the whole packet in one buffer, the topic as bytes or as a string encoded in place, the same bytes", () => {
    for (const topic of [STATE_TOPIC, "a/b", "ü/€/𝄞"]) {
      for (const qos of [0, 1, 2] as QoS[]) {
        const size = publishLength(topic, STATE.length, qos);
        assert.equal(publishLength(utf8(topic), STATE.length, qos), size);
        const fromString = new Uint8Array(size + 2);
        const fromBytes = new Uint8Array(size + 2);
        assert.equal(writePublish(fromString, 1, topic, STATE, qos, qos === 1, false, 7), size + 1);
        assert.equal(writePublish(fromBytes, 1, utf8(topic), STATE, qos, qos === 1, false, 7), size + 1);
        assert.equal(hex(fromString.subarray(1, size + 1)), hex(fromBytes.subarray(1, size + 1)));
        assert.equal(hex(fromString.subarray(1, size + 1)), publish(topic, STATE, qos, qos === 1, false, 7));
      }
    }
    const out = new Uint8Array(64);
    assert.equal(hex(out.subarray(0, writePublish(out, 0, STATE_TOPIC, STATE, 0, false, false, 0))), CAP_PUBLISH_Q0);
  });
  it("lengths MQTT cannot encode are RangeErrors", () => {
    assert.throws(() => publishHeaderLength(65536, 0, 0), RangeError);
    assert.throws(() => publishHeaderLength(1, 268435455, 0), RangeError);
    assert.throws(
      () => writePublishHeader(new Uint8Array(16), 0, new Uint8Array(65536), 0, 0, false, false, 0),
      RangeError,
    );
  });
});

describe("acks, PINGREQ, DISCONNECT", () => {
  it("PUBACK, PUBREC, PUBREL (flags 0010), PUBCOMP, UNSUBACK-shaped", () => {
    assert.equal(
      encode(4, (out, at) => writeAck(out, at, PUBACK, 10)),
      "4002000a",
    );
    assert.equal(
      encode(4, (out, at) => writeAck(out, at, PUBREC, 0xbeef)),
      "5002beef",
    );
    assert.equal(
      encode(4, (out, at) => writeAck(out, at, PUBREL, 10)),
      "6202000a",
    );
    assert.equal(
      encode(4, (out, at) => writeAck(out, at, PUBCOMP, 65535)),
      "7002ffff",
    );
    assert.equal(
      encode(4, (out, at) => writeAck(out, at, UNSUBACK, 1)),
      "b0020001",
    );
  });
  it("as mosquitto_pub and mosquitto_sub send them (capture)", () => {
    assert.equal(
      encode(4, (out, at) => writeAck(out, at, PUBREL, 1)),
      CAP_PUBREL,
    );
    assert.equal(
      encode(4, (out, at) => writeAck(out, at, PUBACK, 1)),
      CAP_SUB_ACKS[0],
    );
    assert.equal(
      encode(4, (out, at) => writeAck(out, at, PUBACK, 2)),
      CAP_SUB_ACKS[1],
    );
    assert.equal(
      encode(4, (out, at) => writeAck(out, at, PUBREC, 3)),
      CAP_SUB_ACKS[2],
    );
    assert.equal(
      encode(4, (out, at) => writeAck(out, at, PUBCOMP, 3)),
      CAP_SUB_ACKS[3],
    );
  });
  it("PINGREQ c000, DISCONNECT e000", () => {
    assert.equal(encode(2, writePingreq), "c000");
    assert.equal(encode(2, writeDisconnect), CAP_DISCONNECT);
  });
});

describe("SUBSCRIBE (3.8), UNSUBSCRIBE (3.10)", () => {
  it("spec 3.8.3 example: a/b QoS 1, c/d QoS 2, packet id 10", () => {
    assert.equal(subscribe(10, ["a/b", "c/d"], [1, 2]), clean("82 0e 000a 0003 612f62 01 0003 632f64 02"));
  });
  it("one filter, QoS 0", () => {
    assert.equal(subscribe(1, ["#"], [0]), clean("82 06 0001 0001 23 00"));
  });
  it("mosquitto_sub -q 2 -t devices/+/state -t 'secret/#' (capture)", () => {
    assert.equal(subscribe(1, ["devices/+/state", "secret/#"], [2, 2]), CAP_SUBSCRIBE);
  });
  it("spec 3.10.3 example: unsubscribe a/b, c/d, packet id 10", () => {
    assert.equal(unsubscribe(10, ["a/b", "c/d"]), clean("a2 0c 000a 0003 612f62 0003 632f64"));
  });
  it("a long filter list needs 2 length bytes", () => {
    const filters: string[] = [];
    for (let i = 0; i < 30; i++) filters.push(`sensors/${i}`);
    const h = subscribe(
      7,
      filters,
      filters.map(() => 1 as QoS),
    );
    assert.equal(h.slice(0, 2), "82");
    assert.equal(h.length / 2, subscribeLength(filters.map(utf8)));
    assert.equal(asc("sensors/0"), h.slice(14, 32));
  });
});
