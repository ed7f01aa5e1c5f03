/**
 * Firmware updates end to end: the simulator's real command line on its
 * embedded broker, MQTT.js as the peer, and an HTTP server in the test
 * serving images built like `npm run image` builds them (whole, slowly,
 * truncated, with a wrong digest, a closed port, one that never reaches the
 * broker). The old version must keep running after every failure; a good
 * image ends `done` with the new version in diag and discovery; a second
 * request during a slow download is refused `busy` while the first
 * completes and LED commands are still obeyed; a `--fault boot` image is
 * rolled back. The trial window is shortened to 3 s here through the
 * test-only SIM_UPDATE_WINDOW_MS (the 2-minute contract is drilled by
 * `npm run ota:drill`).
 */

import assert from "node:assert/strict";
import crypto from "node:crypto";
import { test } from "node:test";
import { buildImage } from "../sim/image-format";
import { VERSION } from "../src/version";
import { serveImages } from "./support/image-server";
import { freePort } from "./support/mosquitto";
import { connectPeer, type Received } from "./support/peer";
import { runSim } from "./support/sim";

const ID = "ota-1";
const BASE = `devices/${ID}`;
const SIZE = 192 * 1024;
const sha256 = (bytes: Uint8Array): string => crypto.createHash("sha256").update(bytes).digest("hex");
const json = (m: Received): Record<string, unknown> => JSON.parse(m.text) as Record<string, unknown>;

test("firmware updates in the simulator: failures keep the old version, a good image ends done, busy, rollback", {
  timeout: 90000,
}, async () => {
  const good = buildImage({ version: "0.2.0", size: SIZE });
  const fault = buildImage({ version: "0.3.0", size: SIZE, faultBoot: true });
  const server = await serveImages({
    "/good.bin": { body: good },
    "/slow.bin": { body: good, bytesPerTick: 4096, tickMs: 50 },
    "/truncated.bin": { body: good, truncateAt: SIZE / 2 },
    "/fault.bin": { body: fault },
  });
  const closed = await freePort();
  const port = await freePort();
  const sim = runSim(["--port", String(port), "--http", "0", "--id", ID, "--interval", "60000"], {
    SIM_UPDATE_WINDOW_MS: "3000",
  });
  const peer = await (async () => {
    await sim.waitFor("broker: mqtt://");
    return connectPeer(`mqtt://127.0.0.1:${port}`, [`${BASE}/#`, `homeassistant/+/${ID}/#`]);
  })();
  const ota = (from: number, match: (m: Record<string, unknown>) => boolean, ms = 10000) =>
    peer.next(`${BASE}/ota`, (m) => match(json(m)), ms, from).then(json);
  const request = async (fields: Record<string, unknown>) => {
    const from = peer.messages.length;
    await peer.publish(`${BASE}/ota/set`, JSON.stringify(fields));
    return from;
  };
  const restarts = () => peer.messages.filter((m) => m.topic === `${BASE}/status` && m.text === "offline").length;
  try {
    await peer.next(`${BASE}/status`, (m) => m.text === "online");
    // (The first diag may leave before the peer subscribed: it is QoS 0, not retained; discovery is retained.)
    const sw = json(await peer.next(`homeassistant/sensor/${ID}/temperature/config`)).device as Record<string, unknown>;
    assert.equal(sw.sw_version, VERSION);

    // The version already running: done, nothing downloaded, no restart.
    let from = await request({ url: server.url("/good.bin"), sha256: sha256(good), version: VERSION });
    assert.deepEqual(await ota(from, () => true), { state: "done", version: VERSION });
    const answer = peer.messages.slice(from).find((m) => m.topic === `${BASE}/ota`)!;
    assert.equal(answer.qos, 1);
    assert.equal(answer.retain, false);
    assert.equal(server.hits.get("/good.bin") ?? 0, 0);

    // A closed port, a wrong digest, a truncated download: failed, the old version runs on.
    from = await request({ url: `http://127.0.0.1:${closed}/good.bin`, sha256: sha256(good), version: "0.2.0" });
    let failed = await ota(from, (a) => a.state === "failed");
    assert.equal(failed.error, "unreachable");
    assert.match(String(failed.detail), /refused/);

    from = await request({ url: server.url("/good.bin"), sha256: sha256(fault), version: "0.2.0" });
    failed = await ota(from, (a) => a.state === "failed");
    assert.equal(failed.error, "digest-mismatch");
    const states = peer.messages
      .slice(from)
      .filter((m) => m.topic === `${BASE}/ota`)
      .map((m) => json(m).state);
    assert.deepEqual([states[0], states[states.length - 2]], ["downloading", "verifying"]);

    from = await request({ url: server.url("/truncated.bin"), sha256: sha256(good), version: "0.2.0" });
    failed = await ota(from, (a) => a.state === "failed");
    assert.equal(failed.error, "truncated");
    assert.equal(failed.version, "0.2.0");

    from = await request({ url: server.url("/missing.bin"), sha256: sha256(good), version: "0.2.0" });
    assert.equal((await ota(from, (a) => a.state === "failed")).error, "http-error");
    assert.equal(restarts(), 0, "no failure restarted the device");

    // A good image, slowly: a second request is busy, LED commands are obeyed meanwhile, the first ends done.
    from = await request({ url: server.url("/slow.bin"), sha256: sha256(good), version: "0.2.0" });
    await ota(from, (a) => a.state === "downloading" && Number(a.progress) >= 10);
    const second = await request({ url: server.url("/good.bin"), sha256: sha256(good), version: "0.9.0" });
    const busy = await ota(second, (a) => a.version === "0.9.0");
    assert.equal(busy.state, "failed");
    assert.equal(busy.error, "busy");
    const led = peer.messages.length;
    await peer.publish(`${BASE}/led/set`, "TOGGLE");
    await peer.next(`${BASE}/led`, () => true, 5000, led);
    assert.ok(
      !peer.messages.slice(from).some((m) => m.topic === `${BASE}/ota` && json(m).state === "rebooting"),
      "the LED answered while the image was still downloading",
    );
    const progress = peer.messages
      .slice(from)
      .filter((m) => m.topic === `${BASE}/ota` && json(m).state === "downloading")
      .map((m) => Number(json(m).progress));
    await ota(from, (a) => a.state === "rebooting", 15000);
    assert.deepEqual(await ota(from, (a) => a.state === "done", 15000), { state: "done", version: "0.2.0" });
    assert.equal(restarts(), 1, "one restart");
    assert.ok(progress.length <= 11);
    const after = peer.messages.length - 1;
    assert.equal(
      json(await peer.next(`${BASE}/diag`, () => true, 5000, from)).version,
      "0.2.0",
      "diag names the new version",
    );
    const discovery = json(await peer.next(`homeassistant/light/${ID}/led/config`, () => true, 5000, from))
      .device as Record<string, unknown>;
    assert.equal(discovery.sw_version, "0.2.0", "discovery names the new version");
    assert.ok(after > from);
    assert.equal(server.hits.get("/good.bin") ?? 0, 1, "the busy request downloaded nothing");

    // The same version again: done at once, no restart.
    from = await request({ url: server.url("/good.bin"), sha256: sha256(good), version: "0.2.0" });
    assert.deepEqual(await ota(from, () => true), { state: "done", version: "0.2.0" });

    // An image that never reaches the broker: installed, then rolled back after the window.
    from = await request({ url: server.url("/fault.bin"), sha256: sha256(fault), version: "0.3.0" });
    await ota(from, (a) => a.state === "rebooting");
    const rolled = await ota(from, (a) => a.state === "rolled-back", 20000);
    assert.deepEqual(rolled, { state: "rolled-back", version: "0.2.0" });
    assert.equal(
      json(await peer.next(`${BASE}/diag`, () => true, 5000, from)).version,
      "0.2.0",
      "the previous version runs again",
    );
    assert.match(sim.output(), /did not reach the broker within 3 s/);
    assert.match(sim.output(), /back to slot/);
  } finally {
    await peer.end();
    sim.child.kill("SIGTERM");
    await sim.exited;
    await server.close();
    if (process.env.SHOW_SIM) process.stdout.write(sim.output());
  }
});

