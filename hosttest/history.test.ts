/**
 * The dashboard's history store, one contract run against SQLite (a file)
 * and a real PostgreSQL server; and how the fleet reads the devices' topics.
 */

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { Fleet, parseState } from "../sim/dashboard/fleet";
import { type DeviceInfo, type HistoryStore, openStore } from "../sim/history/store";
import { type Postgres, startPostgres } from "./support/postgres";

let postgres: Postgres;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "history-"));

before(async () => {
  postgres = await startPostgres();
});

after(async () => {
  await postgres?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const T0 = Date.UTC(2026, 0, 1);

function info(id: string, online: boolean): DeviceInfo {
  return {
    id,
    prefix: "devices",
    online,
    led: "ON",
    diag: { uptime: 5 },
    config: null,
    ota: null,
    errors: [{ t: T0, error: "sensor", detail: "timeout" }],
    seen: T0,
  };
}

async function contract(store: HistoryStore): Promise<void> {
  try {
    await store.add([
      { id: "a", t: T0 + 2000, temp: 22.3, hum: 41 },
      { id: "a", t: T0, temp: 21.5, hum: 40 },
      { id: "b", t: T0 + 1000, temp: -3.2, hum: 99.9 },
      { id: "a", t: T0 + 1000, temp: 22, hum: 40.5 },
    ]);
    // A replayed reading resent (same device and capture time) is kept once.
    await store.add([{ id: "a", t: T0 + 2000, temp: 22.3, hum: 41 }]);
    assert.deepEqual(
      await store.range("a", T0, T0 + 2000),
      [
        { t: T0, temp: 21.5, hum: 40 },
        { t: T0 + 1000, temp: 22, hum: 40.5 },
        { t: T0 + 2000, temp: 22.3, hum: 41 },
      ],
      "both ends inclusive, oldest first, one decimal kept exactly",
    );
    assert.deepEqual(await store.range("a", T0 + 1, T0 + 1999), [{ t: T0 + 1000, temp: 22, hum: 40.5 }]);
    assert.deepEqual(await store.range("b", T0, T0 + 5000), [{ t: T0 + 1000, temp: -3.2, hum: 99.9 }]);
    assert.deepEqual(await store.range("nobody", 0, T0 * 2), []);
    const latest = await store.latest();
    assert.deepEqual(Object.fromEntries(latest), {
      a: { t: T0 + 2000, temp: 22.3, hum: 41 },
      b: { t: T0 + 1000, temp: -3.2, hum: 99.9 },
    });

    await store.saveDevice(info("a", true));
    await store.saveDevice(info("a", false));
    await store.saveDevice(info("b", true));
    assert.deepEqual(await store.devices(), [info("a", false), info("b", true)]);

    assert.equal(await store.prune(T0 + 1000), 1);
    assert.deepEqual(
      (await store.range("a", 0, T0 * 2)).map((r) => r.t),
      [T0 + 1000, T0 + 2000],
    );
  } finally {
    await store.close();
  }
}

test("the SQLite store keeps readings and devices", async () => {
  const file = path.join(dir, "sub", "telemetry.db");
  await contract(await openStore(file));
  // What it kept is there after reopening.
  const again = await openStore(file);
  try {
    assert.equal((await again.range("a", 0, T0 * 2)).length, 2);
    assert.equal((await again.devices()).length, 2);
  } finally {
    await again.close();
  }
});

test("the PostgreSQL store keeps readings and devices", { timeout: 30000 }, async () => {
  await contract(await openStore(postgres.url));
});

test("a PostgreSQL server that cannot be reached is one clear error, password hidden", { timeout: 30000 }, async () => {
  const url = postgres.url.replace("test@", "test:secret@").replace(/:(\d+)\//, ":1/");
  await assert.rejects(openStore(url), (error: Error) => {
    assert.match(
      error.message,
      /^cannot open the history database postgres:\/\/test:\*\*\*@127\.0\.0\.1:1\/telemetry: /,
    );
    assert.doesNotMatch(error.message, /secret/);
    return true;
  });
});

test("a state payload gives a reading at its capture time when it has one", () => {
  assert.deepEqual(parseState('{"data":{"temp":23.5,"hum":41}}', 5000), {
    t: 5000,
    temp: 23.5,
    hum: 41,
    led: undefined,
  });
  assert.deepEqual(parseState('{"time":1700000000123,"data":{"temp":-1,"hum":0}}', 5000), {
    t: 1700000000123,
    temp: -1,
    hum: 0,
    led: undefined,
  });
  assert.deepEqual(parseState('{"data":{"temp":20,"hum":50,"led":"ON"}}', 1), { t: 1, temp: 20, hum: 50, led: "ON" });
  for (const bad of [
    "",
    "null",
    "[]",
    '{"data":1}',
    '{"data":{"temp":"20","hum":1}}',
    '{"data":{"temp":20}}',
    "{not json",
  ]) {
    assert.equal(parseState(bad, 1), undefined, bad);
  }
});

test("the fleet follows each device's topics and stores its readings", async () => {
  const store = await openStore(":memory:");
  const events: string[] = [];
  let now = T0;
  const fleet = new Fleet(
    store,
    { reading: (id, r) => events.push(`reading ${id} ${r.t}`), device: (d) => events.push(`device ${d.id}`) },
    () => {},
    () => now,
  );
  const put = (topic: string, text: string) => fleet.message(topic, Buffer.from(text));
  put("devices/d1/status", "online");
  put("devices/d1/led", "ON");
  put("devices/d1/state", '{"data":{"temp":20.5,"hum":40}}');
  now += 1000;
  put("devices/d1/state", `{"time":${T0 - 60000},"data":{"temp":19,"hum":45}}`); // replayed, older
  put("devices/d1/error", '{"error":"bad-command","detail":"unknown command \\"x\\""}');
  put("devices/d1/diag", '{"uptime":7}');
  put("home/d2/status", "offline");
  put("home/floor/d9/status", "online"); // not <prefix>/<id>/<kind>
  put("losant/d3/state", '{"data":{"temp":1,"hum":2,"led":"OFF"}}');
  put("homeassistant/sensor/d1/temperature/config", "{}"); // not a device topic
  put("devices/d1/led", "maybe"); // ignored
  put("devices/d1/state", "garbage"); // ignored
  const d1 = fleet.get("d1")!;
  assert.equal(d1.online, true);
  assert.equal(d1.led, "ON");
  assert.deepEqual(d1.last, { t: T0, temp: 20.5, hum: 40 }, "a replayed older reading does not replace the latest");
  assert.deepEqual(d1.diag, { uptime: 7 });
  assert.deepEqual(d1.errors, [{ t: T0 + 1000, error: "bad-command", detail: 'unknown command "x"' }]);
  assert.equal(fleet.get("d2")!.prefix, "home");
  assert.equal(fleet.get("d3")!.led, "OFF");
  assert.deepEqual(
    fleet.list().map((d) => d.id),
    ["d1", "d2", "d3"],
  );
  await fleet.flush();
  assert.deepEqual(await store.range("d1", 0, T0 * 2), [
    { t: T0 - 60000, temp: 19, hum: 45 },
    { t: T0, temp: 20.5, hum: 40 },
  ]);
  // A new fleet over the same store knows every device at once.
  const again = new Fleet(store, { reading() {}, device() {} }, () => {});
  await again.load();
  assert.deepEqual(
    again.list().map((d) => [d.id, d.online, d.last?.temp ?? null]),
    [
      ["d1", true, 20.5],
      ["d2", false, null],
      ["d3", true, 1],
    ],
  );
  await store.close();
});
