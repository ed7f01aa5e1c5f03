/**
 * A small `node:test` for the XS engine: no Node APIs, plain ES2022.
 *
 * Importing test files registers suites and tests (describe callbacks run
 * immediately, as in Node); `runTests()` then runs everything in order, one
 * test at a time, and resolves with a pass/fail record per test. Only
 * promise jobs are awaited (XS here has no timers), so a test that waits on
 * something that never settles leaves the run unfinished: `testState()` then
 * tells which test was running.
 */

export interface TestOptions {
  skip?: boolean | string;
  todo?: boolean | string;
  only?: boolean;
  timeout?: number;
  concurrency?: number | boolean;
}

export interface TestContext {
  readonly name: string;
  readonly fullName: string;
  test(name: string, fn?: TestFn): Promise<void>;
  test(name: string, options: TestOptions, fn?: TestFn): Promise<void>;
  skip(message?: string): void;
  todo(message?: string): void;
  diagnostic(message: string): void;
  before(fn: HookFn): void;
  after(fn: HookFn): void;
  beforeEach(fn: HookFn): void;
  afterEach(fn: HookFn): void;
}

export type TestFn = (t: TestContext, done: (err?: unknown) => void) => unknown;
export type SuiteFn = (s: { name: string }) => unknown;
export type HookFn = (t?: TestContext, done?: (err?: unknown) => void) => unknown;

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  operator?: string;
}

export interface TestResult {
  /** Names from the outermost describe down to the test, joined with " > ". */
  name: string;
  ok: boolean;
  skip?: string | true;
  todo?: string | true;
  error?: SerializedError;
  durationMs: number;
  diagnostics?: string[];
}

export interface TestReport {
  done: boolean;
  /** Name of the test running when the report was taken (set if not done). */
  current?: string;
  results: TestResult[];
  passed: number;
  failed: number;
  skipped: number;
  todo: number;
}

interface Hooks {
  before: HookFn[];
  after: HookFn[];
  beforeEach: HookFn[];
  afterEach: HookFn[];
}

interface TestNode extends Hooks {
  kind: "test";
  name: string;
  options: TestOptions;
  fn?: TestFn;
}

interface SuiteNode extends Hooks {
  kind: "suite";
  name: string;
  options: TestOptions;
  children: Array<TestNode | SuiteNode>;
  /** Set when the describe callback returned a promise. */
  ready?: Promise<unknown>;
  error?: unknown;
}

function newHooks(): Hooks {
  return { before: [], after: [], beforeEach: [], afterEach: [] };
}

const root: SuiteNode = { kind: "suite", name: "", options: {}, children: [], ...newHooks() };
let collecting: SuiteNode = root;
/** >0 while a describe callback is being collected. */
let collectDepth = 0;
const results: TestResult[] = [];
let running = false;
let finished = false;
let current: RunningTest | null = null;

function now(): number {
  return typeof performance !== "undefined" ? performance.now() : Date.now();
}

function serializeError(e: unknown): SerializedError {
  if (e instanceof Error) {
    const out: SerializedError = { name: e.name, message: e.message };
    if (typeof e.stack === "string") out.stack = e.stack;
    const x = e as Error & { code?: unknown; operator?: unknown };
    if (typeof x.code === "string") out.code = x.code;
    if (typeof x.operator === "string") out.operator = x.operator;
    return out;
  }
  let text: string;
  try {
    text = typeof e === "string" ? e : JSON.stringify(e) ?? String(e);
  } catch {
    text = String(e);
  }
  return { name: "NonError", message: `non-Error thrown: ${text}` };
}

function parseArgs<F>(name: unknown, a?: unknown, b?: unknown): { name: string; options: TestOptions; fn?: F } {
  let options: TestOptions = {};
  let fn: F | undefined;
  if (typeof name === "function") {
    fn = name as F;
    name = (name as Function).name || "<anonymous>";
  } else if (typeof a === "function") {
    fn = a as F;
  } else {
    if (a && typeof a === "object") options = a as TestOptions;
    if (typeof b === "function") fn = b as F;
  }
  return { name: String(name ?? "<anonymous>"), options, fn };
}

