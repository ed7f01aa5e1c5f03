/**
 * A virtual device restarted in place (as the web page's settings and a new
 * firmware do): it goes offline cleanly, boots again with what it keeps, and
 * comes back online with its LED as the user left it.
 */

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { startBroker } from "../sim/broker";
import { createDevice } from "../sim/device";
import { buildConfig } from "../src/app/config";
import { freePort } from "./support/mosquitto";
import { connectPeer } from "./support/peer";

test("a virtual device restarts in place, keeping its LED state and settings", { timeout: 20000 }, async () => {
  const broker = await startBroker({ port: await freePort() });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "sim-restart-"));
  const peer = await connectPeer(`mqtt://127.0.0.1:${broker.port}`, ["devices/r-1/#"]);
  const { config } = buildConfig({ interval: 2000 });
  const device = createDevice(
    config,
    "r-1",
    { tls: false, host: "127.0.0.1", port: broker.port },
    { dataDir, faults: { sensor: 0, wifi: 0 } },
    () => {},
  );
  try {
    await peer.next("devices/r-1/status", (m) => m.text === "online");
    await peer.publish("devices/r-1/led/set", "ON");
    await peer.next("devices/r-1/led", (m) => m.text === "ON");
    await peer.publish("devices/r-1/config/set", '{"interval":3000}');
    await peer.next("devices/r-1/config", (m) => m.text.includes("3000"));
    const first = device.app;
    const from = peer.messages.length;
    await device.restart();
    assert.notEqual(device.app, first, "a new app after the restart");
    assert.equal(device.restarts, 1);
    await peer.next("devices/r-1/status", (m) => m.text === "offline", 5000, from);
    await peer.next("devices/r-1/status", (m) => m.text === "online", 5000, from);
    await peer.next("devices/r-1/led", (m) => m.text === "ON", 5000, from);
    assert.equal(device.led.value, 1, "the LED restored after the restart");
    assert.equal(device.app.config.interval, 3000, "the stored interval applied after the restart");
  } finally {
    await device.stop();
    await peer.end();
    await broker.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
