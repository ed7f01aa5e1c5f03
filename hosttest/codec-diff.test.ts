/**
 * Differential tests against mqtt-packet (Node only, not run in XS): for
 * randomised fields from a seeded PRNG, our encoders must write exactly the
 * bytes of mqtt-packet's generate(), and mqtt-packet's bytes for every packet
 * a server sends must decode through our parser to the same fields.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import mqttPacket from "mqtt-packet";
import {
  checkTopicFilter,
  checkTopicName,
  connectLength,
  subscribeLength,
  unsubscribeLength,
  utf8,
  writeAck,
  writeConnect,
  writeDisconnect,
  writePingreq,
  writeSubscribe,
  writeUnsubscribe,
} from "../src/mqtt/codec";
import { type ConnectOptions, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, type QoS, UNSUBACK } from "../src/mqtt/packet";
import { Parser } from "../src/mqtt/parser";
import { hex } from "./unit/hex";
import { type Decoded, decoded, encoded, publishBytes, snapshot } from "./unit/packets";
import { prng } from "./unit/prng";

const CASES = 300;
const V4 = { protocolVersion: 4 };

// ---------------------------------------------------------------- random fields

function gen(seed: number) {
  const rnd = prng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)];
  const bool = () => rnd() < 0.5;
  const qos = () => int(0, 2) as QoS;
  const id = () => int(1, 65535);
  /** 1-, 2-, 3- and 4-byte UTF-8 characters, no '/', '+', '#' or U+0000. */
  const char = () =>
    pick([
      () => pick("abcxyz019-_.$ ~".split("")),
      () => String.fromCodePoint(int(0x80, 0x7ff)),
      () => String.fromCodePoint(int(0x800, 0xd7ff)),
      () => String.fromCodePoint(int(0xe000, 0xffff)),
      () => String.fromCodePoint(int(0x10000, 0x10ffff)),
    ])();
  const text = (min: number, max: number) => {
    let s = "";
    for (let n = int(min, max); n > 0; n--) s += char();
    return s;
  };
  const topic = () => {
    const levels: string[] = [];
    for (let n = int(1, 5); n > 0; n--) levels.push(text(0, 6));
    const t = levels.join("/");
    return t === "" ? "t" : t;
  };
  const filter = () => {
    const levels: string[] = [];
    for (let n = int(1, 5); n > 0; n--) levels.push(rnd() < 0.2 ? "+" : text(0, 6));
    if (rnd() < 0.2) levels.push("#");
    const f = levels.join("/");
    return f === "" ? "f" : f;
  };
  const bytes = (max: number) => {
    const b = new Uint8Array(int(0, max));
    for (let i = 0; i < b.length; i++) b[i] = int(0, 255);
    return b;
  };
  return { rnd, int, pick, bool, qos, id, text, topic, filter, bytes };
}

// ---------------------------------------------------------------- our side

/** Our encoder's bytes (checked in a guarded buffer, ./unit/packets), as a Buffer to compare with mqtt-packet's. */
function encode(length: number, write: (out: Uint8Array, at: number) => number): Buffer {
  return Buffer.from(encoded(length, write));
}

const publish = (...args: Parameters<typeof publishBytes>): Buffer => Buffer.from(publishBytes(...args));

/** What our parser must report for a packet mqtt-packet made from these fields (topic as text, payload as bytes). */
function expect(
  f: Partial<Omit<Decoded, "topic" | "payload" | "flags">> & { type: number; topic?: string; payload?: Uint8Array },
): Decoded {
  const { topic = "", payload = new Uint8Array(0), ...rest } = f;
  const flags =
    f.type === PUBLISH ? (f.dup ? 8 : 0) | ((f.qos ?? 0) << 1) | (f.retain ? 1 : 0) : f.type === PUBREL ? 2 : 0;
  return decoded({ ...rest, flags, topic: Buffer.from(topic, "utf8").toString("hex"), payload: hex(payload) });
}

