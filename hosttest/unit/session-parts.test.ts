/**
 * The MQTT session's parts on their own (src/mqtt/lifecycle, exactly-once,
 * subscriptions, topics, wire, reporter, outflow). The session as a whole is
 * tested in client.test.ts; these pin what each part decides by itself.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { utf8 } from "../../src/mqtt/codec";
import { ExactlyOnce } from "../../src/mqtt/exactly-once";
import { Inbound } from "../../src/mqtt/inbound";
import { Keepalive } from "../../src/mqtt/keepalive";
import { type ClientState, Lifecycle, RECONNECT_POLICY } from "../../src/mqtt/lifecycle";
import { connectOptions } from "../../src/mqtt/options";
import { CONTROL_BOUNDS, Outbox } from "../../src/mqtt/outbox";
import { Outflow } from "../../src/mqtt/outflow";
import { type Packet, PUBLISH, type QoS, SUBACK } from "../../src/mqtt/packet";
import { Reporter } from "../../src/mqtt/reporter";
import { Subscriptions } from "../../src/mqtt/subscriptions";
import { TopicCache } from "../../src/mqtt/topics";
import { TX_BYTES, Wire } from "../../src/mqtt/wire";
import { decodeUtf8 } from "../../src/utf8";
import { decodeWritten, FakeClock, FakeSocket, fixedRandom, summary } from "./fakes";

const ALL: ClientState[] = ["idle", "connecting", "handshake", "connected", "waiting", "paused", "closing", "closed"];

/** A lifecycle walked to `state` along legal edges. */
function at(state: ClientState, random = fixedRandom(0.5)): Lifecycle {
  const path: Record<ClientState, ClientState[]> = {
    idle: [],
    connecting: ["connecting"],
    handshake: ["connecting", "handshake"],
    connected: ["connecting", "handshake", "connected"],
    waiting: ["waiting"],
    paused: ["waiting", "paused"],
    closing: ["connecting", "handshake", "connected", "closing"],
    closed: ["waiting", "closed"],
  };
  const life = new Lifecycle(RECONNECT_POLICY, random);
  for (const s of path[state]) life.to(s);
  return life;
}

describe("lifecycle: one transition function", () => {
  it("follows the diagram and refuses every other edge", () => {
    const legal = new Set([
      "idle>connecting",
      "idle>waiting",
      "connecting>handshake",
      "connecting>waiting",
      "handshake>connected",
      "handshake>waiting",
      "connected>closing",
      "connected>waiting",
      "closing>waiting",
      "waiting>connecting",
      "waiting>waiting",
      "waiting>paused",
      "waiting>closed",
      "paused>connecting",
      "paused>waiting",
    ]);
    for (const from of ALL) {
      for (const to of ALL) {
        const life = at(from);
        assert.equal(life.state, from);
        if (legal.has(`${from}>${to}`)) {
          life.to(to);
          assert.equal(life.state, to);
        } else {
          assert.throws(() => life.to(to), RangeError, `${from} → ${to}`);
          assert.equal(life.state, from, "a refused transition changes nothing");
        }
      }
    }
  });

  it("state cannot be assigned from outside", () => {
    const life = at("connected");
    try {
      (life as unknown as { state: string }).state = "idle"; // a TypeError in strict code; ignored in sloppy code (the XS bundle)
    } catch {
      // refused
    }
    assert.equal(life.state, "connected");
  });

  it("backoff doubles from the policy's base up to its cap, and resets when accepted", () => {
    const life = at("waiting", fixedRandom(0));
    const delays = [1, 2, 3, 4, 5, 6, 7, 8].map(() => life.retryDelay(false));
    assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    life.accepted(0);
    assert.equal(life.retryDelay(false), 500);
  });

  it("policy passed in: other constants, other refusals that wait the longest", () => {
    const life = new Lifecycle({ base: 100, cap: 400, provenMs: 10, lastingRefusals: [3] }, fixedRandom(0));
    assert.deepEqual(
      [1, 2, 3, 4].map(() => life.retryDelay(false)),
      [50, 100, 200, 200],
    );
    assert.equal(life.retryDelay(true), 300, "lasting: from 3/4 of the cap");
    assert.equal(life.lasting(3), true);
    assert.equal(life.lasting(5), false);
    assert.equal(at("idle").lasting(5), true, "the default policy: not authorised is lasting");
    assert.equal(at("idle").lasting(3), false, "the default policy: server unavailable is not");
  });

  it("a connection the broker's fault ends before it is proven does not reset the backoff", () => {
    const life = at("connecting", fixedRandom(0));
    life.retryDelay(false);
    life.retryDelay(false); // two failures: the next ceiling is 4 s
    life.to("handshake");
    life.to("connected");
    life.accepted(1000);
    life.brokerFault(1000 + RECONNECT_POLICY.provenMs - 1);
    assert.equal(life.retryDelay(false), 2000, "goes on from where it was");
  });

  it("one ended by the broker after it is proven starts the backoff again", () => {
    const life = at("connecting", fixedRandom(0));
    life.retryDelay(false);
    life.retryDelay(false);
    life.to("handshake");
    life.to("connected");
    life.accepted(1000);
    life.brokerFault(1000 + RECONNECT_POLICY.provenMs);
    assert.equal(life.retryDelay(false), 500);
  });
});

