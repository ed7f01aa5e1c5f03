/**
 * Bundles one node:test file into a single script for XS: `node:test` and
 * `node:assert[/strict]` are replaced by the shims next to this file, and the
 * script ends by running the tests and sending the report to the host with
 * `issueCommand` (JSON, `{ "type": "report", ...TestReport }`). If the run
 * cannot finish, `globalThis.__xsTestState()` returns the partial report as
 * an ArrayBuffer (evaluate it as a second command).
 */
import * as esbuild from "esbuild";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const SHIM_TEST = path.join(here, "shim-test.ts");
const SHIM_ASSERT = path.join(here, "shim-assert.ts");

const SHIMS: Record<string, string> = {
  "node:test": SHIM_TEST,
  "node:assert": SHIM_ASSERT,
  "node:assert/strict": SHIM_ASSERT,
  test: SHIM_TEST, // bare "test" is how some files spell node:test
  assert: SHIM_ASSERT,
  "assert/strict": SHIM_ASSERT,
};

const shimPlugin: esbuild.Plugin = {
  name: "xs-node-shims",
  setup(build) {
    build.onResolve({ filter: /^(node:)?(test|assert|assert\/strict)$/ }, (args) => ({ path: SHIMS[args.path] }));
    build.onResolve({ filter: /^node:/ }, (args) => ({
      errors: [{ text: `"${args.path}" is not available in XS (only node:test and node:assert/strict are shimmed)` }],
    }));
  },
};

export interface Bundle {
  /** The script to evaluate in XS. */
  code: string;
  /** Maps `#<n>:<line>` positions in XS stack traces back to source files. */
  mapStack(stack: string): string;
}

export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BundleError";
  }
}

/** Bundles `testFile` (absolute or relative to cwd) for XS, ending with a run of its tests. */
export async function bundleTestFile(testFile: string): Promise<Bundle> {
  const abs = path.resolve(testFile);
  const entry = [
    `import { runTests as __runTests, testState as __testState } from ${JSON.stringify(SHIM_TEST)};`,
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
      throw new BundleError(`cannot bundle ${label} for XS:\n${text.join("").trimEnd()}`);
    }
    throw e;
  }
  const js = result.outputFiles.find((f) => f.path.endsWith(".js"));
  const map = result.outputFiles.find((f) => f.path.endsWith(".map"));
  if (!js) throw new BundleError("esbuild produced no output");
  const lineMap = map ? decodeLineMap(JSON.parse(map.text), path.dirname(map.path)) : [];
  return {
    code: js.text,
    mapStack: (stack) =>
      stack.replace(/\(#\d+:(\d+)\)/g, (whole, line: string) => {
        const hit = lineMap[Number(line) - 1];
        return hit ? `(${hit.file}:${hit.line})` : whole;
      }),
  };
}

// ---------------------------------------------------------------------------
// Source maps: just enough to map a generated line to an original file:line.

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

function decodeVLQ(segment: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const c of segment) {
    const digit = B64_INDEX.get(c) ?? 0;
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

function decodeLineMap(map: { sources: string[]; mappings: string }, mapDir: string): Array<{ file: string; line: number } | undefined> {
  const files = map.sources.map((s) => path.relative(process.cwd(), path.resolve(mapDir, s)));
  const lines: Array<{ file: string; line: number } | undefined> = [];
  let source = 0;
  let origLine = 0;
  for (const lineText of map.mappings.split(";")) {
    let first: { file: string; line: number } | undefined;
    for (const seg of lineText.split(",")) {
      if (!seg) continue;
      const f = decodeVLQ(seg);
      if (f.length >= 4) {
        source += f[1];
        origLine += f[2];
        first ??= { file: files[source], line: origLine + 1 };
      }
    }
    lines.push(first);
  }
  return lines;
}
