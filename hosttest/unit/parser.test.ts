/**
 * Parser tests: byte-exact vectors from the MQTT 3.1.1 specification and from
 * captures of mosquitto 2.0.11 (hosttest/tools/capture.ts), fed whole, byte by
 * byte, split at every offset and coalesced; and every malformed input class.
 * Runs under node:test and in XS through a shim of node:test and node:assert/strict.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Packet } from "../../src/mqtt/packet";
import { Parser } from "../../src/mqtt/parser";
import { concat } from "./fakes";
import { asc, fromHex, hex } from "./hex";
import { type Decoded, decoded as pkt, snapshot as snap } from "./packets";

// ---------------------------------------------------------------- helpers

interface Run {
  packets: Decoded[];
  errors: string[];
  parser: Parser;
}

function recorder(max?: number): Run {
  const run: Run = { packets: [], errors: [], parser: undefined as unknown as Parser };
  run.parser = new Parser(
    {
      onPacket: (p) => {
        run.packets.push(snap(p));
      },
      onError: (f) => {
        run.errors.push(f);
      },
    },
    max,
  );
  return run;
}

/** Parses `stream` cut into chunks at `cuts` (ascending offsets). */
function parse(stream: Uint8Array, cuts: number[] = [], max?: number): Run {
  const run = recorder(max);
  let from = 0;
  for (const c of cuts.concat(stream.length)) {
    run.parser.push(stream, from, c);
    from = c;
  }
  return run;
}

/** Parses `stream` whole, byte by byte, and split in two at every offset; all must give `expected`. */
function feedAllWays(stream: Uint8Array, expected: { packets: Decoded[]; errors: string[] }, max?: number): void {
  const whole = parse(stream, [], max);
  assert.deepEqual({ packets: whole.packets, errors: whole.errors }, expected, "whole");
  const each: number[] = [];
  for (let i = 1; i < stream.length; i++) each.push(i);
  const bytewise = parse(stream, each, max);
  assert.deepEqual({ packets: bytewise.packets, errors: bytewise.errors }, expected, "byte by byte");
  for (let i = 0; i <= stream.length; i++) {
    const split = parse(stream, [i], max);
    assert.deepEqual({ packets: split.packets, errors: split.errors }, expected, `split at ${i}`);
  }
  // The same bytes inside a larger chunk, given by [start, end).
  const run = recorder(max);
  const padded = concat(fromHex("ffff"), stream, fromHex("ff"));
  run.parser.push(padded, 2, 2 + stream.length);
  assert.deepEqual({ packets: run.packets, errors: run.errors }, expected, "range of a larger chunk");
}

function accepts(h: string, expected: Decoded | Decoded[], max?: number): void {
  feedAllWays(fromHex(h), { packets: Array.isArray(expected) ? expected : [expected], errors: [] }, max);
}

function rejects(h: string, fault: string, max?: number): void {
  // The faulty packet, then a valid PINGRESP that must be ignored.
  feedAllWays(concat(fromHex(h), fromHex("d000")), { packets: [], errors: [fault] }, max);
}

// ---------------------------------------------------------------- vectors

const CONNACK = 2;
const PUBLISH = 3;
const PUBACK = 4;
const PUBREC = 5;
const PUBREL = 6;
const PUBCOMP = 7;
const SUBACK = 9;
const UNSUBACK = 11;
const PINGRESP = 13;

const STATE_TOPIC = asc("devices/esp32-01/state");
const STATE = asc('{"data":{"temp":23.5,"hum":41}}');

