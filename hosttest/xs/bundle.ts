/**
 * Bundles one node:test file into a single script for XS: `node:test` and
 * `node:assert[/strict]` are replaced by the shims next to this file, and the
 * script ends by running the tests and sending the report to the host with
 * `issueCommand` (JSON, `{ "type": "report", ...TestReport }`). If the run
 * cannot finish, `globalThis.__xsTestState()` returns the partial report as
 * an ArrayBuffer (evaluate it as a second command).
 */

import path from "node:path";
import { fileURLToPath } from "node:url";
import { LEAST_UPPER_BOUND, originalPositionFor, TraceMap } from "@jridgewell/trace-mapping";
import * as esbuild from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const SHIMS: Record<string, string> = {
  "node:test": path.join(here, "shim-test.ts"),
  "node:assert": path.join(here, "shim-assert.ts"),
  "node:assert/strict": path.join(here, "shim-assert.ts"),
};

/** node:test and node:assert become the shims next to this file; any other Node module is an error. */
const shimPlugin: esbuild.Plugin = {
  name: "xs-node-shims",
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (args) =>
      SHIMS[args.path]
        ? { path: SHIMS[args.path] }
        : {
            errors: [
              { text: `"${args.path}" is not available in XS (only node:test and node:assert/strict are shimmed)` },
            ],
          },
    );
  },
};

export interface Bundle {
  /** The script to evaluate in XS. */
  code: string;
  /** Maps `#<n>:<line>` positions in XS stack traces back to source files. */
  mapStack(stack: string): string;
}

/** Bundles `testFile` (absolute or relative to cwd) for XS, ending with a run of its tests. */
export async function bundleTestFile(testFile: string): Promise<Bundle> {
  const abs = path.resolve(testFile);
  const entry = [
    `import { runTests as __runTests, testState as __testState } from ${JSON.stringify(SHIMS["node:test"])};`,
    `import ${JSON.stringify(abs)};`,
    `globalThis.__xsTestState = () => new TextEncoder().encode(JSON.stringify(__testState())).buffer;`,
    `__runTests().then((r) => {`,
    `  issueCommand(new TextEncoder().encode(JSON.stringify({ type: "report", ...r })).buffer);`,
    `});`,
  ].join("\n");
  return bundleSource(entry, path.dirname(abs), path.relative(process.cwd(), abs));
}

/**
 * Bundles any module (e.g. a benchmark script importing src/) into one XS
 * script, with the same shims. Its exports are not reachable: the module
 * should publish what it needs on globalThis (e.g. `handleCommand`).
 */
export async function bundleModule(file: string): Promise<Bundle> {
  const abs = path.resolve(file);
  return bundleSource(`import ${JSON.stringify(abs)};`, path.dirname(abs), path.relative(process.cwd(), abs));
}

async function bundleSource(entry: string, resolveDir: string, label: string): Promise<Bundle> {
  let result: esbuild.BuildResult & { outputFiles: esbuild.OutputFile[] };
  try {
    result = await esbuild.build({
      stdin: { contents: entry, resolveDir, sourcefile: "xs-entry.js", loader: "js" },
      bundle: true,
      write: false,
      outfile: path.join(here, "xs-bundle.js"), // never written: names the outputs
      format: "iife",
      platform: "neutral",
      target: "es2022",
      mainFields: ["module", "main"],
      sourcemap: "external",
      sourcesContent: false,
      plugins: [shimPlugin],
      logLevel: "silent",
      charset: "utf8",
    });
  } catch (e) {
    const failure = e as esbuild.BuildFailure;
    if (failure.errors?.length) {
      const text = await esbuild.formatMessages(failure.errors, { kind: "error", color: false });
      throw new Error(`cannot bundle ${label} for XS:\n${text.join("").trimEnd()}`);
    }
    throw e;
  }
  const js = result.outputFiles.find((f) => f.path.endsWith(".js"));
  const map = result.outputFiles.find((f) => f.path.endsWith(".map"));
  if (!js) throw new Error("esbuild produced no output");
  // XS frames name a line of the bundle only ("#0:123"): map it to the first source position on that line.
  const trace = map ? new TraceMap(map.text) : undefined;
  const mapDir = map ? path.dirname(map.path) : here;
  return {
    code: js.text,
    mapStack: (stack) =>
      stack.replace(/\(#\d+:(\d+)\)/g, (whole, line: string) => {
        const hit = trace && originalPositionFor(trace, { line: Number(line), column: 0, bias: LEAST_UPPER_BOUND });
        return hit?.source ? `(${path.relative(process.cwd(), path.resolve(mapDir, hit.source))}:${hit.line})` : whole;
      }),
  };
}
