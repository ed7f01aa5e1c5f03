/**
 * The short chaos run (the long one is `npm run chaos`): the simulator's
 * command line under broker kills, a faulty link, Wi-Fi drops, its own
 * SIGKILL, garbage, a hostile broker and QoS 0 at a short keepalive, all on
 * loopback, scenarios side by side. Each counts what it produced and what
 * arrived (see support/chaos.ts) and asserts: no crash, nothing lost, nothing
 * dropped inside the queue bound, reconnects within the backoff bound, one
 * error per fault, memory back to its level.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  brokerKills,
  brokerOutage,
  collapsed,
  garbage,
  hostile,
  type Outcome,
  outageRestart,
  problems,
  proxyFaults,
  qos0Keepalive,
  simKills,
  table,
  wifiDrops,
} from "./support/chaos";

const outcomes: Outcome[] = [];

function common(o: Outcome, maxReconnectMs: number): void {
  outcomes.push(o);
  const { trace, ...figures } = o;
  assert.deepEqual(problems(o, maxReconnectMs), [], `${JSON.stringify(figures)}\n${trace.join("\n")}`);
}

describe("chaos (short)", { concurrency: true }, () => {
  it("mosquitto SIGKILLed and restarted 3 times while the device publishes at QoS 1", async () => {
    const o = await brokerKills(3);
    common(o, 8000);
    assert.equal(o.connections, 4, "one reconnect per kill");
  });

  it("the broker away for 40 s (longer than the RAM queue lasts): nothing lost, the waiting readings replayed with their capture time", async () => {
    const o = await brokerOutage(40);
    // The outage, then at most one whole wait: by 40 s of failures the backoff may have reached its 60 s ceiling.
    common(o, 40000 + 60000);
    assert.ok(o.timed >= 15, `${o.timed} readings replayed with their time`);
  });

  it("the simulator SIGKILLed in the middle of an outage and restarted while the broker is away: every capture slot arrives, in order, with its time", async () => {
    const o = await outageRestart(20000);
    assert.ok(o.alive, o.trace.join("\n"));
    assert.ok(o.timed >= 8, `${o.timed} readings replayed\n${o.trace.join("\n")}`);
    assert.ok(o.inOrder, `out of order: gaps ${o.gaps.join(", ")}`);
    // One reading every 2 s (the DHT's minimum) in each life: capture times are whole seconds, and a late one may
    // cost a slot, so at most 4 s. The one gap across the restart is at most the time the device was away, its
    // first reading 1 s after power-up and one interval.
    const across = o.restartMs + 1000 + 2000 + 1000;
    const long = o.gaps.filter((gap) => gap > 4000);
    assert.ok(
      long.length <= 1 && long.every((gap) => gap <= across),
      `gaps ${o.gaps.join(", ")}; away ${o.restartMs} ms`,
    );
    for (const gap of o.gaps) assert.ok(gap >= 1000, `gap ${gap} ms in ${o.gaps.join(", ")}`);
  });

  it("a link that stalls, goes half-open, flips bits and truncates", async () => {
    const o = await proxyFaults(1);
    // A half-open or truncated link is noticed within 1.5 × keepalive (7.5 s), then the backoff. The faults follow
    // each other 2 s apart here, so a reconnect can land in the next one (2 s, then its 6 s) and fail once more, and
    // the backoff after three failures in a row waits up to 4 s (src/mqtt/backoff.ts): 19.5 s, and 3 s for a loaded
    // machine's timers (seen: 17.7 s with four test files at once).
    common(o, 22500);
    assert.ok(o.connections >= 3, `connections ${o.connections}`);
  });

  it("virtual Wi-Fi dropped every 12 s for 5 s", async () => {
    const o = await wifiDrops(36, 12);
    common(o, 15000);
    assert.ok(o.connections >= 3, `connections ${o.connections}`);
  });

  it("QoS 0 at keepalive 5 s: one connection throughout", async () => {
    const o = await qos0Keepalive(25);
    common(o, 0);
    assert.equal(o.connections, 1);
  });

  it("the simulator SIGKILLed twice: LED restored, TOGGLE sent while down applied after the restart", async () => {
    const o = await simKills(2);
    outcomes.push(o);
    assert.equal(o.ledChecks, 2);
    assert.ok(o.alive);
  });

  it("garbage and oversized payloads, retained and not: one bad-command each, no reconnect", async () => {
    const o = await garbage();
    outcomes.push(o);
    assert.equal(o.errors["bad-command"], o.expectedErrors, JSON.stringify(o.errors));
    assert.equal(o.connections, 2, "the first life, and the one after the restart: no reconnect loop");
    assert.equal(o.lost, 0);
    assert.ok(o.alive);
  });

  it("a hostile broker, 5 rounds: the process survives and the backoff never collapses", async () => {
    const o = await hostile(5);
    outcomes.push(o);
    assert.equal(o.waits.length, 4, o.notes.join("; "));
    assert.deepEqual(collapsed(o.waits), []);
    assert.ok(o.alive, "the simulator survived the hostile broker");
  });
});

process.on("exit", () => {
  if (outcomes.length) process.stdout.write(`\n${table(outcomes)}\n`);
});
