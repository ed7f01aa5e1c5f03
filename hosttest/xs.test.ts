/**
 * Runs every hosttest/unit/*.test.ts inside the XS engine (xsnap-worker) and
 * reports each XS test as a node:test subtest named `xs: ...`, so that a
 * failure inside XS fails this run with its message.
 */
import { after, before, test } from "node:test";
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { bundleTestFile, type Bundle } from "./xs/bundle.ts";
import { startXS, type XSMeter } from "./xs/worker.ts";
import type { SerializedError, TestReport } from "./xs/shim-test.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const unitDir = path.join(here, "unit");
const files = readdirSync(unitDir)
  .filter((f) => f.endsWith(".test.ts"))
  .sort();

/**
 * Wall-clock limit per file. Pending promises and runaway JS loops are caught
 * long before this (see below); it only bounds time spent in native code.
 */
const FILE_TIMEOUT_MS = 60_000;
/** Tests slower than this in XS get a diagnostic line. */
const SLOW_MS = 500;
/**
 * XS computation limit for one file (all its tests run in one crank). A
 * simple loop iteration costs ~15 units, so this is about 2-3 s of work;
 * beyond it the worker exits with "too much computation".
 */
const METERING_LIMIT = 500_000_000;

interface FileRun {
  file: string;
  report?: TestReport;
  /** Why the file as a whole failed (bundling, evaluation, crash, unfinished run). */
  failure?: string;
  output: string;
  meter?: XSMeter;
  bundle?: Bundle;
}

async function runFile(file: string): Promise<FileRun> {
  const rel = path.relative(process.cwd(), path.join(unitDir, file));
  const run: FileRun = { file, output: "" };
  try {
    run.bundle = await bundleTestFile(path.join(unitDir, file));
  } catch (e) {
    run.failure = e instanceof Error ? e.message : String(e);
    return run;
  }
  let report: TestReport | undefined;
  const xs = await startXS({
    meteringLimit: METERING_LIMIT,
    onCommand(message) {
      const m = JSON.parse(new TextDecoder().decode(message)) as { type?: string } & TestReport;
      if (m.type === "report") report = m;
    },
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    xs.terminate();
  }, FILE_TIMEOUT_MS);
  try {
    try {
      run.meter = (await xs.evaluate(run.bundle.code)).meter;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      run.failure = timedOut
        ? `${rel}: no result from XS within ${FILE_TIMEOUT_MS} ms`
        : `${rel} failed to evaluate in XS: ${run.bundle.mapStack(msg)}`;
    }
    if (!run.failure && !report) {
      // The run did not finish: some test awaits a promise that never settles.
      try {
        const { reply } = await xs.evaluate("globalThis.__xsTestState()");
        report = JSON.parse(new TextDecoder().decode(reply)) as TestReport;
      } catch {
        // leave report unset
      }
      run.failure = `${rel}: the XS run did not finish (a promise never settled?)${
        report?.current ? `; stuck in test "${report.current}"` : ""
      }`;
    }
    run.report = report;
  } finally {
    clearTimeout(timer);
    run.output = xs.stdout;
    await xs.close().catch(() => {});
    xs.terminate();
  }
  return run;
}

function toError(e: SerializedError, bundle: Bundle | undefined): Error {
  const err = new Error(e.message);
  err.name = e.name === "Error" ? "Error" : e.name;
  // XS frames look like " at fn (#0:123)": map them to sources and keep the
  // ones outside the shims.
  const frames = (e.stack ?? "")
    .split("\n")
    .filter((l) => /^\s*at .*\(#\d+:\d+\)/.test(l))
    .map((l) => "    " + (bundle ? bundle.mapStack(l.trim()) : l.trim()));
  const own = frames.filter((l) => !/[\\/]xs[\\/]shim-(test|assert)\.ts:/.test(l));
  const stack = (own.length ? own : frames).join("\n") || "    at <XS>";
  err.stack = `${e.name}: ${e.message}\n${stack}`;
  return err;
}

const started = performance.now();
let runs: Map<string, Promise<FileRun>>;
const totals = { passed: 0, failed: 0, skipped: 0, todo: 0 };

before(() => {
  // Bundle and run all files concurrently; each test below awaits its own.
  runs = new Map(files.map((f) => [f, runFile(f)]));
});

after(() => {
  const ms = Math.round(performance.now() - started);
  const extra = [totals.skipped ? `, ${totals.skipped} skipped` : "", totals.todo ? `, ${totals.todo} todo` : ""].join("");
  const n = files.length;
  process.stdout.write(`XS: ${totals.passed} passed, ${totals.failed} failed${extra} (${n} file${n === 1 ? "" : "s"}) in ${ms} ms\n`);
});

for (const file of files) {
  test(`xs: ${file}`, async (t) => {
    const run = await runs.get(file)!;
    const results = run.report?.results ?? [];
    for (const r of results) {
      const name = `xs: ${r.name}`;
      if (r.skip !== undefined) {
        totals.skipped++;
        await t.test(name, { skip: r.skip === true ? true : r.skip }, () => {});
        continue;
      }
      if (r.todo !== undefined) totals.todo++;
      else if (r.ok) totals.passed++;
      else totals.failed++;
      await t.test(name, { todo: r.todo }, (st) => {
        for (const d of r.diagnostics ?? []) st.diagnostic(d);
        if (r.durationMs > SLOW_MS) st.diagnostic(`slow in XS: ${Math.round(r.durationMs)} ms`);
        if (!r.ok) throw toError(r.error ?? { name: "Error", message: "failed" }, run.bundle);
      });
    }
    if (run.failure) {
      totals.failed++;
      const output = run.output.trim() ? `\nXS output:\n${run.output.trimEnd()}` : "";
      const err = new Error(run.failure + output);
      err.stack = `Error: ${err.message}\n    at ${path.relative(process.cwd(), path.join(unitDir, file))}`; // host frames say nothing useful
      throw err;
    }
    if (!results.length) t.diagnostic("no tests in file");
    if (run.meter) t.diagnostic(`XS compute ${run.meter.compute}, heap slots in use ${run.meter.currentHeapCount}`);
  });
}

if (!files.length) {
  test("xs: no unit test files", () => {});
}
