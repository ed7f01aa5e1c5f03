/**
 * End to end: the simulator's real command line, a real broker (mosquitto
 * from Debian, and the embedded aedes), and MQTT.js as the peer.
 */

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { acceptance } from "./support/acceptance";
import { launch } from "./support/child";
import { freePort, startMosquitto, waitForPort } from "./support/mosquitto";
import { connectPeer, type Peer } from "./support/peer";
import { runSim } from "./support/sim";

test("simulator on mosquitto passes the interface acceptance probe", { timeout: 60000 }, async () => {
  const broker = await startMosquitto();
  try {
    const sim = runSim(["--broker", `mqtt://127.0.0.1:${broker.port}`, "--http", "0", "--interval", "2000"]);
    await acceptance(`mqtt://127.0.0.1:${broker.port}`, sim);
  } finally {
    await broker.stop();
  }
});

test("simulator on its embedded broker passes the interface acceptance probe", { timeout: 60000 }, async () => {
  const port = await freePort();
  const sim = runSim(["--port", String(port), "--http", "0", "--interval", "2000"]);
  await sim.waitFor("broker: mqtt://");
  await acceptance(`mqtt://127.0.0.1:${port}`, sim);
});

test("the Last Will says offline when the device vanishes", { timeout: 30000 }, async () => {
  const broker = await startMosquitto();
  try {
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const sim = runSim(["--broker", url, "--http", "0", "--keepalive", "5", "--id", "will-1"]);
    const peer = await connectPeer(url, ["devices/will-1/status"]);
    try {
      await peer.next("devices/will-1/status", (m) => m.text === "online", 20000);
      const from = peer.messages.length;
      sim.child.kill("SIGKILL");
      const will = await peer.next("devices/will-1/status", (m) => m.text === "offline", 15000, from);
      assert.equal(will.text, "offline");
    } finally {
      sim.child.kill("SIGKILL");
      await peer.end();
    }
  } finally {
    await broker.stop();
  }
});

test("a bad flag, a port in use and an unreachable broker each give one clear line and a non-zero exit", {
  timeout: 30000,
}, async () => {
  const bad = runSim(["--interval", "fast"]);
  assert.notEqual(await bad.exited, 0);
  assert.match(bad.output(), /^error: bad value "fast" for "interval": expected an integer/m);

  const unknown = runSim(["--colour", "red"]);
  assert.notEqual(await unknown.exited, 0);
  assert.match(unknown.output(), /^error: unknown flag --colour/m);

  const broker = await startMosquitto();
  try {
    const busy = runSim(["--port", String(broker.port), "--http", "0"]);
    assert.equal(await busy.exited, 2);
    assert.match(busy.output(), new RegExp(`^error: MQTT port ${broker.port} on 127.0.0.1 is already in use`, "m"));
    // The dashboard's port taken: one line, no stack trace.
    const web = runSim(["--port", String(await freePort()), "--http", String(broker.port)]);
    assert.equal(await web.exited, 2);
    assert.match(
      web.output(),
      new RegExp(
        `^error: dashboard port ${broker.port} on 127.0.0.1 is already in use \\(choose another with --http\\)$`,
        "m",
      ),
    );
    assert.doesNotMatch(web.output(), /\n\s+at /, "no stack trace");
  } finally {
    await broker.stop();
  }

  const port = await freePort();
  const away = runSim(["--broker", `mqtt://127.0.0.1:${port}`, "--http", "0"]);
  assert.notEqual(await away.exited, 0);
  assert.match(away.output(), new RegExp(`^error: cannot reach broker 127.0.0.1:${port}`, "m"));
});