/** Decodes `stream` with our parser, in chunks of random sizes. */
function decode(stream: Buffer, rnd: () => number, max = 1 << 20): Decoded[] {
  const out: Decoded[] = [];
  const parser = new Parser(
    {
      onPacket: (p) => out.push(snapshot(p)),
      onError: (fault) => assert.fail(fault),
    },
    max,
  );
  for (let i = 0; i < stream.length; ) {
    const end = Math.min(stream.length, i + 1 + Math.floor(rnd() * 64));
    parser.push(stream, i, end);
    i = end;
  }
  return out;
}

// ---------------------------------------------------------------- encoders

/** The 4-byte acknowledgements, with mqtt-packet's names. */
const ACKS = [
  [PUBACK, "puback"],
  [PUBREC, "pubrec"],
  [PUBREL, "pubrel"],
  [PUBCOMP, "pubcomp"],
  [UNSUBACK, "unsuback"],
] as const;

describe("encoders = mqtt-packet generate()", () => {
  it("CONNECT", () => {
    const g = gen(1);
    for (let n = 0; n < CASES; n++) {
      const o: ConnectOptions = {
        clientId: g.rnd() < 0.1 ? "" : g.text(1, 23),
        keepalive: g.int(0, 65535),
        cleanSession: true,
      };
      o.cleanSession = o.clientId === "" || g.bool();
      if (g.bool()) o.will = { topic: g.topic(), payload: g.bytes(64), qos: g.qos(), retain: g.bool() };
      if (g.bool()) {
        o.username = g.text(0, 12);
        if (g.bool()) o.password = g.text(0, 12);
      }
      const theirs = mqttPacket.generate(
        {
          cmd: "connect",
          protocolId: "MQTT",
          protocolVersion: 4,
          clientId: o.clientId,
          keepalive: o.keepalive,
          clean: o.cleanSession,
          will: o.will && {
            topic: o.will.topic,
            payload: Buffer.from(o.will.payload),
            qos: o.will.qos,
            retain: o.will.retain,
          },
          username: o.username,
          password: o.password === undefined ? undefined : Buffer.from(o.password, "utf8"),
        },
        V4,
      );
      assert.deepEqual(
        encode(connectLength(o), (out, at) => writeConnect(out, at, o)),
        theirs,
        JSON.stringify(o),
      );
    }
  });

  it("PUBLISH QoS 0, 1, 2, retain, dup; 1- to 3-byte remaining lengths", () => {
    const g = gen(2);
    for (let n = 0; n < CASES; n++) {
      const topic = g.topic();
      const payload = n % 50 === 0 ? g.bytes(20000) : g.bytes(300);
      const qos = g.qos();
      const retain = g.bool();
      const dup = qos > 0 && g.bool();
      const messageId = qos > 0 ? g.id() : 0;
      const theirs = mqttPacket.generate(
        { cmd: "publish", topic, payload: Buffer.from(payload), qos, retain, dup, messageId },
        V4,
      );
      assert.deepEqual(publish(topic, payload, qos, retain, dup, messageId), theirs, topic);
    }
  });

  it("PUBLISH with a 4-byte remaining length", () => {
    const payload = new Uint8Array(2097152).fill(0x5a);
    const theirs = mqttPacket.generate(
      { cmd: "publish", topic: "big", payload: Buffer.from(payload), qos: 1, retain: false, dup: false, messageId: 7 },
      V4,
    );
    assert.deepEqual(publish("big", payload, 1, false, false, 7), theirs);
  });

  it("the state PUBLISH: 57 bytes at QoS 0, 59 at QoS 1", () => {
    const topic = "devices/esp32-01/state";
    const payload = utf8('{"data":{"temp":23.5,"hum":41}}');
    for (const qos of [0, 1] as const) {
      const ours = publish(topic, payload, qos, false, false, qos ? 1 : 0);
      const theirs = mqttPacket.generate(
        { cmd: "publish", topic, payload: Buffer.from(payload), qos, retain: false, dup: false, messageId: 1 },
        V4,
      );
      assert.deepEqual(ours, theirs);
      assert.equal(ours.length, qos === 0 ? 57 : 59);
    }
  });

  it("PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK-shaped", () => {
    const g = gen(3);
    for (let n = 0; n < CASES; n++) {
      const [type, cmd] = g.pick(ACKS);
      const messageId = g.id();
      const theirs = mqttPacket.generate({ cmd, messageId } as mqttPacket.Packet, V4);
      assert.deepEqual(
        encode(4, (out, at) => writeAck(out, at, type, messageId)),
        theirs,
        cmd,
      );
    }
  });

  it("SUBSCRIBE", () => {
    const g = gen(4);
    for (let n = 0; n < CASES; n++) {
      const filters: string[] = [];
      const qos: QoS[] = [];
      for (let k = g.int(1, n % 20 === 0 ? 40 : 5); k > 0; k--) {
        filters.push(g.filter());
        qos.push(g.qos());
      }
      const messageId = g.id();
      const topics = filters.map(utf8);
      const theirs = mqttPacket.generate(
        { cmd: "subscribe", messageId, subscriptions: filters.map((topic, i) => ({ topic, qos: qos[i] })) },
        V4,
      );
      assert.deepEqual(
        encode(subscribeLength(topics), (out, at) => writeSubscribe(out, at, messageId, topics, qos)),
        theirs,
        filters.join(" "),
      );
    }
  });

  it("UNSUBSCRIBE", () => {
    const g = gen(5);
    for (let n = 0; n < CASES; n++) {
      const filters: string[] = [];
      for (let k = g.int(1, n % 20 === 0 ? 40 : 5); k > 0; k--) filters.push(g.filter());
      const messageId = g.id();
      const topics = filters.map(utf8);
      const theirs = mqttPacket.generate({ cmd: "unsubscribe", messageId, unsubscriptions: filters }, V4);
      assert.deepEqual(
        encode(unsubscribeLength(topics), (out, at) => writeUnsubscribe(out, at, messageId, topics)),
        theirs,
        filters.join(" "),
      );
    }
  });

  it("PINGREQ, DISCONNECT", () => {
    assert.deepEqual(encode(2, writePingreq), mqttPacket.generate({ cmd: "pingreq" }, V4));
    assert.deepEqual(encode(2, writeDisconnect), mqttPacket.generate({ cmd: "disconnect" }, V4));
  });

  it("strings near 65535 bytes", () => {
    const max = "\u20ac".repeat(21845); // 65535 bytes
    assert.equal(connectLength({ clientId: max, keepalive: 0, cleanSession: true }), 1 + 3 + 10 + 2 + 65535);
    assert.equal(checkTopicName(max), null);
    assert.equal(checkTopicName("x".repeat(65535)), null);
    assert.equal(checkTopicFilter(`${"x".repeat(65534)}\u00fc`), "topic filter longer than 65535 bytes");
    for (const long of ["\u20ac".repeat(21846), `${"x".repeat(65534)}\u00fc`, "\u{1f600}".repeat(16384)]) {
      assert.throws(() => connectLength({ clientId: long, keepalive: 0, cleanSession: true }), RangeError);
      assert.throws(
        () =>
          connectLength({
            clientId: "a",
            keepalive: 0,
            cleanSession: true,
            will: { topic: long, payload: new Uint8Array(0), qos: 0, retain: false },
          }),
        RangeError,
      );
      assert.equal(checkTopicName(long), "topic longer than 65535 bytes");
    }
  });

  it("utf8() = TextEncoder, lone surrogates included", () => {
    const g = gen(6);
    const encoder = new TextEncoder();
    const odd = ["\ud800", "\udfff", "a\ud83d", "\ude00b", "\ud83d\ude00"];
    for (let n = 0; n < CASES; n++) {
      const s = g.text(0, 10) + (g.rnd() < 0.3 ? g.pick(odd) : "") + g.text(0, 3);
      assert.deepEqual(utf8(s), encoder.encode(s), JSON.stringify(s));
    }
  });
});