function callWithDone(fn: Function, ctx: unknown): Promise<unknown> {
  if (fn.length >= 2) {
    return new Promise((resolve, reject) => {
      const done = (err?: unknown) => (err ? reject(err) : resolve(undefined));
      try {
        const r = fn(ctx, done);
        if (r && typeof (r as Promise<unknown>).then === "function") (r as Promise<unknown>).then(undefined, reject);
      } catch (e) {
        reject(e);
      }
    });
  }
  try {
    return Promise.resolve(fn(ctx));
  } catch (e) {
    return Promise.reject(e);
  }
}

// ---------------------------------------------------------------------------
// registration

function addTest(name: unknown, a?: unknown, b?: unknown): Promise<void> {
  const { name: n, options, fn } = parseArgs<TestFn>(name, a, b);
  if (running && current && collectDepth === 0) return current.subtest(n, options, fn);
  collecting.children.push({ kind: "test", name: n, options, fn, ...newHooks() });
  return Promise.resolve();
}

function addSuite(name: unknown, a?: unknown, b?: unknown): Promise<void> {
  const { name: n, options, fn } = parseArgs<SuiteFn>(name, a, b);
  const suite: SuiteNode = { kind: "suite", name: n, options, children: [], ...newHooks() };
  if (running && current && collectDepth === 0) {
    // A describe inside a running test: collect it now, run it as a subtest.
    collectSuite(suite, fn);
    return current.subsuite(suite);
  }
  collecting.children.push(suite);
  collectSuite(suite, fn);
  return Promise.resolve();
}

function collectSuite(suite: SuiteNode, fn: SuiteFn | undefined): void {
  if (!fn) return;
  const outer = collecting;
  collecting = suite;
  collectDepth++;
  try {
    const r = fn({ name: suite.name });
    if (r && typeof (r as Promise<unknown>).then === "function") {
      suite.ready = (r as Promise<unknown>).then(undefined, (e) => {
        suite.error = e;
      });
    }
  } catch (e) {
    suite.error = e;
  } finally {
    collecting = outer;
    collectDepth--;
  }
}

function hookAdder(kind: keyof Hooks) {
  return (fn: HookFn): void => {
    if (running && current && collectDepth === 0) current.hooks[kind].push(fn);
    else collecting[kind].push(fn);
  };
}

type TestAPI = {
  (name: string, fn?: TestFn): Promise<void>;
  (name: string, options: TestOptions, fn?: TestFn): Promise<void>;
  (fn: TestFn): Promise<void>;
  skip: TestAPI;
  todo: TestAPI;
  only: TestAPI;
};
type SuiteAPI = {
  (name: string, fn?: SuiteFn): Promise<void>;
  (name: string, options: TestOptions, fn?: SuiteFn): Promise<void>;
  (fn: SuiteFn): Promise<void>;
  skip: SuiteAPI;
  todo: SuiteAPI;
  only: SuiteAPI;
};

function withVariants<T>(base: (name: unknown, a?: unknown, b?: unknown) => Promise<void>): T {
  const variant = (extra: TestOptions) =>
    ((name: unknown, a?: unknown, b?: unknown) => {
      const { name: n, options, fn } = parseArgs<Function>(name, a, b);
      return base(n, { ...options, ...extra }, fn);
    }) as unknown as T;
  const api = (name: unknown, a?: unknown, b?: unknown) => base(name, a, b);
  return Object.assign(api, {
    skip: variant({ skip: true }),
    todo: variant({ todo: true }),
    only: variant({ only: true }),
  }) as unknown as T;
}

export const it = withVariants<TestAPI>(addTest);
export const describe = withVariants<SuiteAPI>(addSuite);
export const suite = describe;
export const before = hookAdder("before");
export const after = hookAdder("after");
export const beforeEach = hookAdder("beforeEach");
export const afterEach = hookAdder("afterEach");

