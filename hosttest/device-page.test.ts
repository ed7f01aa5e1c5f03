/**
 * The device's own page in Debian's Chromium, served by the simulator with
 * `--web`: the reading, the LED switch, diag, a settings change that restarts
 * the device into it, a refused value, at desktop and phone width, and the
 * set-up banner of a device started with `--setup`. Screenshots go to
 * test-output/device-page/.
 */

import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import type { Page } from "playwright-core";
import { DESKTOP, outputDir, PHONE, startBrowser } from "./support/browser";
import { freePort } from "./support/mosquitto";
import { runSim, type SimProcess } from "./support/sim";
import { call, freePortRun } from "./support/web";

const shots = outputDir("device-page");
const PASSWORD = "page-pw-1";

async function stop(sim: SimProcess): Promise<void> {
  sim.child.kill("SIGTERM");
  await sim.exited;
}

/** Nothing is wider than the window (no sideways scrolling on a phone). */
async function fitsWidth(page: Page): Promise<void> {
  // Runs in the page: the DOM's globals are not in this file's types.
  const [scroll, width] = (await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")) as [
    number,
    number,
  ];
  assert.ok(scroll <= width, `the page is ${scroll} px wide in a ${width} px window`);
}

// Side by side: each runs its own simulator (and browser) on its own ports.
describe("the device page in Chromium", { concurrency: true }, () => {
  it("the device page in Chromium: reading, LED switch, diag, settings with a restart, at desktop and phone width", {
    timeout: 60000,
  }, async () => {
    const [mqttPort, web] = [await freePort(), await freePortRun(1)];
    const sim = runSim([
      "--port",
      String(mqttPort),
      "--http",
      "0",
      "--interval",
      "2000",
      "--web",
      String(web),
      "--webPassword",
      PASSWORD,
    ]);
    const url = `http://127.0.0.1:${web}/`;
    const errors: string[] = [];
    try {
      await sim.waitFor("mqtt: connected as sim-1");
      for (const [name, viewport] of [
        ["desktop", DESKTOP],
        ["phone", PHONE],
      ] as const) {
        const browser = await startBrowser({ viewport, httpCredentials: { username: "admin", password: PASSWORD } });
        try {
          const page = await browser.context.newPage();
          page.on("pageerror", (e) => errors.push(`${name}: ${e.message}`));
          page.on("console", (m) => {
            // The refused value below is answered 400 on purpose.
            if (m.type() === "error" && !/status of 400/.test(m.text())) errors.push(`${name}: console: ${m.text()}`);
          });
          await page.goto(url);
          await page.locator("#id", { hasText: "sim-1" }).waitFor();
          await page.locator("#mqtt", { hasText: "online" }).waitFor();
          await page.locator("#temp", { hasText: "°C" }).waitFor({ timeout: 10000 });
          assert.match((await page.locator("#hum").textContent()) ?? "", /%RH$/);
          assert.match((await page.locator("#age").textContent()) ?? "", /ago$/);
          await page.locator("#diag dt", { hasText: "version" }).waitFor();
          await page.locator("#f-apPassword").waitFor(); // the form is filled from /settings.json after the first poll
          assert.equal(
            (await page.locator("#settings input, #settings select").count()) >= 24,
            true,
            "a field for every key",
          );
          assert.equal(await page.locator("#f-webPassword").getAttribute("type"), "password");
          assert.equal(await page.locator("#f-webPassword").inputValue(), "", "passwords are never filled in");
          assert.equal(await page.locator("#f-webPassword").getAttribute("placeholder"), "set (leave empty to keep)");
          await fitsWidth(page);

          // The LED switch, checked against the device's API.
          const before = (await call(`${url}state.json`)).json().led;
          await page.locator(".switch").click();
          const want = before === "ON" ? "OFF" : "ON";
          await page.locator("#ledText", { hasText: want }).waitFor();
          assert.equal((await call(`${url}state.json`)).json().led, want);
          await page.screenshot({
            path: path.join(shots, `${name}.png`),
            fullPage: name === "phone",
            animations: "disabled",
          });

          if (name === "desktop") {
            // A refused value: the device's own message, nothing kept.
            await page.fill("#f-interval", "500");
            await page.click("#settings button[type=submit]");
            await page.locator("#formResult.error", { hasText: 'bad value "500" for "interval"' }).waitFor();
            // A good one: kept, the device restarts into it, and the page follows.
            await page.fill("#f-interval", "3000");
            await page.click("#settings button[type=submit]");
            await page.locator("#formResult", { hasText: "Saved interval." }).waitFor();
            await page
              .locator("#formResult", { hasText: "Restarted with the new settings." })
              .waitFor({ timeout: 15000 });
            assert.equal(await page.locator("#f-interval").inputValue(), "3000");
            assert.equal(await page.locator("label:has(#f-interval) .kept").count(), 1, "marked as saved here");
            await page.screenshot({
              path: path.join(shots, "desktop-saved.png"),
              fullPage: true,
              animations: "disabled",
            });
          }
        } finally {
          await browser.close();
        }
      }
      assert.match(sim.output(), /sim-1: store: applied interval=3000/);
      assert.deepEqual(errors, []);
    } finally {
      await stop(sim);
    }
  });

  it("the device page in set-up mode on a phone: the banner, and Wi-Fi first", { timeout: 30000 }, async () => {
    const [mqttPort, web] = [await freePort(), await freePortRun(1)];
    const sim = runSim(["--port", String(mqttPort), "--http", "0", "--web", String(web), "--setup"]);
    try {
      await sim.waitFor("wifi: set-up mode");
      const browser = await startBrowser({ viewport: PHONE });
      try {
        const page = await browser.context.newPage();
        await page.goto(`http://127.0.0.1:${web}/`);
        await page.locator("#setup").waitFor({ state: "visible" });
        await page.locator("#mqtt", { hasText: "offline" }).waitFor();
        await page.locator("#f-apPassword").waitFor();
        assert.equal(await page.locator("#fields legend").first().textContent(), "Wi-Fi");
        await fitsWidth(page);
        await page.screenshot({ path: path.join(shots, "phone-setup.png"), fullPage: true, animations: "disabled" });
        await page.fill("#f-ssid", "Home Net");
        await page.fill("#f-password", "wifi-pass-1");
        await page.click("#settings button[type=submit]");
        await page.locator("#formResult", { hasText: "Restarted with the new settings." }).waitFor({ timeout: 15000 });
        await page.locator("#mqtt", { hasText: "online" }).waitFor({ timeout: 10000 });
        await page.locator("#setup").waitFor({ state: "hidden" });
      } finally {
        await browser.close();
      }
    } finally {
      await stop(sim);
    }
  });
});
