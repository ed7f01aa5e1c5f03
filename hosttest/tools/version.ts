/**
 * Copies package.json's `version` into src/version.ts, the module the
 * firmware reports its version from (diag, discovery `sw_version`).
 * package.json's `version` script runs it, so `npm version 0.2.0` bumps both
 * in one commit; hosttest/sim-ota.test.ts fails while they differ.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const file = path.join(root, "src/version.ts");
const { version } = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { version: string };
if (!/^[\x21-\x7e]{1,32}$/.test(version)) {
  process.stderr.write(
    `error: package.json version "${version}" cannot be a firmware version (1-32 printable characters)\n`,
  );
  process.exit(2);
}
const text = fs.readFileSync(file, "utf8");
const next = text.replace(/export const VERSION = "[^"]*";/, `export const VERSION = ${JSON.stringify(version)};`);
if (next === text) process.stdout.write(`src/version.ts already says ${version}\n`);
else {
  fs.writeFileSync(file, next);
  process.stdout.write(`src/version.ts: ${version}\n`);
}
