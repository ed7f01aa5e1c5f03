/**
 * The interface.md acceptance probe, run against a simulator process on any
 * broker: availability, state shape, every LED command format, every kind of
 * garbage, retained LED state, clean shutdown.
 */
import assert from "node:assert/strict";
import { connectPeer, type Peer } from "./peer";
import type { SimProcess } from "./sim";

export const GOOD_COMMANDS: [string, "ON" | "OFF" | "TOGGLE"][] = [
  ["ON", "ON"],
  ["OFF", "OFF"],
  ["TOGGLE", "TOGGLE"],
  ["1", "ON"],
  ["0", "OFF"],
  ["true", "ON"],
  ["false", "OFF"],
  ["  on \n", "ON"],
  ["Off", "OFF"],
  ["toggle", "TOGGLE"],
  ["TRUE", "ON"],
  ["False", "OFF"],
  ['{"state":"ON"}', "ON"],
  ['{"state":"off"}', "OFF"],
  [' {"state" : "Toggle"} ', "TOGGLE"],
  ['{"State":"on","brightness":255}', "ON"],
];

export const BAD_COMMANDS: (string | Uint8Array)[] = [
  "",
  "   ",
  "blink",
  "2",
  "onn",
  "{",
  "[]",
  "null",
  '{"state":"blink"}',
  '{"state":1}',
  '{"state":true}',
  '{"led":"ON"}',
  '"ON"',
  "x".repeat(2000),
  new Uint8Array([0xff, 0xfe, 0x4f, 0x4e]),
];

const json = (text: string) => JSON.parse(text) as unknown;

export async function acceptance(url: string, sim: SimProcess, id = "sim-1", prefix = "devices"): Promise<void> {
  const base = `${prefix}/${id}`;
  const peer: Peer = await connectPeer(url, [`${base}/#`]);
  try {
    const status = await peer.next(`${base}/status`, (m) => m.text === "online");
    assert.equal(status.text, "online");

    // Telemetry: exactly {"data":{"temp":n,"hum":n}}, one decimal at most.
    const state = await peer.next(`${base}/state`);
    const body = json(state.text) as { data: Record<string, unknown> };
    assert.deepEqual(Object.keys(body), ["data"]);
    assert.deepEqual(Object.keys(body.data).sort(), ["hum", "temp"]);
    for (const v of Object.values(body.data)) {
      assert.equal(typeof v, "number");
      assert.ok(Math.abs((v as number) * 10 - Math.round((v as number) * 10)) < 1e-9, `${v} has more than one decimal`);
    }
    assert.equal(state.retain, false);

    // Every accepted command format: the LED state comes back, retained at QoS 1.
    let led = (await peer.next(`${base}/led`)).text;
    for (const [command, effect] of GOOD_COMMANDS) {
      const expected = effect === "TOGGLE" ? (led === "ON" ? "OFF" : "ON") : effect;
      const from = peer.messages.length;
      await peer.publish(`${base}/led/set`, command);
      const reply = await peer.next(`${base}/led`, () => true, 5000, from);
      assert.equal(reply.text, expected, `command ${JSON.stringify(command)}`);
      assert.equal(reply.qos, 1);
      led = reply.text;
    }

    // Garbage: exactly one bad-command error each, LED unchanged.
    for (const command of BAD_COMMANDS) {
      const from = peer.messages.length;
      await peer.publish(`${base}/led/set`, command);
      const error = await peer.next(`${base}/error`, () => true, 5000, from);
      const parsed = json(error.text) as { error: string; detail: string };
      assert.equal(parsed.error, "bad-command", `garbage ${JSON.stringify(command)}`);
      assert.equal(typeof parsed.detail, "string");
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(
        peer.messages.slice(from).filter((m) => m.topic === `${base}/led`).length,
        0,
        "a bad command changed the LED report",
      );
    }

    // The LED state is retained: a new subscriber sees it at once.
    const late = await connectPeer(url, [`${base}/led`, `${base}/status`]);
    try {
      const retained = await late.next(`${base}/led`, () => true, 3000);
      assert.equal(retained.retain, true);
      assert.equal(retained.text, led);
      assert.equal((await late.next(`${base}/status`, () => true, 3000)).text, "online");
    } finally {
      await late.end();
    }

    // Clean shutdown: offline published, exit 0.
    const from = peer.messages.length;
    sim.child.kill("SIGTERM");
    const offline = await peer.next(`${base}/status`, (m) => m.text === "offline", 5000, from);
    assert.equal(offline.text, "offline");
    assert.equal(await sim.exited, 0);
  } finally {
    await peer.end();
  }
}
