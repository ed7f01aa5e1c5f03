/**
 * The mcconfig wrappers (tools/device.ts: npm run device:build, device:flash,
 * device:sim) say what is missing before anything runs: MODDABLE, IDF_PATH
 * and its version, the serial port, a broker on 127.0.0.1 for a board; and a
 * complete set-up gives the documented mcconfig line (a dry run here: no SDK
 * build in the tests).
 */

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { launch } from "./support/child";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function run(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; out: string }> {
  const clean: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${path.join(root, "node_modules", ".bin")}${path.delimiter}${process.env.PATH ?? ""}`,
  };
  for (const key of ["MODDABLE", "IDF_PATH", "UPLOAD_PORT", "DISPLAY"]) delete clean[key];
  for (const [key, value] of Object.entries(env)) if (value !== undefined) clean[key] = value;
  const child = launch(process.execPath, ["--import", "tsx", path.join(root, "tools", "device.ts"), ...args], {
    cwd: root,
    env: clean,
  });
  return child.closed.then((code) => ({ code, out: child.output() }));
}

/** A stand-in SDK (an mcconfig and the ESP32 guide naming the ESP-IDF version) and an ESP-IDF of `version`. */
function fakeTools(version: string): { moddable: string; idf: string; port: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "device-tool-"));
  const moddable = path.join(dir, "moddable");
  fs.mkdirSync(path.join(moddable, "build", "bin", "lin", "release"), { recursive: true });
  fs.writeFileSync(path.join(moddable, "build", "bin", "lin", "release", "mcconfig"), "#!/bin/sh\nexit 0\n", {
    mode: 0o755,
  });
  fs.mkdirSync(path.join(moddable, "tools", "xsbug-log", "node_modules"), { recursive: true });
  fs.mkdirSync(path.join(moddable, "documentation", "devices"), { recursive: true });
  fs.writeFileSync(
    path.join(moddable, "documentation", "devices", "esp32.md"),
    "The Moddable SDK build for ESP32 currently uses ESP-IDF v6.0 (commit `662a3be3`)\n",
  );
  const idf = path.join(dir, "esp-idf");
  fs.mkdirSync(path.join(idf, "tools", "cmake"), { recursive: true });
  const [major, minor] = version.split(".");
  fs.writeFileSync(
    path.join(idf, "tools", "cmake", "version.cmake"),
    `set(IDF_VERSION_MAJOR ${major})\nset(IDF_VERSION_MINOR ${minor})\nset(IDF_VERSION_PATCH 0)\n`,
  );
  const port = path.join(dir, "ttyUSB9");
  fs.writeFileSync(port, "");
  return { moddable, idf, port, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

test("the device wrappers name what is missing, and otherwise give the mcconfig line", { timeout: 30000 }, async () => {
  const six = fakeTools("6.0");
  const five = fakeTools("5.4");
  try {
    const [bare, oldIdf, good, sim, typo] = await Promise.all([
      run(["flash", "ssid=home", "broker=mqtt://127.0.0.1"], {}),
      run(["build", "--dry-run"], { MODDABLE: five.moddable, IDF_PATH: five.idf }),
      run(
        ["flash", "--dry-run", "--port", six.port, "ssid=home", "password=wifi-secret", "broker=mqtt://192.168.1.10"],
        { MODDABLE: six.moddable, IDF_PATH: six.idf },
      ),
      run(["sim", "--dry-run", "broker=mqtt://127.0.0.1", "web=8099"], { MODDABLE: six.moddable, DISPLAY: ":0" }),
      run(["flash", "intervall=5000"], {}),
    ]);
    assert.equal(bare.code, 1, bare.out);
    assert.match(bare.out, /MODDABLE is not set/);
    assert.match(bare.out, /IDF_PATH is not set/);
    assert.match(bare.out, /broker=mqtt:\/\/127\.0\.0\.1 is the board itself, not this PC: use the PC's LAN address/);

    assert.equal(oldIdf.code, 1, oldIdf.out);
    assert.match(oldIdf.out, /ESP-IDF 5\.4 at .*, but this Moddable SDK builds with ESP-IDF v6\.0/);

    assert.equal(good.code, 0, good.out);
    assert.match(
      good.out,
      new RegExp(
        `would run: UPLOAD_PORT=${six.port} mcconfig -dl -m -p esp32 ssid=home password=… broker=mqtt://192\\.168\\.1\\.10`,
      ),
    );
    assert.equal(good.out.indexOf("wifi-secret"), -1, "the password is not printed");

    assert.equal(sim.code, 0, sim.out);
    assert.match(sim.out, /would run: mcconfig -dl -m -p lin broker=mqtt:\/\/127\.0\.0\.1 web=8099/);
    assert.match(sim.out, /http:\/\/127\.0\.0\.1:8099\//);

    assert.equal(typo.code, 2);
    assert.match(typo.out, /unknown key "intervall" \(did you mean "interval"\?\)/);
  } finally {
    six.cleanup();
    five.cleanup();
  }
});
