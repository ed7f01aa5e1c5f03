/**
 * The part of `node:test` the unit tests use, for XS (plain ES2022): `test`
 * and `it` (with `{ skip }`), nested `describe`. Importing a test file
 * registers its tests; `runTests()` then runs them one after another, each
 * awaited if it returns a promise. XS here has no timers, so a test awaiting
 * something that never settles leaves the run unfinished: `testState()`
 * names it.
 */

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

export interface TestResult {
  /** Names from the outermost describe down to the test, joined with " > ". */
  name: string;
  ok: boolean;
  /** Why it was skipped. */
  skip?: string;
  error?: SerializedError;
  durationMs: number;
}

export interface TestReport {
  done: boolean;
  /** The test running when the report was taken, if the run is not done. */
  current?: string;
  results: TestResult[];
}

interface TestOptions {
  skip?: boolean | string;
}

type Body = () => unknown;

const registered: Array<{ name: string; skip?: string; fn?: Body }> = [];
const suites: string[] = [];
const results: TestResult[] = [];
let current: string | undefined;
let done = false;

/** `(name, fn)` or `(name, options, fn)`. */
function parse(a?: TestOptions | Body, b?: Body): { options: TestOptions; fn?: Body } {
  return typeof a === "function" ? { options: {}, fn: a } : { options: a ?? {}, fn: b };
}

export function it(name: string, a?: TestOptions | Body, b?: Body): void {
  const { options, fn } = parse(a, b);
  const skip = options.skip ? (options.skip === true ? "skipped" : options.skip) : undefined;
  registered.push({ name: [...suites, name].join(" > "), skip, fn });
}

export const test = it;

export function describe(name: string, a?: TestOptions | Body, b?: Body): void {
  const { fn } = parse(a, b);
  suites.push(name);
  try {
    fn?.();
  } finally {
    suites.pop();
  }
}

function serialize(e: unknown): SerializedError {
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: "NonError", message: `non-Error thrown: ${String(e)}` };
}

/** Runs every registered test once. */
export async function runTests(): Promise<TestReport> {
  for (const t of registered) {
    if (t.skip !== undefined || !t.fn) {
      results.push({ name: t.name, ok: true, skip: t.skip, durationMs: 0 });
      continue;
    }
    current = t.name;
    const start = performance.now();
    try {
      await t.fn();
      results.push({ name: t.name, ok: true, durationMs: performance.now() - start });
    } catch (e) {
      results.push({ name: t.name, ok: false, error: serialize(e), durationMs: performance.now() - start });
    }
  }
  current = undefined;
  done = true;
  return testState();
}

/** The run so far (when it never finishes, `current` is the test it is stuck in). */
export function testState(): TestReport {
  return { done, current, results: results.slice() };
}