// Captured: what mosquitto 2.0.11 sent to mosquitto_sub 2.0.11
// (mosquitto_sub -i sub-1 -q 2 -V mqttv311 -t devices/+/state -t 'secret/#' -C 4), after a
// retained QoS 1 message and then QoS 0, 1 and 2 messages from mosquitto_pub:
// CONNACK, SUBACK, PUBLISH QoS 1 retained, PUBLISH QoS 0, PUBLISH QoS 1, PUBLISH QoS 2, PUBREL.
const CAP_TO_SUB = [
  "20020000",
  "900400010202",
  "33390016646576696365732f65737033322d30312f737461746500017b2264617461223a7b2274656d70223a32332e352c2268756d223a34317d7d",
  "30370016646576696365732f65737033322d30312f73746174657b2264617461223a7b2274656d70223a32332e352c2268756d223a34317d7d",
  "32390016646576696365732f65737033322d30312f737461746500027b2264617461223a7b2274656d70223a32332e352c2268756d223a34317d7d",
  "34390016646576696365732f65737033322d30312f737461746500037b2264617461223a7b2274656d70223a32332e352c2268756d223a34317d7d",
  "62020003",
];
// Captured: what mosquitto 2.0.11 sent to mosquitto_pub -q 2 (CONNACK, PUBREC, PUBCOMP) and -q 1 (PUBACK).
const CAP_TO_PUB_Q2 = ["20020000", "50020001", "70020001"];
const CAP_TO_PUB_Q1 = ["20020000", "40020001"];

// ---------------------------------------------------------------- tests

