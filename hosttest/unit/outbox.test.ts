import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Outbox, payloadOf } from "../../src/mqtt/outbox";
import { utf8 } from "../../src/mqtt/codec";
import { decodeUtf8 } from "../../src/utf8";

const topic = utf8("t");

function box(count = 4, bytes = 1000) {
  const drops: string[] = [];
  const outbox = new Outbox(count, bytes, (t, qos) => drops.push(`${decodeUtf8(t)}@${qos}`));
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

  it("a message inserted at the front is still the newest when room is made", () => {
    const { outbox, texts } = box(3);
    outbox.add(topic, "old-a", 1, false);
    outbox.add(topic, "old-b", 1, false);
    outbox.add(topic, "online", 1, false, 0);
    outbox.add(topic, "led", 1, false, 1);
    assert.deepEqual(texts(), ["online", "led", "old-b"]);
  });

  it("with evict false a message that does not fit is refused silently and nothing is dropped", () => {
    const { outbox, drops, texts } = box(2);
    outbox.add(topic, "a", 0, false);
    outbox.add(topic, "b", 0, false);
    assert.equal(outbox.add(topic, "report", 0, false, -1, false), undefined);
    assert.deepEqual(texts(), ["a", "b"]);
    assert.deepEqual(drops, []);
    assert.equal(outbox.dropped, 0);
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
    assert.ok(big.views.buffer.length >= 2000);
    outbox.removeAt(0);
    const next = outbox.add(topic, "small", 1, false)!;
    assert.equal(next, big);
    assert.ok(next.views.buffer.length < 2000);
  });
});
