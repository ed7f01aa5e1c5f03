/**
 * Fuzzing the broker → client direction: the streaming Parser on random and
 * mutated byte streams split at random offsets, and the MqttClient session on
 * mutated broker traffic after a CONNACK. A bounded, seeded run here (Node and
 * XS); `npm run fuzz` (hosttest/fuzz.ts) drives the same generators for
 * millions of cases.
 *
 * Invariants:
 *  - Parser.push never throws; each byte stream ends in onPacket calls and at
 *    most one onError, after which nothing more is reported until reset();
 *    every packet's byte ranges lie inside the parser's one buffer, which is
 *    the same object of the same size for the parser's whole life.
 *  - Unmutated valid packets decode without error.
 *  - MqttClient: nothing escapes into the socket callbacks; afterwards the
 *    session is still connected, or it closed with "protocol error: …" and a
 *    reconnect timer is pending.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { MqttClient } from "../../src/mqtt/client";
import type { Packet } from "../../src/mqtt/packet";
import { Parser } from "../../src/mqtt/parser";
import {
  connack,
  FakeClock,
  FakeNetwork,
  pingresp,
  puback,
  pubcomp,
  publishPacket,
  pubrec,
  pubrel,
  suback,
  unsuback,
} from "./fakes";
import { hex } from "./hex";

// ---------------------------------------------------------------- seeded PRNG

/** xorshift32 with a splitmix-style seed scramble; deterministic on every engine. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    let z = (seed | 0) + 0x9e3779b9;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    this.s = (z ^ (z >>> 16)) | 0 || 1;
  }
  /** Uniform 32-bit unsigned. */
  u32(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x;
    return x >>> 0;
  }
  /** Integer in [0, n). */
  below(n: number): number {
    return n <= 1 ? 0 : this.u32() % n;
  }
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }
}

// ---------------------------------------------------------------- corpus of valid broker packets

const TOPICS = ["a", "devices/esp32-01/state", "devices/esp32-01/led/set", "ü/€/𝄞", "x".repeat(200)];
const PAYLOADS = ["", "1", '{"data":{"temp":23.5,"hum":41}}', "on", "y".repeat(300)];

/** Valid server → client packets (the parser must accept every one). */
export function corpus(): Uint8Array[] {
  const out: Uint8Array[] = [connack(false, 0), connack(true, 0), connack(false, 5), pingresp()];
  for (const id of [1, 2, 255, 256, 65535])
    out.push(puback(id), pubrec(id), pubrel(id), pubcomp(id), unsuback(id), suback(id, 0, 1, 2, 0x80));
  for (const topic of TOPICS)
    for (const payload of PAYLOADS)
      for (const qos of [0, 1, 2])
        out.push(
          publishPacket(topic, payload, {
            qos,
            retain: (topic.length & 1) === 1,
            dup: qos > 0 && payload.length === 1,
            id: 1 + topic.length,
          }),
        );
  return out;
}

/** Only the packets that a connected client may receive without failing (no CONNACK). */
export function sessionCorpus(): Uint8Array[] {
  return corpus().filter((p) => p[0] >> 4 !== 2);
}

// ---------------------------------------------------------------- mutations

function randomBytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.below(256);
  return b;
}

function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export const MUTATIONS = [
  "none",
  "bitflip",
  "byte",
  "truncate",
  "length",
  "splice",
  "insert",
  "first",
  "random",
] as const;
export type Mutation = (typeof MUTATIONS)[number];

/** One mutated copy of `p`; `other` is a second packet for splicing. */
export function mutate(rng: Rng, p: Uint8Array, other: Uint8Array, kind: Mutation): Uint8Array {
  const b = p.slice();
  switch (kind) {
    case "none":
      return b;
    case "bitflip": {
      const flips = 1 + rng.below(3);
      for (let k = 0; k < flips; k++) b[rng.below(b.length)] ^= 1 << rng.below(8);
      return b;
    }
    case "byte":
      b[rng.below(b.length)] = rng.pick([0, 0xff, 0x7f, 0x80, 0x23, 0x2b, 0xc0, 0xed, rng.below(256)]);
      return b;
    case "truncate":
      return b.slice(0, rng.below(b.length));
    case "length": {
      // Corrupt the Remaining Length: a random value, a continuation bit, or ±1.
      const r = rng.below(4);
      if (r === 0) b[1] = rng.below(256);
      else if (r === 1) b[1] |= 0x80;
      else if (r === 2) b[1] = (b[1] + 1) & 0xff;
      else b[1] = (b[1] - 1) & 0xff;
      return b;
    }
    case "splice": {
      const cut = rng.below(b.length + 1);
      const from = rng.below(other.length + 1);
      return join(b.subarray(0, cut), other.subarray(from));
    }
    case "insert": {
      const at = rng.below(b.length + 1);
      return join(join(b.subarray(0, at), randomBytes(rng, 1 + rng.below(4))), b.subarray(at));
    }
    case "first":
      b[0] = rng.below(256);
      return b;
    case "random":
      return randomBytes(rng, rng.below(64));
  }
}

