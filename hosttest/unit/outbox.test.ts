import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { utf8 } from "../../src/mqtt/codec";
import { Outbox, payloadOf } from "../../src/mqtt/outbox";
import { decodeUtf8 } from "../../src/utf8";

const topic = utf8("t");

function box(count = 4, bytes = 1000, control = { count: 4, bytes: 1000 }) {
  const drops: string[] = [];
  const outbox = new Outbox({ count, bytes }, control, (t, qos) => drops.push(`${decodeUtf8(t)}@${qos}`));
  const texts = () => outbox.items.map((m) => decodeUtf8(payloadOf(m)));
  return { outbox, drops, texts };
}

describe("outbox", () => {
  it("keeps messages in order and copies their payloads", () => {
    const { outbox, texts } = box();
    const bytes = utf8("b");
    outbox.add(topic, "a", 1, false);
    outbox.add(topic, bytes, 1, false);
    bytes[0] = 0x7a;
    assert.deepEqual(texts(), ["a", "b"]);
    assert.equal(outbox.bytes, 4);
  });

  it("when full drops the oldest QoS 0, then the oldest QoS 1, never QoS 2", () => {
    const { outbox, drops, texts } = box(3);
    outbox.add(topic, "q1-old", 1, false);
    outbox.add(topic, "q0", 0, false);
    outbox.add(topic, "q2", 2, false);
    outbox.add(topic, "new1", 1, false);
    assert.deepEqual(texts(), ["q1-old", "q2", "new1"]);
    outbox.add(topic, "new2", 1, false);
    assert.deepEqual(texts(), ["q2", "new1", "new2"]);
    assert.deepEqual(drops, ["t@0", "t@1"]);
    assert.equal(outbox.dropped, 2);
  });

  it("control messages go ahead of readings not yet written, and never displace one", () => {
    const { outbox, drops, texts } = box(2, 1000, { count: 3, bytes: 1000 });
    outbox.add(topic, "r1", 1, false);
    outbox.items[0].sent = true; // written: it stays where it is
    outbox.add(topic, "r2", 1, false);
    outbox.add(utf8("status"), "online", 1, true, "latest");
    outbox.add(utf8("led"), "ON", 1, true, "latest");
    assert.deepEqual(texts(), ["r1", "online", "ON", "r2"]);
    outbox.add(utf8("error"), "e1", 0, false, "event");
    assert.equal(
      outbox.add(utf8("error"), "e2", 0, false, "event"),
      undefined,
      "the control lane is full: the event is refused",
    );
    assert.deepEqual(texts(), ["r1", "online", "ON", "e1", "r2"]);
    assert.deepEqual(drops, []);
    assert.equal(outbox.dropped, 0);
  });

  it("a newer state replaces one never written on the same topic; when the lane is full it takes the oldest event's place", () => {
    const { outbox, texts } = box(4, 1000, { count: 3, bytes: 1000 });
    outbox.add(utf8("led"), "ON", 1, true, "latest");
    outbox.add(utf8("led"), "OFF", 1, true, "latest");
    assert.deepEqual(texts(), ["OFF"]);
    outbox.items[0].sent = true;
    outbox.add(utf8("led"), "ON", 1, true, "latest");
    assert.deepEqual(texts(), ["OFF", "ON"], "a written message is never replaced");
    outbox.add(utf8("error"), "e1", 0, false, "event");
    outbox.add(utf8("diag"), "d1", 0, false, "latest");
    assert.deepEqual(texts(), ["OFF", "ON", "d1"]);
  });

  it("a reading already written is never a victim: the new one is refused and counted", () => {
    const { outbox, drops, texts } = box(2);
    outbox.add(topic, "a", 1, false);
    outbox.add(topic, "b", 1, false);
    for (const m of outbox.items) m.sent = m.inflight = true;
    assert.equal(outbox.add(topic, "c", 1, false), undefined);
    assert.deepEqual(texts(), ["a", "b"]);
    assert.deepEqual(drops, ["t@1"]);
    outbox.items[1].inflight = false; // b was written on a connection that is gone: it may have arrived
    assert.equal(outbox.add(topic, "d", 1, false), undefined);
    assert.equal(outbox.dropped, 2);
  });

  it("refuses, and reports, a message larger than the byte bound", () => {
    const { outbox, drops } = box(4, 10);
    assert.equal(outbox.add(topic, "0123456789", 1, false), undefined);
    assert.deepEqual(drops, ["t@1"]);
    assert.equal(outbox.length, 0);
  });

  it("reuses its records: storing and removing again and again keeps the same objects", () => {
    const { outbox } = box();
    const first = outbox.add(topic, "x", 1, false)!;
    outbox.removeAt(0);
    const second = outbox.add(topic, "y", 1, false)!;
    assert.equal(second, first);
    assert.equal(decodeUtf8(payloadOf(second)), "y");
    assert.equal(outbox.bytes, 2);
  });

  it("lets go of a buffer grown for a large message once the record is free", () => {
    const { outbox } = box(4, 10000);
    const big = outbox.add(topic, "x".repeat(2000), 1, false)!;
    assert.ok(big.bytes.length >= 2000);
    outbox.removeAt(0);
    const next = outbox.add(topic, "small", 1, false)!;
    assert.equal(next, big);
    assert.ok(next.bytes.length < 2000);
  });
});