describe("Parser: valid packets", () => {
  it("CONNACK (3.2): accepted, session present, refused", () => {
    accepts("20020000", pkt({ type: CONNACK }));
    accepts("20020100", pkt({ type: CONNACK, sessionPresent: true }));
    for (let rc = 1; rc <= 5; rc++) accepts(`2002000${rc}`, pkt({ type: CONNACK, returnCode: rc }));
  });

  it("PUBLISH (3.3): spec example topic a/b, packet id 10, QoS 1", () => {
    accepts("3207 0003612f62 000a", pkt({ type: PUBLISH, flags: 2, qos: 1, packetId: 10, topic: "612f62" }));
  });

  it("PUBLISH QoS 0, 1, 2 with retain and dup", () => {
    accepts("3007 0003612f62 0102", pkt({ type: PUBLISH, topic: "612f62", payload: "0102" }));
    accepts("3105 0003612f62", pkt({ type: PUBLISH, flags: 1, retain: true, topic: "612f62" }));
    accepts(
      "3b08 0003612f62 0001 ff",
      pkt({ type: PUBLISH, flags: 0xb, qos: 1, retain: true, dup: true, packetId: 1, topic: "612f62", payload: "ff" }),
    );
    accepts(
      "3408 0003612f62 1234 ff",
      pkt({ type: PUBLISH, flags: 4, qos: 2, packetId: 0x1234, topic: "612f62", payload: "ff" }),
    );
    accepts(
      "3c07 0003612f62 ffff",
      pkt({ type: PUBLISH, flags: 0xc, qos: 2, dup: true, packetId: 0xffff, topic: "612f62" }),
    );
  });

  it("PUBLISH with multi-byte UTF-8 topics (spec 1.5.3 example A U+2A6D4)", () => {
    accepts("3007 0005 41f0aa9b94", pkt({ type: PUBLISH, topic: "41f0aa9b94" }));
    for (const t of ["c3bc", "e282ac", "efbfbf", "f48fbfbf", "ed9fbf", "ee8080", "7f", "01", "2f"]) {
      const n = t.length / 2;
      accepts(
        `30${(2 + n).toString(16).padStart(2, "0")}00${n.toString(16).padStart(2, "0")}${t}`,
        pkt({ type: PUBLISH, topic: t }),
      );
    }
  });

  it("PUBLISH with a 2-byte remaining length", () => {
    const payload = "ab".repeat(300);
    accepts(`30af02 0001 74${payload}`, pkt({ type: PUBLISH, topic: "74", payload }));
  });

  it("PUBACK, PUBREC, PUBREL (flags 0010), PUBCOMP, UNSUBACK", () => {
    accepts("4002000a", pkt({ type: PUBACK, packetId: 10 }));
    accepts("5002beef", pkt({ type: PUBREC, packetId: 0xbeef }));
    accepts("6202000a", pkt({ type: PUBREL, flags: 2, packetId: 10 }));
    accepts("7002ffff", pkt({ type: PUBCOMP, packetId: 0xffff }));
    accepts("b002000a", pkt({ type: UNSUBACK, packetId: 10 }));
  });

  it("SUBACK (3.9): spec example return codes 0, 2, 0x80", () => {
    accepts("9005 000a 000280", pkt({ type: SUBACK, packetId: 10, payload: "000280" }));
    accepts("9003 0001 01", pkt({ type: SUBACK, packetId: 1, payload: "01" }));
  });

  it("PINGRESP", () => {
    accepts("d000", pkt({ type: PINGRESP }));
  });

  it("what mosquitto sent to mosquitto_sub, coalesced (capture)", () => {
    const expected = [
      pkt({ type: CONNACK }),
      pkt({ type: SUBACK, packetId: 1, payload: "0202" }),
      pkt({ type: PUBLISH, flags: 3, qos: 1, retain: true, packetId: 1, topic: STATE_TOPIC, payload: STATE }),
      pkt({ type: PUBLISH, topic: STATE_TOPIC, payload: STATE }),
      pkt({ type: PUBLISH, flags: 2, qos: 1, packetId: 2, topic: STATE_TOPIC, payload: STATE }),
      pkt({ type: PUBLISH, flags: 4, qos: 2, packetId: 3, topic: STATE_TOPIC, payload: STATE }),
      pkt({ type: PUBREL, flags: 2, packetId: 3 }),
    ];
    accepts(CAP_TO_SUB.join(""), expected);
  });

  it("what mosquitto sent to mosquitto_pub -q 1 and -q 2 (capture)", () => {
    accepts(CAP_TO_PUB_Q1.join(""), [pkt({ type: CONNACK }), pkt({ type: PUBACK, packetId: 1 })]);
    accepts(CAP_TO_PUB_Q2.join(""), [
      pkt({ type: CONNACK }),
      pkt({ type: PUBREC, packetId: 1 }),
      pkt({ type: PUBCOMP, packetId: 1 }),
    ]);
  });

  it("every vector coalesced into one chunk", () => {
    const all = "20020100" + "3105 0003612f62" + "6202000a" + "9005 000a 000280" + "d000" + "b002000a";
    accepts(all, [
      pkt({ type: CONNACK, sessionPresent: true }),
      pkt({ type: PUBLISH, flags: 1, retain: true, topic: "612f62" }),
      pkt({ type: PUBREL, flags: 2, packetId: 10 }),
      pkt({ type: SUBACK, packetId: 10, payload: "000280" }),
      pkt({ type: PINGRESP }),
      pkt({ type: UNSUBACK, packetId: 10 }),
    ]);
  });

  it("a packet of exactly maxPacketSize is accepted", () => {
    accepts("3008 0001 74 0102030405", pkt({ type: PUBLISH, topic: "74", payload: "0102030405" }), 10);
  });

  it("hands out one reused Packet whose buf holds the whole packet", () => {
    const seen: Packet[] = [];
    const heads: string[] = [];
    const parser = new Parser({
      onPacket: (p) => {
        seen.push(p);
        heads.push(hex(p.buf, 0, 2));
      },
      onError: () => assert.ok(false),
    });
    parser.push(fromHex("3207 0003612f62 000a d000"));
    assert.equal(seen.length, 2);
    assert.equal(seen[0], seen[1]);
    assert.deepEqual(heads, ["3207", "d000"]);
    assert.equal(seen[1].packetId, 0, "fields that do not apply are reset");
    assert.equal(seen[1].topicEnd, 0);
  });

  it("reset() from a handler drops the rest of the chunk", () => {
    const types: number[] = [];
    const parser: Parser = new Parser({
      onPacket: (p) => {
        types.push(p.type);
        parser.reset();
      },
      onError: () => assert.ok(false),
    });
    parser.push(fromHex("d000 d000"));
    assert.deepEqual(types, [PINGRESP]);
    parser.push(fromHex("d000"));
    assert.deepEqual(types, [PINGRESP, PINGRESP]);
  });

  it("a PUBLISH over the limit is read through: header, topic and id kept, the rest discarded, marked truncated", () => {
    // QoS 1 PUBLISH to "a/b", id 10, a 20-byte payload (29 bytes in all), then PINGRESP; limit 12.
    const stream = concat(fromHex("321b 0003612f62 000a"), new Uint8Array(20).fill(0x78), fromHex("d000"));
    for (let cut = 0; cut <= stream.length; cut++) {
      const seen: string[] = [];
      const parser = new Parser(
        {
          onPacket: (p) =>
            seen.push(
              `${p.type} ${p.qos} ${p.packetId} ${hex(p.buf, p.topicStart, p.topicEnd)} ${p.size} ${p.truncated} ${p.payloadEnd - p.payloadStart}`,
            ),
          onError: (fault) => seen.push(`error ${fault}`),
        },
        12,
      );
      parser.push(stream, 0, cut);
      parser.push(stream, cut, stream.length);
      assert.deepEqual(seen, ["3 1 10 612f62 29 true 3", "13 0 0  2 false 0"], `split at ${cut}`);
    }
  });

  it("a huge PUBLISH (256 MiB announced) is skipped in bounded memory, chunk by chunk", () => {
    const seen: string[] = [];
    const parser = new Parser(
      { onPacket: (p) => seen.push(`${p.type} ${p.size} ${p.truncated}`), onError: (f) => seen.push(f) },
      64,
    );
    parser.push(fromHex("30 ffffff7f 0001 74"));
    const chunk = new Uint8Array(65536);
    for (let left = 268435455 - 3; left > 0; left -= chunk.length) parser.push(chunk, 0, Math.min(left, chunk.length));
    parser.push(fromHex("d000"));
    assert.deepEqual(seen, ["3 268435460 true", "13 2 false"]);
  });

  it("rejects a maxPacketSize below 2", () => {
    assert.throws(() => new Parser({ onPacket() {}, onError() {} }, 1), RangeError);
  });
});

