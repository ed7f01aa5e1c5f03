/**
 * Runs every hosttest/unit/*.test.ts inside the XS engine (one xsnap-worker
 * per file, all at once) and reports each XS test as a node:test subtest
 * named `xs: ...`, so that a failure inside XS fails this run with its
 * message and source position (npm test's last lines count them:
 * hosttest/support/counts.mjs).
 */

import { readdirSync } from "node:fs";
import path from "node:path";
import { before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type Bundle, bundleTestFile } from "./xs/bundle.ts";
import type { SerializedError, TestReport } from "./xs/shim-test.ts";
import { startXS, type XSMeter } from "./xs/worker.ts";

const unitDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "unit");
const files = readdirSync(unitDir)
  .filter((f) => f.endsWith(".test.ts"))
  .sort();

/** Wall-clock limit per file; runaway loops hit the computation limit first, unsettled promises end the run at once. */
const FILE_TIMEOUT_MS = 60_000;
/** XS computation limit for one file (all its tests run in one crank): a few seconds of work. */
const METERING_LIMIT = 500_000_000;
/** Tests slower than this in XS get a diagnostic line. */
const SLOW_MS = 500;

interface FileRun {
  report?: TestReport;
  /** Why the file as a whole failed (bundling, evaluation, crash, unfinished run). */
  failure?: string;
  output: string;
  meter?: XSMeter;
  bundle?: Bundle;
}

async function runFile(file: string): Promise<FileRun> {
  const rel = path.relative(process.cwd(), path.join(unitDir, file));
  let bundle: Bundle;
  try {
    bundle = await bundleTestFile(path.join(unitDir, file));
  } catch (e) {
    return { failure: e instanceof Error ? e.message : String(e), output: "" };
  }
  const run: FileRun = { bundle, output: "" };
  const xs = await startXS({
    meteringLimit: METERING_LIMIT,
    onCommand(message) {
      run.report = JSON.parse(new TextDecoder().decode(message)) as TestReport;
    },
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    xs.terminate();
  }, FILE_TIMEOUT_MS);
  try {
    run.meter = (await xs.evaluate(bundle.code)).meter;
    if (!run.report) {
      // The run did not finish: some test awaits a promise that never settles.
      const state = JSON.parse(
        new TextDecoder().decode((await xs.evaluate("globalThis.__xsTestState()")).reply),
      ) as TestReport;
      run.report = state;
      run.failure = `${rel}: the XS run did not finish (a promise never settled?)${state.current ? `; stuck in test "${state.current}"` : ""}`;
    }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    run.failure = timedOut
      ? `${rel}: no result from XS within ${FILE_TIMEOUT_MS} ms`
      : `${rel} failed in XS: ${bundle.mapStack(message)}`;
  } finally {
    clearTimeout(timer);
    run.output = xs.stdout;
    await xs.close().catch(() => {});
    xs.terminate();
  }
  return run;
}

/** The XS error with its frames mapped to the sources, those inside the shims left out. */
function toError(e: SerializedError, bundle: Bundle | undefined): Error {
  const err = new Error(e.message);
  err.name = e.name;
  const frames = (e.stack ?? "")
    .split("\n")
    .filter((l) => /^\s*at .*\(#\d+:\d+\)/.test(l))
    .map((l) => `    ${bundle ? bundle.mapStack(l.trim()) : l.trim()}`);
  const own = frames.filter((l) => !/[\\/]xs[\\/]shim-(test|assert)\.ts:/.test(l));
  err.stack = `${e.name}: ${e.message}\n${(own.length ? own : frames).join("\n") || "    at <XS>"}`;
  return err;
}

let runs: Map<string, Promise<FileRun>>;

before(() => {
  runs = new Map(files.map((f) => [f, runFile(f)]));
});

for (const file of files) {
  test(`xs: ${file}`, async (t) => {
    const run = await runs.get(file)!;
    for (const r of run.report?.results ?? []) {
      if (r.skip !== undefined) {
        await t.test(`xs: ${r.name}`, { skip: r.skip }, () => {});
        continue;
      }
      await t.test(`xs: ${r.name}`, (st) => {
        if (r.durationMs > SLOW_MS) st.diagnostic(`slow in XS: ${Math.round(r.durationMs)} ms`);
        if (!r.ok) throw toError(r.error ?? { name: "Error", message: "failed" }, run.bundle);
      });
    }
    if (run.failure) {
      const output = run.output.trim() ? `\nXS output:\n${run.output.trimEnd()}` : "";
      const err = new Error(run.failure + output);
      err.stack = `Error: ${err.message}\n    at ${path.relative(process.cwd(), path.join(unitDir, file))}`;
      throw err;
    }
    if (run.meter) t.diagnostic(`XS compute ${run.meter.compute}, heap slots in use ${run.meter.currentHeapCount}`);
  });
}