// ---------------------------------------------------------------- parser

describe("mqtt-packet generate() → our parser", () => {
  it("CONNACK", () => {
    const g = gen(11);
    for (let n = 0; n < CASES; n++) {
      const returnCode = g.int(0, 5);
      const sessionPresent = returnCode === 0 && g.bool();
      const bytes = mqttPacket.generate({ cmd: "connack", returnCode, sessionPresent }, V4);
      assert.deepEqual(decode(bytes, g.rnd), [expect({ type: 2, returnCode, sessionPresent })]);
    }
  });

  it("PUBLISH", () => {
    const g = gen(12);
    for (let n = 0; n < CASES; n++) {
      const topic = g.topic();
      const payload = Buffer.from(n % 50 === 0 ? g.bytes(20000) : g.bytes(300));
      const qos = g.qos();
      const retain = g.bool();
      const dup = qos > 0 && g.bool();
      const messageId = qos > 0 ? g.id() : 0;
      const bytes = mqttPacket.generate({ cmd: "publish", topic, payload, qos, retain, dup, messageId }, V4);
      assert.deepEqual(
        decode(bytes, g.rnd),
        [expect({ type: 3, topic, payload, qos, retain, dup, packetId: messageId })],
        topic,
      );
    }
  });

  it("PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK", () => {
    const g = gen(13);
    for (let n = 0; n < CASES; n++) {
      const [type, cmd] = g.pick(ACKS);
      const messageId = g.id();
      const bytes = mqttPacket.generate({ cmd, messageId } as mqttPacket.Packet, V4);
      assert.deepEqual(decode(bytes, g.rnd), [expect({ type, packetId: messageId })], cmd);
    }
  });

  it("SUBACK, including 0x80", () => {
    const g = gen(14);
    for (let n = 0; n < CASES; n++) {
      const granted: number[] = [];
      for (let k = g.int(1, n % 20 === 0 ? 200 : 5); k > 0; k--) granted.push(g.pick([0, 1, 2, 0x80]));
      const messageId = g.id();
      const bytes = mqttPacket.generate({ cmd: "suback", messageId, granted }, V4);
      assert.deepEqual(decode(bytes, g.rnd), [expect({ type: 9, packetId: messageId, payload: Buffer.from(granted) })]);
    }
  });

  it("PINGRESP", () => {
    assert.deepEqual(decode(mqttPacket.generate({ cmd: "pingresp" }, V4), Math.random), [expect({ type: 13 })]);
  });

  it("a coalesced stream of all of the above", () => {
    const g = gen(15);
    const parts: Buffer[] = [];
    const want: Decoded[] = [];
    for (let n = 0; n < CASES; n++) {
      const messageId = g.id();
      switch (g.int(0, 3)) {
        case 0: {
          const topic = g.topic();
          const payload = Buffer.from(g.bytes(100));
          parts.push(
            mqttPacket.generate({ cmd: "publish", topic, payload, qos: 1, retain: false, dup: false, messageId }, V4),
          );
          want.push(expect({ type: 3, topic, payload, qos: 1, packetId: messageId }));
          break;
        }
        case 1:
          parts.push(mqttPacket.generate({ cmd: "pubrel", messageId }, V4));
          want.push(expect({ type: 6, packetId: messageId }));
          break;
        case 2:
          parts.push(mqttPacket.generate({ cmd: "suback", messageId, granted: [1, 0x80] }, V4));
          want.push(expect({ type: 9, packetId: messageId, payload: Buffer.from([1, 0x80]) }));
          break;
        default:
          parts.push(mqttPacket.generate({ cmd: "pingresp" }, V4));
          want.push(expect({ type: 13 }));
      }
    }
    assert.deepEqual(decode(Buffer.concat(parts), g.rnd, 4096), want);
  });
});