test("a firmware image posted to the device's page (POST /update) installs like ota/set", {
  timeout: 60000,
}, async () => {
  const image = buildImage({ version: "0.5.0", size: SIZE });
  const [port, web] = [await freePort(), await freePort()];
  const id = "web-ota-1";
  const sim = runSim([
    "--port",
    String(port),
    "--http",
    "0",
    "--id",
    id,
    "--interval",
    "60000",
    "--web",
    String(web),
    "--webPassword",
    "pw",
  ]);
  let peer: Awaited<ReturnType<typeof connectPeer>> | undefined;
  try {
    await sim.waitFor("broker: mqtt://");
    peer = await connectPeer(`mqtt://127.0.0.1:${port}`, [`devices/${id}/#`, `homeassistant/sensor/${id}/#`]);
    await peer.next(`devices/${id}/status`, (m) => m.text === "online");
    await sim.waitFor(`serving on port ${web}`);
    const url = `http://127.0.0.1:${web}/update?sha256=${sha256(image)}`;
    const auth = { authorization: `Basic ${Buffer.from("admin:pw").toString("base64")}` };
    assert.equal(
      (await fetch(url, { method: "POST", body: image.subarray(0, 1000) })).status,
      401,
      "the web password is needed",
    );
    const wrong = await fetch(`http://127.0.0.1:${web}/update?sha256=${sha256(image.subarray(1))}`, {
      method: "POST",
      body: image,
      headers: auth,
    });
    assert.equal(wrong.status, 422);
    assert.equal(((await wrong.json()) as { error: string }).error, "digest-mismatch");
    const from = peer.messages.length;
    const answer = await fetch(url, {
      method: "POST",
      body: image,
      headers: { ...auth, "content-type": "application/octet-stream" },
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(await answer.json(), { state: "rebooting", version: "0.5.0" });
    const done = await peer.next(`devices/${id}/ota`, (m) => json(m).state === "done", 15000, from);
    assert.equal(json(done).version, "0.5.0");
    const discovery = await peer.next(`homeassistant/sensor/${id}/temperature/config`, () => true, 10000, from);
    assert.equal((json(discovery).device as Record<string, unknown>).sw_version, "0.5.0");
    const state = (await (await fetch(`http://127.0.0.1:${web}/state.json`)).json()) as { version: string };
    assert.equal(state.version, "0.5.0");
  } finally {
    await peer?.end();
    sim.child.kill("SIGTERM");
    await sim.exited;
  }
});