type TestDefault = TestAPI & {
  test: TestAPI;
  it: TestAPI;
  describe: SuiteAPI;
  suite: SuiteAPI;
  before: typeof before;
  after: typeof after;
  beforeEach: typeof beforeEach;
  afterEach: typeof afterEach;
};

export const test = withVariants<TestDefault>(addTest);
Object.assign(test, { test, it, describe, suite, before, after, beforeEach, afterEach });
export default test;

// ---------------------------------------------------------------------------
// running

function joinName(prefix: string, name: string): string {
  return prefix ? `${prefix} > ${name}` : name;
}

function optionFlag(v: boolean | string | undefined): string | true | undefined {
  if (v === undefined || v === false) return undefined;
  return v === true ? true : String(v);
}

class RunningTest {
  readonly hooks: Hooks = newHooks();
  private queue: Promise<void> = Promise.resolve();
  private subtestsFailed = 0;
  private pending = 0;
  skipped: string | true | undefined;
  todoFlag: string | true | undefined;
  diagnostics: string[] = [];
  context: TestContext;

  constructor(
    readonly name: string,
    readonly fullName: string,
    private readonly eachChain: { beforeEach: HookFn[]; afterEach: HookFn[] },
  ) {
    const self = this;
    this.context = {
      name,
      fullName,
      test(n: string, a?: unknown, b?: unknown) {
        const p = parseArgs<TestFn>(n, a, b);
        return self.subtest(p.name, p.options, p.fn);
      },
      skip(message?: string) {
        self.skipped = message ?? true;
      },
      todo(message?: string) {
        self.todoFlag = message ?? true;
      },
      diagnostic(message: string) {
        self.diagnostics.push(String(message));
      },
      before: (fn) => self.hooks.before.push(fn),
      after: (fn) => self.hooks.after.push(fn),
      beforeEach: (fn) => self.hooks.beforeEach.push(fn),
      afterEach: (fn) => self.hooks.afterEach.push(fn),
    } as TestContext;
  }

  /** Subtests run one after another; the parent waits for all of them. */
  subtest(name: string, options: TestOptions, fn: TestFn | undefined): Promise<void> {
    const node: TestNode = { kind: "test", name, options, fn, ...newHooks() };
    return this.enqueue(async () => {
      const r = await runTest(node, this.fullName, this.childChain());
      if (!r) this.subtestsFailed++;
    });
  }

  subsuite(node: SuiteNode): Promise<void> {
    return this.enqueue(async () => {
      const before = results.length;
      await runSuite(node, this.fullName, this.childChain());
      if (results.slice(before).some((r) => !r.ok && !r.todo)) this.subtestsFailed++;
    });
  }