test("the dashboard page, its script and MQTT over WebSocket are served", { timeout: 30000 }, async () => {
  const [port, http] = [await freePort(), await freePort()];
  const sim = runSim(["--port", String(port), "--http", String(http)]);
  try {
    await sim.waitFor("dashboard http://");
    const page = await fetch(`http://127.0.0.1:${http}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>Devices<\/title>/);
    const script = await fetch(`http://127.0.0.1:${http}/main.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get("content-type") ?? "", /javascript/);
    assert.equal((await fetch(`http://127.0.0.1:${http}/../package.json`)).status, 404);
    const peer = await connectPeer(`ws://127.0.0.1:${http}/mqtt`, ["devices/sim-1/status"]);
    assert.equal((await peer.next("devices/sim-1/status", (m) => m.text === "online")).text, "online");
    await peer.end();
  } finally {
    sim.child.kill("SIGTERM");
    assert.equal(await sim.exited, 0);
  }
});

test("with --faults sensor=0.9 only valid readings are published and 3 failures in a row raise a sensor error", {
  timeout: 40000,
}, async () => {
  const port = await freePort();
  // Failures are random: at 0.9 three in a row come within the 30 s wait (about 13 reads) in all but 1 run in
  // 1,200; at 0.8 it was 1 in 60.
  const sim = runSim(["--port", String(port), "--http", "0", "--interval", "2000", "--faults", "sensor=0.9"]);
  try {
    await sim.waitFor("broker: mqtt://");
    const peer = await connectPeer(`mqtt://127.0.0.1:${port}`, ["devices/sim-1/state", "devices/sim-1/error"]);
    const error = await peer.next("devices/sim-1/error", (m) => m.text.includes('"sensor"'), 30000);
    assert.equal((JSON.parse(error.text) as { error: string }).error, "sensor");
    for (const m of peer.on("devices/sim-1/state")) {
      const { data } = JSON.parse(m.text) as { data: { temp: number; hum: number } };
      assert.deepEqual(Object.keys(data).sort(), ["hum", "temp"]);
      assert.ok(data.temp >= 0 && data.temp <= 50 && data.hum >= 20 && data.hum <= 90, m.text);
    }
    await peer.end();
  } finally {
    sim.child.kill("SIGTERM");
    assert.equal(await sim.exited, 0);
  }
  assert.match(sim.output(), /sensor errors [1-9]/);
});

test("with --faults wifi=3s the access point goes away after 3 s: the device loses its link and the broker its connection", {
  timeout: 30000,
}, async () => {
  // Coming back between drops is the chaos suite's (hosttest/chaos.test.ts): with drops every few
  // seconds a retry may keep landing in an outage, as the backoff means it to.
  const port = await freePort();
  const sim = runSim(["--port", String(port), "--http", "0", "--interval", "2000", "--faults", "wifi=3s"]);
  let peer: Peer | undefined;
  try {
    await sim.waitFor(/mqtt: connected as sim-1/, 10000);
    peer = await connectPeer(`mqtt://127.0.0.1:${port}`, ["devices/sim-1/status"]);
    await sim.waitFor(/access point gone \(fault injection\)[\s\S]*link lost/, 10000);
    // The Last Will: the broker saw the connection go with the link.
    assert.ok(await peer.next("devices/sim-1/status", (m) => m.text === "offline", 10000));
  } finally {
    await peer?.end();
    sim.child.kill("SIGTERM");
    assert.equal(await sim.exited, 0);
  }
});

test("npm start stops cleanly through npm: SIGTERM to npm reaches the simulator, exit 0, nothing left behind", {
  timeout: 30000,
}, async () => {
  const port = await freePort();
  const data = fs.mkdtempSync(path.join(os.tmpdir(), "npm-start-"));
  const run = launch("npm", ["start", "--silent", "--", "--port", String(port), "--http", "0", "--data", data], {
    cwd: path.resolve(import.meta.dirname, ".."),
    detached: true,
  });
  const npm = run.child;
  try {
    const peer = await (async () => {
      for (let i = 0; ; i++) {
        try {
          return await connectPeer(`mqtt://127.0.0.1:${port}`, ["devices/sim-1/status"], { reconnectPeriod: 0 });
        } catch (error) {
          if (i > 100) throw error;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    })();
    await peer.next("devices/sim-1/status", (m) => m.text === "online");
    await peer.end();
    npm.kill("SIGTERM");
    assert.equal(await run.exited, 0, run.output());
    assert.match(run.output(), /SIGTERM: publishing offline and disconnecting/);
    await assert.rejects(waitForPort(port, 300), "the broker's port is free: no simulator left running");
  } finally {
    try {
      process.kill(-npm.pid!, "SIGKILL"); // npm's whole group, an orphaned simulator included
    } catch {
      // already gone
    }
    fs.rmSync(data, { recursive: true, force: true });
  }
});
