/**
 * `src/` compiles against ES2022 alone (no Node, no DOM types): any platform
 * API that slipped into the core is a compile error here. The simulator and
 * the tests type-check too, and so do the device adapters (src/device/),
 * with each of the two boards the manifest can map "device/board" to,
 * against @moddable/typings from npm: no Moddable SDK needed. And the
 * modules the device preloads make no RegExp while preloading. Biome's
 * linter and formatter pass on the whole tree (`npm run lint`; `npm run format`
 * rewrites the files).
 */

import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

/** `tsc -p project --noEmit` in its own process; the checks below run side by side (each is one CPU-bound process). */
function typecheck(project: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [tsc, "-p", project, "--noEmit"],
      { cwd: root, encoding: "utf8" },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`tsc -p ${project}:\n${stdout}${stderr}`));
        else resolve();
      },
    );
  });
}

describe("type checks", { concurrency: 3 }, () => {
  test("src/ type-checks with lib es2022 and no Node or DOM types", { timeout: 120000 }, () =>
    typecheck("src/tsconfig.json"),
  );

  test("the whole project type-checks", { timeout: 120000 }, () => typecheck("tsconfig.json"));

  test(
    "src/device/ type-checks with the ESP32's board (@moddable/typings + src/device/sdk.d.ts)",
    {
      timeout: 120000,
    },
    () => typecheck("src/device/tsconfig.json"),
  );

  test("src/device/ type-checks with the Moddable simulator's board", { timeout: 120000 }, () =>
    typecheck("src/device/tsconfig.sim.json"),
  );

  test("the dashboard page type-checks against the DOM", { timeout: 120000 }, () =>
    typecheck("sim/dashboard/page/tsconfig.json"),
  );

  test("the device's page type-checks against the DOM", { timeout: 120000 }, () => typecheck("page/tsconfig.json"));
});

test("Biome: lint and format pass (npm run format fixes the formatting)", { timeout: 120000 }, () => {
  const biome = createRequire(import.meta.url).resolve("@biomejs/biome/bin/biome");
  const run = spawnSync(process.execPath, [biome, "ci", "--colors=off", "."], { cwd: root, encoding: "utf8" });
  assert.equal(run.status, 0, `biome ci:\n${run.stdout}${run.stderr}`);
});

test("the modules the device preloads make no RegExp while preloading", () => {
  // Such a RegExp lives in flash without its match buffer, and on the SDK's XS
  // each exec() makes one that a garbage collection during the exec() takes
  // for one of its chunks: the heap is corrupted (src/mqtt/codec.ts, topics).
  const manifest = JSON.parse(fs.readFileSync(path.join(root, "manifest.json"), "utf8")) as {
    modules: Record<string, string>;
    preload: string[];
  };
  const files: string[] = [];
  for (const name of manifest.preload) {
    const target = manifest.modules[name];
    if (!target?.startsWith("./src/")) continue; // the SDK's own modules
    const file = path.join(root, target);
    if (!name.endsWith("/*")) files.push(`${file}.ts`);
    else
      for (const f of fs.readdirSync(path.dirname(file)))
        if (f.endsWith(".ts") && !f.endsWith(".d.ts")) files.push(path.join(path.dirname(file), f));
  }
  assert.ok(
    files.some((f) => f.endsWith(path.join("src", "update", "request.ts"))),
    files.join(),
  );
  const found: string[] = [];
  for (const file of files) {
    const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
    // What runs when the module is evaluated: not function bodies, not instance field initializers.
    const visit = (node: ts.Node): void => {
      if (
        ts.isFunctionLike(node) ||
        (ts.isPropertyDeclaration(node) && !node.modifiers?.some((m) => m.kind === ts.SyntaxKind.StaticKeyword))
      )
        return;
      const call =
        (ts.isNewExpression(node) || ts.isCallExpression(node)) && node.expression.getText(source) === "RegExp";
      if (call || node.kind === ts.SyntaxKind.RegularExpressionLiteral) {
        found.push(
          `${path.relative(root, file)}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1} ${node.getText(source).slice(0, 40)}`,
        );
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  assert.deepEqual(found, [], "RegExp made at module scope in preloaded modules");
});
