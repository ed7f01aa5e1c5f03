/**
 * Checks the test environment itself; runs on Node and inside XS alike.
 */

import assert from "node:assert/strict";
import { describe, it, test } from "node:test";

test("TextEncoder/TextDecoder round trip", () => {
  const text = "temp 21.5°C, ünïcödé ✓";
  const bytes = new TextEncoder().encode(text);
  assert.ok(bytes instanceof Uint8Array);
  assert.equal(bytes.length, 29);
  assert.equal(new TextDecoder().decode(bytes), text);
});

describe("assert", () => {
  it("deepEqual compares typed arrays by content and type", () => {
    assert.deepEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]));
    assert.notDeepEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4]));
    assert.notDeepEqual(new Uint8Array([1, 2]), new Int8Array([1, 2]));
    assert.notDeepEqual(new Uint8Array([1, 2]), [1, 2]);
  });

  it("deepEqual handles NaN, -0, nested objects, Map and Set", () => {
    assert.deepEqual(NaN, NaN);
    assert.notDeepEqual(0, -0);
    assert.deepEqual({ a: [1, { b: "x" }], c: undefined }, { a: [1, { b: "x" }], c: undefined });
    assert.notDeepEqual({ a: 1 }, { a: 1, b: undefined });
    assert.deepEqual(new Map([["k", { v: 1 }]]), new Map([["k", { v: 1 }]]));
    assert.deepEqual(new Set([1, { x: 2 }]), new Set([{ x: 2 }, 1]));
    assert.notDeepEqual(new Set([1, 2]), new Set([1, 3]));
  });

  it("strictEqual uses Object.is", () => {
    assert.strictEqual(NaN, NaN);
    assert.notStrictEqual(0, -0);
    assert.notEqual({}, {});
  });

  it("throws and match", () => {
    assert.throws(() => JSON.parse("{"), SyntaxError);
    assert.throws(() => {
      throw new RangeError("out of range: 300");
    }, /out of range/);
    assert.throws(() => assert.deepEqual([1, 2], [1, 3]), { name: "AssertionError" });
    assert.match("sensor/dht22/state", /^sensor\/\w+\/state$/);
  });

  it("failure messages show a diff", () => {
    try {
      assert.deepEqual({ temperature: 21.5, humidity: 40 }, { temperature: 21.5, humidity: 41 });
      assert.fail("expected a failure");
    } catch (e) {
      assert.ok(e instanceof Error);
      assert.match(e.message, /humidity: 40/);
      assert.match(e.message, /humidity: 41/);
    }
  });
});

describe("async", () => {
  it("awaits microtasks", async () => {
    const order: number[] = [];
    const p = Promise.resolve().then(() => order.push(2));
    order.push(1);
    await p;
    assert.deepEqual(order, [1, 2]);
  });

  it("rejects", async () => {
    await assert.rejects(Promise.reject(new TypeError("nope")), TypeError);
  });
});

test("typed array and DataView basics", () => {
  const buf = new ArrayBuffer(4);
  new DataView(buf).setUint16(0, 0x1234);
  assert.deepEqual([...new Uint8Array(buf)], [0x12, 0x34, 0, 0]);
  assert.equal(String.fromCharCode(...new Uint8Array([77, 81, 84, 84])), "MQTT");
});
