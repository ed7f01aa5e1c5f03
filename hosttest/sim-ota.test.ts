/**
 * The simulator's firmware images and boot loader (sim/image-format.ts,
 * sim/ota.ts, `npm run image`) on files in a temporary folder: what an image
 * must be to be installed, and the boot loader's rules, as ESP-IDF's app
 * rollback has them (a new firmware boots on trial; a restart before it
 * confirms itself, or a rollback, returns to the previous slot; a damaged
 * slot is not booted). Also: src/version.ts is package.json's version.
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { buildImage, inspectImageFile, parseHeader } from "../sim/image-format";
import { SimBootLoader, SLOT_BYTES } from "../sim/ota";
import { VERSION } from "../src/version";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function temporary(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "sim-ota-"));
}

/** Installs `image` through the port of `loader`'s running firmware; returns what complete() said. */
function install(loader: SimBootLoader, image: Uint8Array, version: string, restart = () => {}) {
  const running = loader.boot();
  const target = loader.port(running, restart).open({ byteLength: image.length, version });
  for (let at = 0; at < image.length; at += 4096) target.write(image.subarray(at, at + 4096));
  try {
    return target.complete();
  } finally {
    target.close();
  }
}

describe("simulator firmware images", () => {
  it("an image built for a version reads back as that version; damage anywhere is noticed", () => {
    const dir = temporary();
    try {
      const image = buildImage({ version: "0.2.0", size: 10_000 });
      assert.equal(image.length, 10_000);
      const file = path.join(dir, "fw.bin");
      fs.writeFileSync(file, image);
      assert.deepEqual(inspectImageFile(file), { version: "0.2.0", faultBoot: false, byteLength: 10_000 });
      for (const at of [0, 20, 64, 5000, 9999]) {
        const bad = Buffer.from(image);
        bad[at] ^= 1;
        fs.writeFileSync(file, bad);
        assert.equal(typeof inspectImageFile(file), "string", `a bit flipped at ${at}`);
      }
      fs.writeFileSync(file, image.subarray(0, 9000));
      assert.match(String(inspectImageFile(file)), /header says 10000/);
      fs.writeFileSync(file, Buffer.from("#!/bin/sh\necho not firmware\n".repeat(10)));
      assert.match(String(inspectImageFile(file)), /magic/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a --fault boot image says so; two versions differ throughout", () => {
    const a = buildImage({ version: "1.0.0", size: 4096, faultBoot: true });
    const b = buildImage({ version: "1.0.1", size: 4096 });
    assert.deepEqual(parseHeader(a, a.length), { version: "1.0.0", faultBoot: true, byteLength: 4096 });
    let same = 0;
    for (let i = 200; i < 4000; i++) if (a[i] === b[i]) same++;
    assert.ok(same < 100, `${same} equal bytes`);
    assert.throws(() => buildImage({ version: "a b" }), /printable/);
  });

  it("npm run image writes the image and prints its SHA-256; bad flags exit 2 with one line", () => {
    const dir = temporary();
    try {
      const out = path.join(dir, "fw.bin");
      const run = (...args: string[]) =>
        spawnSync(process.execPath, ["--import", "tsx", path.join(root, "sim/image.ts"), ...args], {
          cwd: root,
          encoding: "utf8",
        });
      const ok = run("--version", "0.4.0", "--out", out, "--size", "65536", "--fault", "boot");
      assert.equal(ok.status, 0, ok.stderr);
      const bytes = fs.readFileSync(out);
      assert.equal(bytes.length, 65536);
      assert.match(ok.stdout, new RegExp(`sha256 ${crypto.createHash("sha256").update(bytes).digest("hex")}`));
      assert.deepEqual(inspectImageFile(out), { version: "0.4.0", faultBoot: true, byteLength: 65536 });
      for (const [args, message] of [
        [["--out", out], /--version is required/],
        [["--version", "1"], /--out is required/],
        [["--version", "1", "--out", out, "--fault", "wifi"], /--fault: expected boot/],
        [["--version", "1", "--out", out, "--size", "10"], /--size/],
        [["--version", "1 2", "--out", out], /--version/],
        [["--colour", "red"], /unknown flag --colour/],
      ] as [string[], RegExp][]) {
        const r = run(...args);
        assert.equal(r.status, 2, args.join(" "));
        assert.match(r.stderr, message);
        assert.equal(r.stderr.trim().split("\n").length, 1);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the simulator's boot loader", () => {
  function withLoader(body: (loader: SimBootLoader, dir: string, logs: string[]) => void): void {
    const dir = temporary();
    const logs: string[] = [];
    try {
      body(new SimBootLoader(dir, VERSION, (line) => logs.push(line)), dir, logs);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  it("boots the firmware it was started with from slot 0, not on trial", () => {
    withLoader((loader) => {
      assert.deepEqual(loader.boot(), { slot: 0, version: VERSION, faultBoot: false, trial: false });
      assert.equal(loader.port(loader.boot(), () => {}).capacity, SLOT_BYTES);
    });
  });

  it("a new image boots next, on trial, and stays once confirmed", () => {
    withLoader((loader) => {
      assert.equal(install(loader, buildImage({ version: "0.2.0", size: 8192 }), "0.2.0"), "0.2.0");
      const trial = loader.boot();
      assert.deepEqual(trial, { slot: 1, version: "0.2.0", faultBoot: false, trial: true });
      loader.port(trial, () => {}).confirm();
      assert.deepEqual(loader.boot(), { slot: 1, version: "0.2.0", faultBoot: false, trial: false });
      // The next update goes to the other slot, and the previous one is kept for a rollback.
      install(loader, buildImage({ version: "0.3.0", size: 8192 }), "0.3.0");
      assert.equal(loader.boot().slot, 0);
    });
  });

  it("a restart before the new firmware confirmed itself returns to the previous slot (power cut during the trial)", () => {
    withLoader((loader, _dir, logs) => {
      install(loader, buildImage({ version: "0.2.0", size: 8192 }), "0.2.0");
      assert.equal(loader.boot().trial, true);
      assert.deepEqual(loader.boot(), { slot: 0, version: VERSION, faultBoot: false, trial: false });
      assert.ok(logs.some((l) => /slot 1 was not confirmed; back to slot 0/.test(l)));
    });
  });

  it("rollback() marks the trial failed and restarts into the previous slot", () => {
    withLoader((loader) => {
      install(loader, buildImage({ version: "0.2.0", size: 8192, faultBoot: true }), "0.2.0");
      const trial = loader.boot();
      assert.equal(trial.faultBoot, true);
      let restarts = 0;
      loader.port(trial, () => restarts++).rollback();
      assert.equal(restarts, 1);
      assert.deepEqual(loader.boot(), { slot: 0, version: VERSION, faultBoot: false, trial: false });
    });
  });

  it("refuses an image that is damaged, not an image, or not the requested version, and keeps booting the old one", () => {
    withLoader((loader, dir) => {
      const image = buildImage({ version: "0.2.0", size: 8192 });
      const damaged = Buffer.from(image);
      damaged[100] ^= 0x80;
      assert.throws(() => install(loader, damaged, "0.2.0"), /damaged/);
      assert.throws(() => install(loader, Buffer.alloc(8192, 0x41), "0.2.0"), /magic/);
      assert.throws(() => install(loader, image, "0.2.1"), /is version 0\.2\.0, not the requested 0\.2\.1/);
      assert.deepEqual(loader.boot(), { slot: 0, version: VERSION, faultBoot: false, trial: false });
      assert.deepEqual(
        fs.readdirSync(dir).filter((f) => f.startsWith("ota_")),
        [],
        "no partial image left behind",
      );
    });
  });

  it("a cancelled write leaves the slots as they were", () => {
    withLoader((loader, dir) => {
      const running = loader.boot();
      const target = loader.port(running, () => {}).open({ version: "0.2.0" });
      target.write(new Uint8Array(1000));
      target.close();
      assert.deepEqual(
        fs.readdirSync(dir).filter((f) => f.startsWith("ota_")),
        [],
      );
      assert.equal(loader.boot().slot, 0);
    });
  });

  it("a slot damaged after installation is not booted: the other one is", () => {
    withLoader((loader, dir) => {
      install(loader, buildImage({ version: "0.2.0", size: 8192 }), "0.2.0");
      const file = path.join(dir, "ota_1.bin");
      const bytes = fs.readFileSync(file);
      bytes[5000] ^= 1;
      fs.writeFileSync(file, bytes);
      assert.deepEqual(loader.boot(), { slot: 0, version: VERSION, faultBoot: false, trial: false });
    });
  });
});

describe("the firmware version", () => {
  it("src/version.ts is package.json's version (npm version rewrites it)", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { version: string };
    assert.equal(VERSION, pkg.version, "run: node --import tsx hosttest/tools/version.ts");
  });
});