describe("Parser: malformed input", () => {
  it("packet types a server never sends", () => {
    for (const t of [0, 1, 8, 10, 12, 14, 15])
      rejects(`${(t << 4).toString(16).padStart(2, "0")}00`, `unexpected packet type ${t}`);
  });

  it("reserved flags", () => {
    rejects("21020000", "reserved flags 0x1 on CONNACK");
    rejects("4802000a", "reserved flags 0x8 on PUBACK");
    rejects("5302000a", "reserved flags 0x3 on PUBREC");
    rejects("6002000a", "reserved flags 0x0 on PUBREL");
    rejects("6a02000a", "reserved flags 0xa on PUBREL");
    rejects("7102000a", "reserved flags 0x1 on PUBCOMP");
    rejects("9405000a000280", "reserved flags 0x4 on SUBACK");
    rejects("b202000a", "reserved flags 0x2 on UNSUBACK");
    rejects("df00", "reserved flags 0xf on PINGRESP");
  });

  it("PUBLISH flags: QoS 3, DUP on QoS 0", () => {
    rejects("3607 0003612f62 000a", "QoS 3 in PUBLISH");
    rejects("3f07 0003612f62 000a", "QoS 3 in PUBLISH");
    rejects("3805 0003612f62", "DUP set on QoS 0 PUBLISH");
  });

  it("remaining length: more than 4 bytes; a packet other than PUBLISH too large", () => {
    rejects("30 ffffffff01", "remaining length exceeds 4 bytes");
    rejects("30 80808080", "remaining length exceeds 4 bytes");
    rejects("90 ffffff7f", "packet too large (268435460 > 4096)");
    rejects("90 fd1f", "packet too large (4096 > 4095)", 4095);
    rejects("9009 000a 00000000000000", "packet too large (11 > 10)", 10);
  });

  it("a PUBLISH whose topic does not fit the limit cannot be acknowledged: an error", () => {
    rejects("3210 000c 612f622f632f642f652f6630 000a 00", "PUBLISH topic of 12 bytes exceeds the packet limit 10", 10);
  });

  it("wrong remaining length for the type", () => {
    rejects("2003000000", "remaining length 3 on CONNACK");
    rejects("200100", "remaining length 1 on CONNACK");
    rejects("20ff7f", "remaining length 16383 on CONNACK"); // before reading the body
    rejects("4003000a00", "remaining length 3 on PUBACK");
    rejects("5000", "remaining length 0 on PUBREC");
    rejects("620100", "remaining length 1 on PUBREL");
    rejects("7004000a000b", "remaining length 4 on PUBCOMP");
    rejects("b000", "remaining length 0 on UNSUBACK");
    rejects("9002000a", "remaining length 2 on SUBACK");
    rejects("d00100", "remaining length 1 on PINGRESP");
    rejects("3002 0000", "remaining length 2 on PUBLISH");
    rejects("3204 0001 74 00", "remaining length 4 on PUBLISH");
  });

  it("CONNACK body", () => {
    rejects("20020200", "reserved bits 0x2 in CONNACK flags");
    rejects("20028000", "reserved bits 0x80 in CONNACK flags");
    rejects("20020006", "CONNACK return code 6");
    rejects("200200ff", "CONNACK return code 255");
    rejects("20020105", "session present with CONNACK return code 5");
  });

  it("packet id 0", () => {
    rejects("40020000", "packet id 0 on PUBACK");
    rejects("50020000", "packet id 0 on PUBREC");
    rejects("62020000", "packet id 0 on PUBREL");
    rejects("70020000", "packet id 0 on PUBCOMP");
    rejects("b0020000", "packet id 0 on UNSUBACK");
    rejects("9003000000", "packet id 0 on SUBACK");
    rejects("3207 0003612f62 0000", "packet id 0 on PUBLISH");
    rejects("3407 0003612f62 0000", "packet id 0 on PUBLISH");
  });

  it("SUBACK return codes", () => {
    rejects("9003 000a 03", "SUBACK return code 0x3");
    rejects("9005 000a 0001 81", "SUBACK return code 0x81");
    rejects("9003 000a ff", "SUBACK return code 0xff");
  });

  it("PUBLISH topic length beyond the remaining length", () => {
    rejects("3005 0004612f62", "topic length 4 exceeds remaining length");
    rejects("3006 ffff612f6200", "topic length 65535 exceeds remaining length");
    rejects("3206 0003612f62 00", "topic length 3 exceeds remaining length");
  });

  it("PUBLISH topic: empty, wildcards, U+0000", () => {
    rejects("3003 0000 00", "empty PUBLISH topic");
    rejects("3005 0003612f2b", "wildcard in topic");
    rejects("3005 0003612f23", "wildcard in topic");
    rejects("3003 000123", "wildcard in topic");
    rejects("3005 0003610062", "U+0000 in topic");
  });

  it("PUBLISH topic: invalid UTF-8", () => {
    const bad = [
      "80", // lone continuation byte
      "bf",
      "c0af", // overlong '/'
      "c180",
      "e080af", // overlong 3-byte
      "f08080af", // overlong 4-byte
      "eda080", // U+D800
      "edbfbf", // U+DFFF
      "f4908080", // U+110000
      "f5808080",
      "f8",
      "ff",
      "c3", // truncated
      "e282",
      "f09f98",
      "e228a1", // bad continuation
      "c328",
      "f0289f98",
      "f09f2898",
    ];
    for (const t of bad) {
      const n = t.length / 2;
      rejects(
        `30${(2 + n).toString(16).padStart(2, "0")}00${n.toString(16).padStart(2, "0")}${t}`,
        "invalid UTF-8 in topic",
      );
    }
    // Truncated at the end of the topic, with payload bytes after it that would complete it.
    rejects("3006 0002 61e2 82ac", "invalid UTF-8 in topic");
  });

  it("reports once, ignores input until reset(), never throws", () => {
    const run = recorder();
    run.parser.push(fromHex("00"));
    run.parser.push(fromHex("d000 20020000 ffffffffffff"));
    assert.deepEqual(run.errors, ["unexpected packet type 0"]);
    assert.deepEqual(run.packets, []);
    run.parser.reset();
    run.parser.push(fromHex("d000"));
    assert.deepEqual(run.packets, [pkt({ type: PINGRESP })]);
    // reset() also drops a partial packet.
    run.parser.push(fromHex("3005 00"));
    run.parser.reset();
    run.parser.push(fromHex("d000"));
    assert.equal(run.packets.length, 2);
    assert.deepEqual(run.errors, ["unexpected packet type 0"]);
  });

  it("arbitrary short inputs give at most one error and no exception", () => {
    for (let a = 0; a < 256; a++) {
      const run = recorder();
      run.parser.push(new Uint8Array([a]));
      for (let b = 0; b < 256; b += 17) run.parser.push(new Uint8Array([b, b, a]));
      assert.ok(run.errors.length <= 1);
    }
  });
});