describe("exactly-once: inbound QoS 2 de-duplication", () => {
  it("delivers an id once until PUBREL releases it", () => {
    const seen = new ExactlyOnce();
    assert.equal(seen.first(7), true);
    assert.equal(seen.first(7), false, "a DUP before PUBREL");
    seen.release(7);
    assert.equal(seen.first(7), true, "the id reused after PUBREL is a new message");
  });

  it("is bounded: past the limit the oldest id is forgotten", () => {
    const seen = new ExactlyOnce(3);
    for (const id of [1, 2, 3, 4]) assert.equal(seen.first(id), true);
    assert.equal(seen.size, 3);
    assert.equal(seen.first(1), true, "1 was forgotten");
    assert.equal(seen.first(4), false);
  });

  it("clear() forgets all; releasing an unknown id is harmless", () => {
    const seen = new ExactlyOnce();
    seen.first(1);
    seen.release(99);
    assert.equal(seen.size, 1);
    seen.clear();
    assert.equal(seen.first(1), true);
  });
});

describe("subscriptions and packet ids", () => {
  it("adds, updates and removes subscriptions; refuses bad filters", () => {
    const subs = new Subscriptions();
    assert.ok(subs.add("a/+", 1));
    assert.ok(subs.add("b/#", 0));
    assert.equal(subs.add("a/+", 2)?.qos, 2, "updated in place");
    assert.equal(subs.list.length, 2);
    assert.equal(subs.add("a/#/b", 1), undefined);
    assert.equal(subs.add("", 1), undefined);
    assert.equal(subs.remove("a/+")?.filter, "a/+");
    assert.equal(subs.remove("a/+"), undefined);
    assert.deepEqual(
      subs.list.map((s) => s.filter),
      ["b/#"],
    );
  });

  it("pending requests settle once, and are forgotten with the connection", () => {
    const { wire, socket } = wired();
    const subs = new Subscriptions();
    const a = subs.add("a", 1)!;
    subs.subscribe(wire, 5, [a]);
    subs.unsubscribe(wire, 6, a);
    assert.deepEqual(summary(socket.take()), ["SUBSCRIBE a@1", "UNSUBSCRIBE a"]);
    assert.equal(subs.has(5), true);
    assert.equal(subs.settle(5)?.subscriptions[0], a);
    assert.equal(subs.settle(5), undefined);
    assert.equal(subs.has(6), true);
    subs.forgetPending();
    assert.equal(subs.has(6), false);
  });

  it("ids run 1…65535, wrap, and skip those held by messages or requests", () => {
    const subs = new Subscriptions();
    const held = new Set([2, 65535]);
    const messages = { indexOf: (id: number) => (held.has(id) ? 0 : -1) };
    const { wire } = wired();
    assert.equal(subs.nextId(messages), 1);
    subs.subscribe(wire, 3, []);
    assert.equal(subs.nextId(messages), 4, "2 held by a message, 3 by a request");
    (subs as unknown as { lastId: number }).lastId = 65533;
    assert.deepEqual([subs.nextId(messages), subs.nextId(messages)], [65534, 1]);
  });

  it("no free id is an error, not a loop", () => {
    assert.throws(() => new Subscriptions().nextId({ indexOf: () => 0 }), RangeError);
  });
});