/** A stream of 1–4 packets, each mutated or not, with the mutation kinds used. */
export function stream(
  rng: Rng,
  packets: readonly Uint8Array[],
  mutateChance = 0.5,
): { bytes: Uint8Array; kinds: Mutation[] } {
  const n = 1 + rng.below(4);
  let bytes: Uint8Array = new Uint8Array(0);
  const kinds: Mutation[] = [];
  for (let i = 0; i < n; i++) {
    const kind: Mutation = rng.chance(mutateChance) ? rng.pick(MUTATIONS) : "none";
    kinds.push(kind);
    bytes = join(bytes, mutate(rng, rng.pick(packets), rng.pick(packets), kind));
  }
  return { bytes, kinds };
}

/** Random split points: [0, …, bytes.length] ascending. */
export function splits(rng: Rng, length: number): number[] {
  const cuts = [0];
  const style = rng.below(4);
  if (style === 1)
    for (let i = 1; i < length; i++) cuts.push(i); // bytewise
  else if (style >= 2) {
    let at = 0;
    while (at < length) {
      at += 1 + rng.below(style === 2 ? 8 : 64);
      if (at < length) cuts.push(at);
    }
  }
  cuts.push(length);
  return cuts;
}

// ---------------------------------------------------------------- parser harness

export interface ParserRun {
  packets: number;
  errors: number;
  /** The first error's text, if any. */
  error: string;
  /** An invariant the parser broke, or "". */
  violation: string;
}

/** A parser and its checking handler, reused across cases (reset() between them), as the client does. */
export class ParserHarness {
  readonly parser: Parser;
  readonly max: number;
  private run: ParserRun = { packets: 0, errors: 0, error: "", violation: "" };

  constructor(max = 4096) {
    this.max = max;
    this.parser = new Parser(
      {
        onPacket: (p) => this.packet(p),
        onError: (fault) => {
          const r = this.run;
          if (r.errors > 0 && !r.violation) r.violation = `second onError after "${r.error}": ${fault}`;
          r.errors++;
          if (r.errors === 1) r.error = fault;
          if (typeof fault !== "string" || fault === "") r.violation ||= "onError without a message";
        },
      },
      max,
    );
  }

  private packet(p: Packet): void {
    const r = this.run;
    if (r.errors > 0 && !r.violation) r.violation = `onPacket after onError "${r.error}"`;
    r.packets++;
    // The parser's kept buffer, or one made for a larger packet: never more than the limit, never a packet's bytes beyond it.
    if (p.buf.length > this.max) r.violation ||= `packet buffer of ${p.buf.length} bytes over the limit ${this.max}`;
    if (p.buf !== this.parser.buffer && p.buf.length < p.size && !p.truncated)
      r.violation ||= `a larger packet's buffer (${p.buf.length}) does not hold it (${p.size})`;
    if (this.parser.buffer.length > this.max)
      r.violation ||= `kept buffer of ${this.parser.buffer.length} bytes over the limit ${this.max}`;
    const n = p.buf.length;
    const inRange = (a: number, b: number): boolean => 0 <= a && a <= b && b <= n;
    if (
      !inRange(p.topicStart, p.topicEnd) ||
      !inRange(p.payloadStart, p.payloadEnd) ||
      (p.type === 3 && p.topicEnd > p.payloadStart)
    )
      r.violation ||= `bad byte ranges on type ${p.type}: topic ${p.topicStart}-${p.topicEnd} payload ${p.payloadStart}-${p.payloadEnd}`;
  }

  /** Feeds `bytes` split at `cuts` to a freshly reset parser. Exceptions propagate (a failure). */
  feed(bytes: Uint8Array, cuts: readonly number[]): ParserRun {
    this.parser.reset();
    this.run = { packets: 0, errors: 0, error: "", violation: "" };
    for (let i = 0; i + 1 < cuts.length; i++) this.parser.push(bytes, cuts[i], cuts[i + 1]);
    return this.run;
  }
}

/** One parser case: returns the run; throws only if the parser threw. */
export function parserCase(
  rng: Rng,
  h: ParserHarness,
  packets: readonly Uint8Array[],
): { bytes: Uint8Array; cuts: number[]; run: ParserRun; kinds: Mutation[] } {
  const { bytes, kinds } = stream(rng, packets);
  const cuts = splits(rng, bytes.length);
  const run = h.feed(bytes, cuts);
  if (!run.violation && kinds.every((k) => k === "none") && run.errors > 0)
    run.violation = `valid stream rejected: ${run.error}`;
  return { bytes, cuts, run, kinds };
}

// ---------------------------------------------------------------- client harness

export interface SessionRun {
  /** The session outcome: "connected", or the close reason. */
  outcome: string;
  violation: string;
}

/**
 * A connected client over a fake socket: feeds mutated broker traffic and
 * checks the outcome. Returns a violation text, or "" if all held.
 */
