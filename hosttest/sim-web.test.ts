/**
 * End to end: the simulator's real command line with `--web`, `--webPassword`
 * and `--setup`, its embedded broker, MQTT.js as the peer and Node's HTTP
 * client: every route and field, the LED and settings round trips (a restart
 * into the new settings, and a reset), 400/401/404/405, no password ever in
 * an answer, and the set-up flow ending online.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { freePort } from "./support/mosquitto";
import { connectPeer, type Peer } from "./support/peer";
import { runSim, type SimProcess } from "./support/sim";
import { call, freePortRun, until } from "./support/web";
import { STATE_KEYS } from "./unit/interface";

const WEB_PASSWORD = "pw-Zq81";
const MQTT_PASSWORD = "mq-Xv22";
const AUTH = `admin:${WEB_PASSWORD}`;

async function stop(sim: SimProcess): Promise<void> {
  sim.child.kill("SIGTERM");
  assert.equal(await sim.exited, 0);
}

// Side by side: each runs its own simulator (and browser) on its own ports.
describe("the simulator's device pages (--web, --webPassword, --setup)", { concurrency: true }, () => {
  it("--web with --webPassword: every route, the LED and settings round trips, a restart into new settings and a reset", {
    timeout: 60000,
  }, async () => {
    const [mqttPort, web] = [await freePort(), await freePortRun(2)];
    const sim = runSim([
      "--port",
      String(mqttPort),
      "--http",
      "0",
      "--devices",
      "2",
      "--interval",
      "2000",
      "--web",
      String(web),
      "--webPassword",
      WEB_PASSWORD,
      "--mqttUser",
      "u",
      "--mqttPassword",
      MQTT_PASSWORD,
    ]);
    let peer: Peer | undefined;
    try {
      await sim.waitFor("broker: mqtt://");
      peer = await connectPeer(`mqtt://127.0.0.1:${mqttPort}`, ["devices/#"]);
      const base = `http://127.0.0.1:${web}`;
      await peer.next("devices/sim-1/status", (m) => m.text === "online");
      const everything: string[] = [];
      const seen = <T extends { text: string }>(a: T): T => {
        everything.push(a.text);
        return a;
      };

      // Device i on P+i-1, each with exactly the interface's keys.
      for (const [i, id] of ["sim-1", "sim-2"].entries()) {
        const state = seen(
          await until(`http://127.0.0.1:${web + i}/state.json`, (a) => a.status === 200 && a.json().temp !== null),
        );
        assert.match(String(state.headers["content-type"]), /^application\/json/);
        const s = state.json();
        assert.deepEqual(Object.keys(s), STATE_KEYS);
        assert.equal(s.id, id);
        assert.equal(typeof s.version, "string");
        for (const key of ["temp", "hum", "readingAge", "uptime", "rssi", "heap", "buffered", "dropped"])
          assert.equal(typeof s[key], "number", key);
        assert.equal(s.mqtt, "online");
        assert.ok(s.led === "ON" || s.led === "OFF");
      }

      const page = seen(await call(`${base}/`));
      assert.equal(page.status, 200);
      assert.match(String(page.headers["content-type"]), /^text\/html/);
      assert.match(page.text, /<title>/);
      const gz = await call(`${base}/`, { headers: { "accept-encoding": "gzip" } });
      assert.equal(gz.headers["content-encoding"], "gzip");
      const diag = seen(await call(`${base}/diag.json`)).json<{
        diag: Record<string, unknown>;
        errors: unknown[];
        setup: boolean;
      }>();
      assert.equal(diag.setup, false);
      assert.equal(typeof diag.diag.reconnects, "number");
      const settings = seen(await call(`${base}/settings.json`)).json<{
        values: Record<string, unknown>;
        secrets: Record<string, boolean>;
      }>();
      assert.deepEqual(settings.secrets, { password: false, mqttPassword: true, webPassword: true, apPassword: false });
      assert.equal(settings.values.interval, 2000);
      assert.equal(settings.values.web, web);

      // LED: 401 without the password, every format with it, seen on MQTT too.
      const refused = seen(await call(`${base}/led`, { body: "ON" }));
      assert.equal(refused.status, 401);
      assert.match(String(refused.headers["www-authenticate"]), /^Basic realm="sim-1"/);
      assert.equal(seen(await call(`${base}/led`, { body: "ON", auth: "admin:wrong" })).status, 401);
      let led = (await call(`${base}/state.json`)).json().led as string;
      for (const [body, effect] of [
        ["ON", "ON"],
        ["toggle", "TOGGLE"],
        ['{"state":"off"}', "OFF"],
        ["1", "ON"],
        ["false", "OFF"],
      ]) {
        const expected = effect === "TOGGLE" ? (led === "ON" ? "OFF" : "ON") : effect;
        const from: number = peer.messages.length;
        const a = seen(await call(`${base}/led`, { body, auth: AUTH, headers: { "content-type": "text/plain" } }));
        assert.equal(a.status, 200, a.text);
        assert.deepEqual(a.json(), { led: expected });
        assert.equal((await peer.next("devices/sim-1/led", () => true, 5000, from)).text, expected);
        assert.equal((await call(`${base}/state.json`)).json().led, expected);
        led = expected;
      }
      const bad = seen(await call(`${base}/led`, { body: "blink", auth: AUTH }));
      assert.equal(bad.status, 400);
      assert.match(bad.text, /^unknown command "blink": expected ON, OFF, TOGGLE/);

      // Settings: 400 with the configuration's message, nothing changes.
      const fast = seen(await call(`${base}/settings`, { body: "interval=fast", auth: AUTH }));
      assert.equal(fast.status, 400);
      assert.equal(
        fast.text.trim(),
        'bad value "fast" for "interval": expected an integer number of ms from 1000 to 86400000',
      );
      assert.equal(seen(await call(`${base}/settings`, { body: "colour=red", auth: AUTH })).status, 400);
      assert.equal(seen(await call(`${base}/settings`, { body: "apPassword=short", auth: AUTH })).status, 400);
      assert.equal(seen(await call(`${base}/settings`, { body: "interval=3000" })).status, 401);
      assert.equal(seen(await call(`${base}/nothing-here`)).status, 404);
      assert.equal(seen(await call(`${base}/state.json`, { method: "DELETE" })).status, 405);

      // A change: kept, answered, then the device restarts into it (offline, online again) by itself.
      const from: number = peer.messages.length;
      const saved = seen(
        await call(`${base}/settings`, {
          body: JSON.stringify({ interval: 3000, qos: 0 }),
          auth: AUTH,
          headers: { "content-type": "application/json" },
        }),
      );
      assert.equal(saved.status, 200, saved.text);
      assert.deepEqual(saved.json(), { saved: ["interval", "qos"], restart: true });
      await peer.next("devices/sim-1/status", (m) => m.text === "offline", 5000, from);
      await peer.next("devices/sim-1/status", (m) => m.text === "online", 10000, from);
      const after = await until(`${base}/settings.json`, (a) => a.status === 200);
      const values = after.json<{ values: Record<string, unknown>; kept: string[] }>();
      assert.equal(values.values.interval, 3000);
      assert.equal(values.values.qos, 0);
      assert.deepEqual(values.kept.sort(), ["interval", "qos"]);
      const telemetry = await peer.next("devices/sim-1/state", () => true, 10000, peer.messages.length);
      assert.equal(telemetry.qos, 0, "the new qos is in effect");
      assert.match(sim.output(), /sim-1: store: applied interval=3000, qos=0/);
      assert.equal(
        (await call(`http://127.0.0.1:${web + 1}/settings.json`)).json<{ values: { interval: number } }>().values
          .interval,
        2000,
        "sim-2 unchanged",
      );

      // Reset: back to the command line's settings, after another restart.
      const again: number = peer.messages.length;
      const reset = seen(await call(`${base}/settings`, { body: "reset=true", auth: AUTH }));
      assert.deepEqual(reset.json(), { reset: true, restart: true });
      await peer.next("devices/sim-1/status", (m) => m.text === "online", 10000, again);
      const back = (await until(`${base}/settings.json`, (a) => a.status === 200)).json<{
        values: Record<string, unknown>;
        kept: string[];
      }>();
      assert.equal(back.values.interval, 2000);
      assert.equal(back.values.qos, 1);
      assert.deepEqual(back.kept, []);

      for (const text of everything)
        for (const secret of [WEB_PASSWORD, MQTT_PASSWORD])
          assert.equal(text.indexOf(secret), -1, `${secret} in ${text}`);
      for (const secret of [WEB_PASSWORD, MQTT_PASSWORD])
        assert.equal(sim.output().indexOf(secret), -1, `${secret} in the simulator's output`);
    } finally {
      await peer?.end();
      await stop(sim);
    }
  });

  it("--setup: unprovisioned in set-up mode (captive portal), an ssid from the page brings it online", {
    timeout: 30000,
  }, async () => {
    const [mqttPort, web] = [await freePort(), await freePortRun(1)];
    const sim = runSim(["--port", String(mqttPort), "--http", "0", "--web", String(web), "--setup"]);
    let peer: Peer | undefined;
    try {
      await sim.waitFor("broker: mqtt://");
      peer = await connectPeer(`mqtt://127.0.0.1:${mqttPort}`, ["devices/#"]);
      const base = `http://127.0.0.1:${web}`;
      await sim.waitFor(/wifi: set-up mode \(no Wi-Fi network is configured\): access point "sim-1-setup" \(open\)/);
      const state = (await until(`${base}/state.json`, (a) => a.status === 200)).json();
      assert.equal(state.mqtt, "offline");
      assert.equal((await call(`${base}/diag.json`)).json().setup, true);
      const probe = await call(`${base}/generate_204`, { headers: { host: "connectivitycheck.gstatic.com" } });
      assert.equal(probe.status, 302);
      assert.equal(probe.headers.location, "/");
      assert.equal((await call(`${base}/`)).status, 200);
      assert.equal(peer.on("devices/sim-1/status").length, 0, "nothing on MQTT before it is provisioned");

      const saved = await call(`${base}/settings`, { body: "ssid=Home+Net&password=wifi-pass-1" });
      assert.equal(saved.status, 200, saved.text);
      await peer.next("devices/sim-1/status", (m) => m.text === "online", 10000);
      const online = (await until(`${base}/state.json`, (a) => a.status === 200 && a.json().mqtt === "online")).json();
      assert.equal(online.id, "sim-1");
      assert.equal((await call(`${base}/diag.json`)).json().setup, false);
      assert.match(sim.output(), /wifi: connecting to "Home Net"/);
      assert.equal(sim.output().indexOf("wifi-pass-1"), -1);
    } finally {
      await peer?.end();
      await stop(sim);
    }
  });
});
