/**
 * `src/` compiles against ES2022 alone (no Node, no DOM types): any platform
 * API that slipped into the core is a compile error here. The simulator and
 * the tests type-check too.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

function typecheck(project: string): void {
  const run = spawnSync(process.execPath, [tsc, "-p", project, "--noEmit"], { cwd: root, encoding: "utf8" });
  assert.equal(run.status, 0, `tsc -p ${project}:\n${run.stdout}${run.stderr}`);
}

test("src/ type-checks with lib es2022 and no Node or DOM types", { timeout: 120000 }, () => {
  typecheck("src/tsconfig.json");
});

test("the whole project type-checks", { timeout: 120000 }, () => {
  typecheck("tsconfig.json");
});

test("the dashboard page type-checks against the DOM", { timeout: 120000 }, () => {
  typecheck("sim/dashboard/page/tsconfig.json");
});

test("the device's page type-checks against the DOM", { timeout: 120000 }, () => {
  typecheck("page/tsconfig.json");
});
