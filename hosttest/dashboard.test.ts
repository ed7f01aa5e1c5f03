/**
 * The dashboard end to end in real headless Chromium (Debian's chromium,
 * driven by playwright-core): the page, its chart, the LED switch checked
 * over MQTT by MQTT.js, errors, a device going offline, history across a
 * restart of the dashboard, credentials, and the simulator's live controls.
 * Screenshots at desktop and phone width go to test-output/dashboard/.
 */

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { VERSION } from "../src/version";
import { DESKTOP, outputDir, PHONE, startBrowser } from "./support/browser";
import { freePort, startMosquitto } from "./support/mosquitto";
import { connectPeer } from "./support/peer";
import { runDashboard, runSim } from "./support/sim";

const shots = outputDir("dashboard");

// Browser-side expressions are strings: this file is type-checked without the DOM.
const POINTS = `Number(document.getElementById("chart")?.dataset.points ?? 0)`;
const points = async (page: Page) => (await page.evaluate(POINTS)) as number;

test("npm run dashboard with devices on another broker: chart, switch, errors, offline, history across a restart", {
  timeout: 120000,
}, async () => {
  const broker = await startMosquitto();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashboard-"));
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const http = await freePort();
  const args = ["--broker", url, "--http", String(http), "--db", path.join(dir, "telemetry.db")];
  let dashboard = runDashboard(args);
  await dashboard.waitFor("dashboard http://"); // subscribed by then: the device's first diag is heard
  const sim = runSim(["--broker", url, "--http", "0", "--interval", "2000", "--id", "dev-1"]);
  const peer = await connectPeer(url, ["devices/dev-1/#"]);
  const browser = await startBrowser({ viewport: DESKTOP });
  const pageErrors: string[] = [];
  try {
    const page = await browser.context.newPage();
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(`http://127.0.0.1:${http}/`);
    await page.locator('tr[data-id="dev-1"]').waitFor({ timeout: 10000 });
    await page.locator("#detail .badge", { hasText: "online" }).waitFor({ timeout: 10000 });
    await page.locator("#diag dd", { hasText: VERSION }).waitFor({ timeout: 5000 }); // diag, from the first one sent

    // The chart fills as readings arrive, every 2 s.
    await page.waitForFunction(`${POINTS} >= 3`, null, { timeout: 15000 });

    // The switch sends a command; the device's own report moves it.
    const from = peer.messages.length;
    await page.click("label.switch");
    await peer.next("devices/dev-1/led", (m) => m.text === "ON", 5000, from);
    await page.waitForFunction(`document.getElementById("led").checked`, null, { timeout: 5000 });
    assert.equal(await page.textContent("#ledText"), "ON");

    // A bad command shows up as a sentence.
    await peer.publish("devices/dev-1/led/set", "purple");
    await page
      .locator("#errors li", { hasText: 'A command was not understood: unknown command "purple"' })
      .waitFor({ timeout: 5000 });
    await page.screenshot({ path: path.join(shots, "desktop.png"), fullPage: true });
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(shots, "phone.png"), fullPage: true });
    const overflow = (await page.evaluate(
      "document.documentElement.scrollWidth - document.documentElement.clientWidth",
    )) as number;
    assert.ok(overflow <= 0, `nothing wider than a phone's screen (${overflow} px too wide)`);
    await page.setViewportSize(DESKTOP);

    // The API: devices, history as JSON and CSV, both ends inclusive.
    const devices = (await (await fetch(`http://127.0.0.1:${http}/api/devices`)).json()) as {
      id: string;
      prefix: string;
      online: boolean;
      last: { t: number; temp: number; hum: number };
    }[];
    const dev = devices.find((d) => d.id === "dev-1")!;
    assert.equal(dev.prefix, "devices");
    assert.equal(dev.online, true);
    const states = peer.on("devices/dev-1/state").map((m) => JSON.parse(m.text).data);
    assert.deepEqual({ temp: dev.last.temp, hum: dev.last.hum }, states[states.length - 1]);
    const rows = (await (
      await fetch(`http://127.0.0.1:${http}/api/history?id=dev-1&from=0&to=${dev.last.t}`)
    ).json()) as { t: number }[];
    assert.ok(rows.length >= 3 && rows[rows.length - 1].t === dev.last.t, "to is inclusive");
    assert.deepEqual(
      rows.map((r) => r.t),
      [...rows.map((r) => r.t)].sort((a, b) => a - b),
      "oldest first",
    );
    const csv = await (
      await fetch(`http://127.0.0.1:${http}/api/history?id=dev-1&from=${rows[0].t}&to=${dev.last.t}&format=csv`)
    ).text();
    const lines = csv.trim().split("\n");
    assert.equal(lines[0], "t,temp,hum");
    assert.equal(lines.length - 1, rows.length, "from is inclusive");
    assert.equal((await fetch(`http://127.0.0.1:${http}/api/history?id=dev-1&from=soon`)).status, 400);

    // The device stops: it turns offline on the page.
    sim.child.kill("SIGTERM");
    assert.equal(await sim.exited, 0);
    await page.locator("#detail .badge", { hasText: "offline" }).waitFor({ timeout: 5000 });
    const shown = await points(page);
    // Its last reading (one may have come since the list above): the dashboard had it before the offline.
    const last = ((await (await fetch(`http://127.0.0.1:${http}/api/devices`)).json()) as typeof devices).find(
      (d) => d.id === "dev-1",
    )!.last;

    // The dashboard restarts: the last known state and the history are there at once.
    dashboard.child.kill("SIGTERM");
    assert.equal(await dashboard.exited, 0);
    // Its port busy: one line, exit 2.
    const busy = runDashboard(["--broker", url, "--http", String(broker.port), "--db", path.join(dir, "other.db")]);
    assert.equal(await busy.exited, 2);
    assert.match(
      busy.output(),
      new RegExp(
        `^error: dashboard port ${broker.port} on 127.0.0.1 is already in use \\(choose another with --http\\)\\n$`,
      ),
    );
    dashboard = runDashboard(args);
    await dashboard.waitFor("dashboard http://");
    await page.reload();
    await page.locator('tr[data-id="dev-1"]').waitFor({ timeout: 5000 });
    assert.equal(await page.textContent("#temp"), last.temp.toFixed(1));
    assert.equal(await page.textContent("#detail .badge"), "offline");
    await page.waitForFunction(`${POINTS} >= ${shown}`, null, { timeout: 5000 });
    assert.deepEqual(pageErrors, []);
  } finally {
    await browser.close();
    await peer.end();
    sim.child.kill("SIGKILL");
    dashboard.child.kill("SIGTERM");
    await dashboard.exited;
    await broker.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("npm start's dashboard asks for the broker's credentials and drives the simulated device", {
  timeout: 120000,
}, async () => {
  // Listening beyond loopback without credentials is warned about.
  const open = runSim(["--host", "0.0.0.0", "--port", String(await freePort()), "--http", "0"]);
  await open.waitFor(/^warning: the embedded broker listen(s)? on 0\.0\.0\.0 without credentials/m);
  open.child.kill("SIGTERM");
  await open.exited;

  const [port, http] = [await freePort(), await freePort()];
  const sim = runSim([
    "--port",
    String(port),
    "--http",
    String(http),
    "--interval",
    "2000",
    "--brokerUser",
    "maker",
    "--brokerPassword",
    "s3cret",
  ]);
  const base = `http://127.0.0.1:${http}`;
  const browser = await startBrowser({ viewport: DESKTOP, httpCredentials: { username: "maker", password: "s3cret" } });
  let peer: Awaited<ReturnType<typeof connectPeer>> | undefined;
  try {
    await sim.waitFor("dashboard http://");
    assert.doesNotMatch(sim.output(), /warning/);
    for (const p of ["/", "/api/devices", "/api/history?id=sim-1"])
      assert.equal((await fetch(base + p)).status, 401, p);
    const wrong = { authorization: `Basic ${Buffer.from("maker:nope").toString("base64")}` };
    assert.equal((await fetch(`${base}/api/devices`, { headers: wrong })).status, 401);
    await assert.rejects(
      connectPeer(`mqtt://127.0.0.1:${port}`, [], { reconnectPeriod: 0 }),
      "the broker refuses a client without them",
    );
    peer = await connectPeer(`mqtt://127.0.0.1:${port}`, ["devices/sim-1/#"], {
      username: "maker",
      password: "s3cret",
    });

    const page = await browser.context.newPage();
    await page.goto(`${base}/`);
    await page.locator("#detail .badge", { hasText: "online" }).waitFor({ timeout: 10000 });

    // Set the virtual sensor's values: the next reading carries them.
    await page.fill("#simTemp", "31.5");
    await page.fill("#simHum", "33");
    await page.click("#simSet");
    await peer.next("devices/sim-1/state", (m) => m.text === '{"data":{"temp":31.5,"hum":33}}', 6000);
    await page.locator("#temp", { hasText: "31.5" }).waitFor({ timeout: 5000 });
    await page.screenshot({ path: path.join(shots, "simulator.png"), fullPage: true });

    // Stop the embedded broker: the page says so; start it: the device comes back.
    const stopped = peer.messages.length;
    await page.click("#brokerToggle");
    await page.locator("#broker", { hasText: "broker unreachable" }).waitFor({ timeout: 5000 });
    await page.click("#brokerToggle");
    await page.locator("#broker", { hasText: "broker connected" }).waitFor({ timeout: 10000 });
    await peer.next("devices/sim-1/status", (m) => m.text === "online", 15000, stopped);

    // Reboot: offline, then online again, the LED as it was.
    const from = peer.messages.length;
    await page.click("#simReboot");
    await peer.next("devices/sim-1/status", (m) => m.text === "offline", 5000, from);
    await peer.next("devices/sim-1/status", (m) => m.text === "online", 10000, from);
    await page.locator("#simInfo", { hasText: "1 reboots" }).waitFor({ timeout: 5000 });
    // Bad values for the controls are refused with a sentence.
    const refused = await fetch(`${base}/api/sim/device`, {
      method: "POST",
      headers: { authorization: `Basic ${Buffer.from("maker:s3cret").toString("base64")}` },
      body: '{"id":"sim-1","faultRate":2}',
    });
    assert.equal(refused.status, 400);
    assert.deepEqual(await refused.json(), { error: "faultRate must be a number from 0 to 1" });
  } finally {
    await peer?.end();
    await browser.close();
    sim.child.kill("SIGTERM");
    assert.equal(await sim.exited, 0);
  }
});