describe("topic cache", () => {
  it("encodes and validates; keeps only what it is told to, within its limit", () => {
    const cache = new TopicCache(2);
    assert.deepEqual(cache.bytes("a/b", true), utf8("a/b"));
    assert.equal(cache.bytes("a/b", true), cache.bytes("a/b", true), "remembered: the same bytes");
    assert.notEqual(cache.bytes("once", false), cache.bytes("once", false), "not remembered");
    assert.equal(cache.bytes("a/+", true), undefined, "wildcards are not topic names");
    assert.equal(cache.bytes("", true), undefined);
    cache.bytes("c", true);
    assert.equal(cache.size, 2);
    cache.bytes("d", true);
    assert.equal(cache.size, 1, "past the limit it starts again");
  });
});

/** A wire on a fake socket with `budget` bytes of room. */
function wired(budget = 1000) {
  const clock = new FakeClock();
  const keepalive = new Keepalive(30000);
  const failures: string[] = [];
  const wire = new Wire(clock, keepalive, { writeFailed: (reason) => failures.push(reason) });
  const socket = new FakeSocket({ host: "h", port: 1, onReadable() {}, onWritable() {}, onError() {} });
  wire.socket = socket;
  wire.writable = budget;
  return { clock, keepalive, wire, socket, failures };
}

describe("wire: the write path", () => {
  it("one write per packet, the budget charged, PUBLISH counted", () => {
    const { wire, socket } = wired(100);
    wire.publish(utf8("t"), utf8("hello"), 5, 1, false, false, 9);
    wire.ack(4, 9);
    assert.equal(socket.written.length, 2);
    assert.deepEqual(
      socket.written.map((w) => w.length),
      [12, 4],
    );
    assert.equal(wire.writable, 100 - 12 - 4);
    assert.equal(wire.published, 1);
    assert.deepEqual(summary(socket.take()), ["PUBLISH q1 t hello", "PUBACK 9"]);
  });

  it("fits() is the budget check for a whole PUBLISH", () => {
    const { wire } = wired(10);
    assert.equal(wire.fits(1, 5, 0), true, "2 + 3 + 5 = 10");
    assert.equal(wire.fits(1, 5, 1), false, "with a packet id: 12");
  });

  it("a packet larger than the shared buffer gets one of its own, still one write", () => {
    const { wire, socket } = wired(10000);
    const big = new Uint8Array(TX_BYTES + 50).fill(0x61);
    wire.publish(utf8("t"), big, big.length, 0, false, false, 0);
    assert.equal(socket.written.length, 1);
    assert.equal(decodeWritten(socket.written[0]).payload!.length, big.length);
  });

  it("a write that throws is reported, not thrown; without a socket nothing is written", () => {
    const { wire, socket, failures } = wired();
    socket.failWrite = "broken pipe";
    wire.ack(4, 1);
    assert.deepEqual(failures, ["broken pipe"]);
    wire.close();
    assert.equal(socket.closed, true);
    wire.ack(4, 2);
    assert.equal(wire.socket, undefined);
  });

  it("writing counts as sending for the keepalive", () => {
    const { wire, clock, keepalive } = wired();
    keepalive.start(0);
    clock.advance(29500);
    keepalive.received(29500);
    assert.equal(keepalive.check(29500), 1, "nothing sent for a period: PINGREQ due");
    wire.ack(4, 1);
    assert.equal(keepalive.check(29500), 0, "no PINGREQ due just after a write");
  });
});