export function sessionCase(rng: Rng, packets: readonly Uint8Array[]): SessionRun {
  const clock = new FakeClock(1000);
  const net = new FakeNetwork();
  let received = 0;
  const client = new MqttClient(
    { host: "broker", port: 1883, clientId: "fuzz", keepalive: 30, socket: net.factory, clock, random: () => 0.5 },
    {
      onMessage: (topic, payload) => {
        received += topic.length + payload.length;
      },
    },
  );
  client.subscribe("devices/+/led/set", 1);
  client.start();
  const socket = net.last;
  socket.open();
  socket.receive(connack(false, 0));
  if (client.state !== "connected")
    return { outcome: client.state, violation: `not connected after CONNACK: ${client.lastError}` };
  // Something in flight, so that acks can match.
  client.publish("devices/esp32-01/state", '{"data":{"temp":23.5,"hum":41}}', 1);
  client.publish("devices/esp32-01/state", "x", 2);

  const { bytes } = stream(rng, packets, 0.7);
  const cuts = splits(rng, bytes.length);
  try {
    for (let i = 0; i + 1 < cuts.length && !socket.closed; i++) socket.receive(bytes.subarray(cuts[i], cuts[i + 1]));
  } catch (e) {
    return {
      outcome: "threw",
      violation: `exception escaped into the socket callback: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
  if (client.state === "connected") {
    if (socket.closed) return { outcome: "connected", violation: "connected but the socket is closed" };
    return { outcome: "connected", violation: received < 0 ? "unreachable" : "" };
  }
  const reason = client.lastError;
  if (client.state !== "waiting")
    return { outcome: reason, violation: `state ${client.state} after bad input (${reason})` };
  if (!reason.startsWith("protocol error: "))
    return { outcome: reason, violation: `closed without a protocol error: "${reason}"` };
  if (!socket.closed) return { outcome: reason, violation: "closed session left its socket open" };
  if (clock.pending === 0) return { outcome: reason, violation: "no reconnect scheduled" };
  // The reconnect must actually happen.
  clock.advance(120000);
  if (net.count < 2) return { outcome: reason, violation: "reconnect timer fired but no new socket" };
  return { outcome: reason, violation: "" };
}

// ---------------------------------------------------------------- the bounded run (Node and XS)

const SKIP = (globalThis as { __mqttFuzzCli?: boolean }).__mqttFuzzCli === true;

if (!SKIP) {
  test("the corpus is valid: every packet decodes without error, whole and bytewise", () => {
    const h = new ParserHarness();
    for (const p of corpus()) {
      const whole = h.feed(p, [0, p.length]);
      assert.equal(whole.errors, 0, whole.error);
      assert.equal(whole.packets, 1);
      const cuts: number[] = [];
      for (let i = 0; i <= p.length; i++) cuts.push(i);
      const bytewise = h.feed(p, cuts);
      assert.equal(bytewise.errors, 0, bytewise.error);
      assert.equal(bytewise.packets, 1);
    }
  });

  test("parser: 3000 random and mutated streams, random splits: no throw, one error at most, bounded buffer", () => {
    const rng = new Rng(20240601);
    const h = new ParserHarness(512);
    const packets = corpus().filter((p) => p.length <= 512);
    let errors = 0;
    for (let i = 0; i < 3000; i++) {
      let c: ReturnType<typeof parserCase>;
      try {
        c = parserCase(rng, h, packets);
      } catch (e) {
        assert.fail(`case ${i}: Parser.push threw: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (c.run.violation)
        assert.fail(
          `case ${i} (${c.kinds.join(",")}): ${c.run.violation}; bytes ${hex(c.bytes)} cuts ${c.cuts.join(",")}`,
        );
      errors += c.run.errors;
    }
    assert.ok(errors > 300, `mutations should hit errors often (got ${errors})`);
  });

  test("parser: a PUBLISH larger than the buffer is read through, not buffered; any other packet that large is refused", () => {
    const h = new ParserHarness(64);
    const big = publishPacket("t", "z".repeat(100));
    const run = h.feed(big, [0, 10, 50, big.length]);
    assert.equal(run.errors, 0);
    assert.equal(run.packets, 1);
    const suback = new Uint8Array(104);
    suback.set([0x90, 0x66, 0x00, 0x01]);
    const refused = new ParserHarness(64).feed(suback, [0, 10, 50, suback.length]);
    assert.equal(refused.errors, 1);
    assert.match(refused.error, /packet too large/);
    assert.equal(refused.packets, 0);
  });

  test("client: 600 mutated broker streams: nothing escapes, the session goes on or closes with a protocol error and reconnects", () => {
    const rng = new Rng(7);
    const packets = sessionCorpus();
    let closed = 0;
    for (let i = 0; i < 600; i++) {
      const r = sessionCase(rng, packets);
      if (r.violation) assert.fail(`case ${i}: ${r.violation}`);
      if (r.outcome !== "connected") closed++;
    }
    assert.ok(closed > 50 && closed < 600, `some sessions should close and some not (closed ${closed})`);
  });
}
