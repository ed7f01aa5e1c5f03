/**
 * The app's parts that have logic of their own, on their own: the
 * `config/set` payload check (src/app/config-set.ts) and the LED's state
 * across restarts (src/app/led.ts). The app as a whole is tested in
 * ./app.test.ts. Runs under node:test and in XS.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseSettings, SETTABLE } from "../../src/app/config-set";
import { keepLed, LED_KEY, ledAtPowerUp } from "../../src/app/led";
import type { Store } from "../../src/ports";
import { MapStore } from "./fakes";

describe("config/set payloads", () => {
  it("takes interval and qos, checked as configuration", () => {
    assert.deepEqual(SETTABLE, ["interval", "qos"]);
    assert.deepEqual(parseSettings('{"interval":5000}'), { interval: 5000 });
    assert.deepEqual(parseSettings('{"qos":2,"interval":"3000"}'), { qos: 2, interval: 3000 });
  });

  it("refuses anything else with one sentence, and nothing is applied", () => {
    for (const [payload, reason] of [
      ["5000", /expects a JSON object with interval and\/or qos/],
      ["[1]", /expects a JSON object/],
      ["null", /expects a JSON object/],
      ["{oops", /expects a JSON object/],
      ["{}", /expects at least one of interval, qos/],
      ['{"interval":5000,"ssid":"x"}', /"ssid" cannot be set at run time \(settable: interval, qos\)/],
      ['{"qos":3}', /^config\/set: .*qos/],
    ] as const) {
      const result = parseSettings(payload);
      assert.equal(typeof result, "string", payload);
      assert.match(result as string, reason, payload);
    }
  });
});

describe("the LED across restarts", () => {
  const quiet = () => {};

  it("follows ledRestore: on, off, or the last state kept", () => {
    const store = new MapStore({ [LED_KEY]: "ON" });
    assert.equal(ledAtPowerUp("on", undefined, quiet), true);
    assert.equal(ledAtPowerUp("off", store, quiet), false);
    const said: string[] = [];
    assert.equal(
      ledAtPowerUp("last", store, (t) => said.push(t)),
      true,
    );
    assert.deepEqual(said, ["store: restored led ON"]);
    assert.equal(ledAtPowerUp("last", new MapStore(), quiet), false);
    assert.equal(ledAtPowerUp("last", undefined, quiet), false);
  });

  it("keeps the state; a failing store is logged, never thrown", () => {
    const store = new MapStore();
    keepLed(store, quiet, true);
    assert.equal(store.get(LED_KEY), "ON");
    keepLed(store, quiet, false);
    assert.equal(store.get(LED_KEY), "OFF");
    const broken: Store = {
      get() {
        throw new Error("flash gone");
      },
      set() {
        throw new Error("flash gone");
      },
    } as unknown as Store;
    const said: string[] = [];
    keepLed(broken, (t) => said.push(t), true);
    assert.deepEqual(said, ["store: cannot keep led (flash gone)"]);
    assert.equal(ledAtPowerUp("last", broken, quiet), false);
  });
});