describe("reporter: handler isolation", () => {
  it("a throwing handler goes to onHandlerError; a throwing onHandlerError goes nowhere", () => {
    const errors: unknown[] = [];
    const report = new Reporter({
      onConnect() {
        throw new Error("boom");
      },
      onDrop(topic, qos) {
        errors.push(`drop ${topic}@${qos}`);
      },
      onHandlerError(error) {
        errors.push((error as Error).message);
      },
    });
    report.connected(false);
    report.dropped(utf8("a/b"), 1);
    report.delivered(); // no handler: nothing
    assert.deepEqual(errors, ["boom", "drop a/b@1"]);
    const silent = new Reporter({
      onDrain() {
        throw new Error("x");
      },
      onHandlerError() {
        throw new Error("y");
      },
    });
    silent.drained(); // would throw "y" if the reporter let it through
  });
});

describe("outflow: the outbound flow", () => {
  function flow(budget = 1000) {
    const w = wired(budget);
    const events: string[] = [];
    const report = new Reporter({ onDelivered: () => events.push("delivered"), onDrain: () => events.push("drain") });
    const outbox = new Outbox({ count: 4, bytes: 1000 }, CONTROL_BOUNDS, () => events.push("drop"));
    const outflow = new Outflow(outbox, w.wire, report, new Subscriptions());
    return { ...w, events, outbox, outflow };
  }

  it("QoS 0 bytes go out at once when connected and nothing waits", () => {
    const { outflow, socket, outbox, events } = flow();
    assert.equal(outflow.direct(utf8("t"), utf8("x"), 0, false, "data", true), true);
    assert.equal(outbox.length, 0);
    assert.deepEqual(summary(socket.take()), ["PUBLISH q0 t x"]);
    assert.deepEqual(events, ["delivered"]);
  });

  it("held (announcing) or not open: stored, written in order later", () => {
    const { outflow, socket, outbox, events } = flow();
    assert.equal(outflow.direct(utf8("t"), "a", 1, false, "data", false), false, "QoS 1 is never direct");
    outflow.store(utf8("t"), "a", 1, false, "data");
    outflow.flush(false, false);
    outflow.hold = true;
    assert.equal(outflow.direct(utf8("t"), utf8("b"), 0, false, "data", true), false, "something waits");
    outflow.store(utf8("t"), "b", 0, false, "data");
    outflow.flush(true, true);
    assert.equal(socket.written.length, 0);
    assert.equal(outbox.length, 2);
    outflow.hold = false;
    outflow.flush(true, true);
    assert.deepEqual(summary(socket.take()), ["PUBLISH q1 t a", "PUBLISH q0 t b"]);
    assert.deepEqual(events, ["delivered"], "the QoS 0 one; the QoS 1 one waits for PUBACK");
    outflow.acknowledged(1, 1, true, true);
    assert.deepEqual(events, ["delivered", "delivered", "drain"]);
  });

  it("takes a message out only when it fits the budget", () => {
    const { outflow, socket, wire } = flow(5);
    assert.equal(outflow.direct(utf8("t"), utf8("hello"), 0, false, "data", true), false, "does not fit");
    outflow.store(utf8("t"), "hello", 0, false, "data");
    outflow.flush(true, true);
    assert.equal(socket.written.length, 0);
    wire.writable = 100;
    outflow.flush(true, true);
    assert.deepEqual(summary(socket.take()), ["PUBLISH q0 t hello"]);
  });

  it("after PUBREC it is PUBREL that is sent again, and only PUBCOMP completes", () => {
    const { outflow, socket, outbox, events } = flow();
    outflow.store(utf8("t"), "q2", 2, false, "data");
    outflow.flush(true, true);
    outbox.released(1);
    outflow.acknowledged(1, 1, true, true); // a PUBACK for a QoS 2 id is not its acknowledgement
    assert.equal(outbox.length, 1);
    outbox.connectionLost();
    outflow.flush(true, true);
    assert.deepEqual(summary(socket.take()), ["PUBLISH q2 t q2", "PUBREL 1"]);
    outflow.acknowledged(1, 2, true, true);
    assert.deepEqual(events, ["delivered", "drain"]);
  });
});