  private childChain() {
    return {
      beforeEach: [...this.eachChain.beforeEach, ...this.hooks.beforeEach],
      afterEach: [...this.hooks.afterEach, ...this.eachChain.afterEach],
    };
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    this.pending++;
    const first = this.pending === 1 && this.hooks.before.length > 0;
    const run = async () => {
      if (first) for (const h of this.hooks.before) await callWithDone(h, this.context);
      const outer = current;
      try {
        await job();
      } finally {
        current = outer;
      }
    };
    const p = this.queue.then(run);
    this.queue = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  /** Waits for queued subtests, then reports how many failed. */
  async settle(): Promise<number> {
    let seen = -1;
    while (seen !== this.pending) {
      seen = this.pending;
      await this.queue;
    }
    for (const h of this.hooks.after) await callWithDone(h, this.context);
    return this.subtestsFailed;
  }
}

async function runHooks(hooks: HookFn[], ctx: unknown): Promise<void> {
  for (const h of hooks) await callWithDone(h, ctx);
}

/** Runs one test; resolves true when it passed (or was skipped / todo). */
async function runTest(node: TestNode, prefix: string, chain: { beforeEach: HookFn[]; afterEach: HookFn[] }): Promise<boolean> {
  const fullName = joinName(prefix, node.name);
  const skip = optionFlag(node.options.skip);
  let todo = optionFlag(node.options.todo);
  if (skip !== undefined || !node.fn) {
    // Skipped, or no function (a no-op test, as in Node).
    const result: TestResult = { name: fullName, ok: true, durationMs: 0 };
    if (skip !== undefined) result.skip = skip;
    else if (todo !== undefined) result.todo = todo;
    results.push(result);
    return true;
  }
  const t = new RunningTest(node.name, fullName, chain);
  const outer = current;
  current = t;
  const start = now();
  let error: unknown;
  let failed = false;
  try {
    await runHooks(chain.beforeEach, t.context);
    await callWithDone(node.fn, t.context);
  } catch (e) {
    error = e;
    failed = true;
  }
  try {
    const n = await t.settle();
    if (n && !failed) {
      failed = true;
      error = new Error(`${n} subtest${n === 1 ? "" : "s"} failed`);
    }
  } catch (e) {
    if (!failed) {
      failed = true;
      error = e;
    }
  }
  current = t;
  try {
    await runHooks(chain.afterEach, t.context);
  } catch (e) {
    if (!failed) {
      failed = true;
      error = e;
    }
  }
  current = outer;
  todo = t.todoFlag ?? todo;
  const result: TestResult = { name: fullName, ok: !failed, durationMs: now() - start };
  if (failed) result.error = serializeError(error);
  if (t.skipped !== undefined) result.skip = t.skipped;
  if (todo !== undefined) result.todo = todo;
  if (t.diagnostics.length) result.diagnostics = t.diagnostics;
  results.push(result);
  return !failed || todo !== undefined;
}

function countTests(s: SuiteNode): number {
  return s.children.reduce((n, c) => n + (c.kind === "test" ? 1 : countTests(c)), 0);
}

async function runSuite(s: SuiteNode, prefix: string, chain: { beforeEach: HookFn[]; afterEach: HookFn[] }): Promise<void> {
  const name = s === root ? prefix : joinName(prefix, s.name);
  if (s.ready) await s.ready;
  const skip = optionFlag(s.options.skip);
  const todo = optionFlag(s.options.todo);
  if (skip !== undefined || (todo !== undefined && countTests(s) === 0)) {
    results.push({ name, ok: true, durationMs: 0, ...(skip !== undefined ? { skip } : { todo }) });
    return;
  }
  if (s.error !== undefined) {
    results.push({ name, ok: false, durationMs: 0, error: serializeError(s.error) });
    return;
  }
  const start = now();
  try {
    await runHooks(s.before, { name: s.name });
  } catch (e) {
    results.push({ name: joinName(name, "before hook"), ok: false, durationMs: now() - start, error: serializeError(e) });
    return;
  }
  const inner = {
    beforeEach: [...chain.beforeEach, ...s.beforeEach],
    afterEach: [...s.afterEach, ...chain.afterEach],
  };
  for (const child of s.children) {
    if (child.kind === "test") {
      const before = results.length;
      await runTest(child, name, inner);
      if (todo !== undefined) for (const r of results.slice(before)) r.todo ??= todo;
    } else {
      await runSuite(child, name, inner);
    }
  }
  try {
    await runHooks(s.after, { name: s.name });
  } catch (e) {
    results.push({ name: joinName(name, "after hook"), ok: false, durationMs: now() - start, error: serializeError(e) });
  }
}

function report(): TestReport {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  let todo = 0;
  for (const r of results) {
    if (r.skip !== undefined) skipped++;
    else if (r.todo !== undefined) todo++;
    else if (r.ok) passed++;
    else failed++;
  }
  const out: TestReport = { done: finished, results: results.slice(), passed, failed, skipped, todo };
  if (!finished && current) out.current = current.fullName;
  return out;
}

/** Snapshot of the run so far (useful when the run never finishes). */
export function testState(): TestReport {
  return report();
}

/** Runs every registered test once; later calls return the same report. */
let runPromise: Promise<TestReport> | undefined;
export function runTests(): Promise<TestReport> {
  runPromise ??= (async () => {
    running = true;
    await runSuite(root, "", { beforeEach: [], afterEach: [] });
    finished = true;
    running = false;
    return report();
  })();
  return runPromise;
}