describe("connect options", () => {
  it("carries the client's options, a string will encoded", () => {
    const c = connectOptions(
      {
        host: "h",
        port: 1,
        clientId: "id",
        username: "u",
        will: { topic: "w", payload: "gone", qos: 1, retain: true },
        socket: () => undefined as never,
        clock: new FakeClock(),
      },
      30,
    );
    assert.equal(c.clientId, "id");
    assert.equal(c.keepalive, 30);
    assert.equal(c.cleanSession, true);
    assert.deepEqual(c.will?.payload, utf8("gone"));
  });
});

describe("inbound: the broker's messages by QoS", () => {
  function setup() {
    const w = wired();
    const seen: string[] = [];
    const report = new Reporter({
      onMessage: (topic, payload, qos) => seen.push(`${topic} ${decodeUtf8(payload)} q${qos}`),
      onTooLarge: (topic, size) => seen.push(`too large ${topic} ${size}`),
      onSubscribeFailed: (filter) => seen.push(`refused ${filter}`),
    });
    const subs = new Subscriptions();
    const buffer = new Uint8Array(64);
    return { ...w, seen, subs, inbound: new Inbound(w.wire, report, subs, buffer, 64), buffer };
  }
  /** A PUBLISH packet as the parser hands it over, in `buf`. */
  function publish(buf: Uint8Array, qos: QoS, packetId: number, truncated = false): Packet {
    buf.set(utf8("t/a"), 0);
    buf.set(utf8("hi"), 3);
    return {
      type: PUBLISH,
      qos,
      packetId,
      buf,
      topicStart: 0,
      topicEnd: 3,
      payloadStart: 3,
      payloadEnd: 5,
      retain: false,
      dup: false,
      truncated,
      size: 9,
    } as unknown as Packet;
  }

  it("QoS 0 delivered; QoS 1 delivered and PUBACKed; QoS 2 delivered once, PUBREC each time, PUBCOMP on PUBREL", () => {
    const { inbound, buffer, seen, socket } = setup();
    inbound.publish(publish(buffer, 0, 0));
    inbound.publish(publish(buffer, 1, 3));
    inbound.publish(publish(buffer, 2, 4));
    inbound.publish(publish(buffer, 2, 4)); // DUP before PUBREL
    inbound.release(4);
    assert.deepEqual(seen, ["t/a hi q0", "t/a hi q1", "t/a hi q2"]);
    assert.deepEqual(summary(socket.take()), ["PUBACK 3", "PUBREC 4", "PUBREC 4", "PUBCOMP 4"]);
  });

  it("too large: reported unseen, still acknowledged", () => {
    const { inbound, buffer, seen, socket } = setup();
    inbound.publish(publish(buffer, 1, 8, true));
    assert.deepEqual(seen, ["too large t/a 9"]);
    assert.deepEqual(summary(socket.take()), ["PUBACK 8"]);
  });

  it("SUBACK 0x80 reports that filter; a SUBACK nobody waits for is ignored", () => {
    const { inbound, subs, wire, seen, socket } = setup();
    subs.subscribe(wire, 5, [subs.add("a", 1)!, subs.add("b", 1)!]);
    socket.take();
    const buf = Uint8Array.from([1, 0x80]);
    const suback = { type: SUBACK, packetId: 5, buf, payloadStart: 0, payloadEnd: 2 } as unknown as Packet;
    inbound.settled(suback);
    inbound.settled(suback);
    assert.deepEqual(seen, ["refused b"]);
  });
});
