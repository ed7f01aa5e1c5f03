/**
 * A small `node:assert/strict` for the XS engine: no Node APIs, plain ES2022.
 * Strict semantics throughout (deepEqual is deepStrictEqual, equal is
 * strictEqual, comparisons use Object.is).
 */

export class AssertionError extends Error {
  actual: unknown;
  expected: unknown;
  operator: string;
  generatedMessage: boolean;
  code = "ERR_ASSERTION";

  constructor(options: { message?: string; actual?: unknown; expected?: unknown; operator?: string; generatedMessage?: boolean }) {
    super(options.message ?? "Failed");
    this.name = "AssertionError";
    this.actual = options.actual;
    this.expected = options.expected;
    this.operator = options.operator ?? "fail";
    this.generatedMessage = options.generatedMessage ?? options.message === undefined;
  }
}

type Message = string | Error | undefined;

function fail_(generated: string, message: Message, actual: unknown, expected: unknown, operator: string, userText = message !== undefined): never {
  if (message instanceof Error) throw message;
  throw new AssertionError({
    message: message ?? generated,
    actual,
    expected,
    operator,
    generatedMessage: !userText,
  });
}

// ---------------------------------------------------------------------------
// inspect: a compact, deterministic, multi-line-capable printer

const TYPED_ARRAY = Object.getPrototypeOf(Int8Array);

function isTypedArray(v: unknown): v is ArrayLike<number | bigint> & { constructor: { name: string } } {
  return v instanceof TYPED_ARRAY;
}

function quote(s: string): string {
  return "'" + s.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\t/g, "\\t") + "'";
}

function keyName(k: string | symbol): string {
  if (typeof k === "symbol") return `[${String(k)}]`;
  return /^[A-Za-z_$][\w$]*$/.test(k) ? k : quote(k);
}

function ctorName(v: object): string {
  const proto = Object.getPrototypeOf(v);
  if (proto === null) return "[Object: null prototype]";
  const c = proto.constructor;
  return typeof c === "function" && c.name ? c.name : "Object";
}

function primitive(v: unknown): string | undefined {
  switch (typeof v) {
    case "string":
      return quote(v);
    case "number":
      return Object.is(v, -0) ? "-0" : String(v);
    case "bigint":
      return `${v}n`;
    case "undefined":
      return "undefined";
    case "boolean":
      return String(v);
    case "symbol":
      return String(v);
    case "function":
      return `[Function: ${(v as Function).name || "(anonymous)"}]`;
    default:
      return v === null ? "null" : undefined;
  }
}

const MAX_ITEMS = 100;
/** Longest line a collection may take before it is broken into one item per line. */
let lineWidth = 72;

/** Renders a value as lines (a value that fits stays on one line). */
function render(v: unknown, indent: string, seen: Set<object>, depth: number): string {
  const p = primitive(v);
  if (p !== undefined) return p;
  const o = v as object;
  if (seen.has(o)) return "[Circular]";
  if (depth > 8) return `[${ctorName(o)}]`;
  if (o instanceof Date) return isNaN(o.getTime()) ? "Invalid Date" : o.toISOString();
  if (o instanceof RegExp) return String(o);
  if (o instanceof Error) {
    const extra = ownKeys(o).filter((k) => k !== "stack" && k !== "message");
    const head = `[${o.name}: ${o.message}]`;
    if (!extra.length) return head;
    seen.add(o);
    const body = extra.map((k) => `${keyName(k)}: ${render((o as any)[k], indent + "  ", seen, depth + 1)}`);
    seen.delete(o);
    return wrap(head + " {", body, "}", indent);
  }
  if (o instanceof Number || o instanceof String || o instanceof Boolean) {
    return `[${ctorName(o)}: ${primitive(o.valueOf())}]`;
  }
  seen.add(o);
  try {
    const inner = indent + "  ";
    const r = (x: unknown) => render(x, inner, seen, depth + 1);
    if (isTypedArray(o)) {
      const items: string[] = [];
      const n = Math.min(o.length, MAX_ITEMS);
      for (let i = 0; i < n; i++) items.push(primitive(o[i]) as string);
      if (o.length > n) items.push(`... ${o.length - n} more items`);
      return wrapItems(`${ctorName(o)}(${o.length}) [`, items, "]", indent);
    }
    if (o instanceof ArrayBuffer) {
      const bytes = new Uint8Array(o);
      const items: string[] = [];
      const n = Math.min(bytes.length, MAX_ITEMS);
      for (let i = 0; i < n; i++) items.push(bytes[i].toString(16).padStart(2, "0"));
      if (bytes.length > n) items.push(`... ${bytes.length - n} more bytes`);
      return `ArrayBuffer { <${items.join(" ")}>, byteLength: ${o.byteLength} }`;
    }
    if (o instanceof DataView) {
      return `DataView { byteLength: ${o.byteLength}, byteOffset: ${o.byteOffset}, buffer: ${r(o.buffer)} }`;
    }
    if (Array.isArray(o)) {
      const items: string[] = [];
      const n = Math.min(o.length, MAX_ITEMS);
      for (let i = 0; i < n; i++) items.push(i in o ? r(o[i]) : "<empty>");
      if (o.length > n) items.push(`... ${o.length - n} more items`);
      for (const k of ownKeys(o)) if (!isIndex(k)) items.push(`${keyName(k)}: ${r((o as any)[k])}`);
      const name = ctorName(o);
      return wrapItems(name === "Array" ? "[" : `${name}(${o.length}) [`, items, "]", indent);
    }
    if (o instanceof Map) {
      const items = [...o].map(([k, val]) => `${r(k)} => ${r(val)}`);
      return wrapItems(`Map(${o.size}) {`, items, "}", indent);
    }
    if (o instanceof Set) {
      return wrapItems(`Set(${o.size}) {`, [...o].map(r), "}", indent);
    }
    const items = ownKeys(o).map((k) => `${keyName(k)}: ${r((o as any)[k])}`);
    const name = ctorName(o);
    return wrapItems(name === "Object" ? "{" : `${name} {`, items, "}", indent);
  } finally {
    seen.delete(o);
  }
}

function wrapItems(open: string, items: string[], close: string, indent: string): string {
  if (!items.length) return open.endsWith("{") || open.endsWith("[") ? open + close : open + " " + close;
  return wrap(open, items, close, indent);
}

function wrap(open: string, items: string[], close: string, indent: string): string {
  const single = `${open} ${items.join(", ")} ${close}`;
  const bracket = open.endsWith("[") && !open.includes(" ");
  const oneLine = bracket ? `${open}${items.join(", ")}${close}` : single;
  if (oneLine.length + indent.length <= lineWidth && !items.some((i) => i.includes("\n"))) return oneLine;
  const inner = indent + "  ";
  return `${open}\n${items.map((i) => inner + i).join(",\n")}\n${indent}${close}`;
}

function isIndex(k: string | symbol): boolean {
  return typeof k === "string" && /^(0|[1-9]\d*)$/.test(k);
}

function ownKeys(o: object): Array<string | symbol> {
  return Reflect.ownKeys(o).filter((k) => Object.prototype.propertyIsEnumerable.call(o, k));
}

/** Printable form of any value, as used in assertion messages. */
export function inspect(v: unknown): string {
  return render(v, "", new Set(), 0);
}

// ---------------------------------------------------------------------------
// deep strict equality

function tag(o: object): string {
  return Object.prototype.toString.call(o);
}

function deepEq(a: unknown, b: unknown, memo: Map<object, Set<object>>): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (tag(a) !== tag(b)) return false;

  // Cycles: a pair already under comparison is assumed equal.
  let pairs = memo.get(a);
  if (pairs?.has(b)) return true;
  if (!pairs) memo.set(a, (pairs = new Set()));
  pairs.add(b);

  if (a instanceof Date) {
    if (!Object.is(a.getTime(), (b as Date).getTime())) return false;
  } else if (a instanceof RegExp) {
    const rb = b as RegExp;
    if (a.source !== rb.source || a.flags !== rb.flags || a.lastIndex !== rb.lastIndex) return false;
  } else if (a instanceof Error) {
    const eb = b as Error;
    if (a.name !== eb.name || a.message !== eb.message) return false;
  } else if (a instanceof Number || a instanceof String || a instanceof Boolean) {
    if (!Object.is(a.valueOf(), (b as typeof a).valueOf())) return false;
  } else if (isTypedArray(a)) {
    const tb = b as typeof a;
    if (a.length !== tb.length) return false;
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], tb[i])) return false;
  } else if (a instanceof ArrayBuffer) {
    if (!bytesEqual(new Uint8Array(a), new Uint8Array(b as ArrayBuffer))) return false;
  } else if (a instanceof DataView) {
    const db = b as DataView;
    if (!bytesEqual(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), new Uint8Array(db.buffer, db.byteOffset, db.byteLength)))
      return false;
  } else if (Array.isArray(a)) {
    const ab = b as unknown[];
    if (a.length !== ab.length) return false;
    for (let i = 0; i < a.length; i++) {
      if (i in a !== i in ab) return false;
      if (!deepEq(a[i], ab[i], memo)) return false;
    }
  } else if (a instanceof Map) {
    if (!mapEq(a, b as Map<unknown, unknown>, memo)) return false;
  } else if (a instanceof Set) {
    if (!setEq(a, b as Set<unknown>, memo)) return false;
  } else if (a instanceof WeakMap || a instanceof WeakSet || a instanceof Promise) {
    return false; // distinct instances are never equal (identity was checked above)
  }

  // Own enumerable properties (for arrays: the non-index ones, elements were done).
  const ka = ownKeys(a).filter((k) => !(Array.isArray(a) || isTypedArray(a)) || !isIndex(k));
  const kb = ownKeys(b).filter((k) => !(Array.isArray(b) || isTypedArray(b)) || !isIndex(k));
  if (ka.length !== kb.length) return false;
  const setB = new Set(kb);
  for (const k of ka) {
    if (!setB.has(k)) return false;
    if (!deepEq((a as any)[k], (b as any)[k], memo)) return false;
  }
  return true;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isObjectLike(v: unknown): v is object {
  return (typeof v === "object" && v !== null) || typeof v === "function";
}

function mapEq(a: Map<unknown, unknown>, b: Map<unknown, unknown>, memo: Map<object, Set<object>>): boolean {
  if (a.size !== b.size) return false;
  const loose: Array<[unknown, unknown]> = [];
  for (const [k, v] of a) {
    if (b.has(k)) {
      if (!deepEq(v, b.get(k), memo)) return false;
    } else if (isObjectLike(k)) {
      loose.push([k, v]);
    } else {
      return false;
    }
  }
  if (!loose.length) return true;
  const candidates = [...b].filter(([k]) => !a.has(k) && isObjectLike(k));
  for (const [k, v] of loose) {
    const i = candidates.findIndex(([k2, v2]) => deepEq(k, k2, memo) && deepEq(v, v2, memo));
    if (i < 0) return false;
    candidates.splice(i, 1);
  }
  return true;
}

function setEq(a: Set<unknown>, b: Set<unknown>, memo: Map<object, Set<object>>): boolean {
  if (a.size !== b.size) return false;
  const loose: unknown[] = [];
  for (const v of a) {
    if (b.has(v)) continue;
    if (!isObjectLike(v)) return false;
    loose.push(v);
  }
  if (!loose.length) return true;
  const candidates = [...b].filter((v) => !a.has(v) && isObjectLike(v));
  for (const v of loose) {
    const i = candidates.findIndex((c) => deepEq(v, c, memo));
    if (i < 0) return false;
    candidates.splice(i, 1);
  }
  return true;
}

/** True when `a` and `b` are deep-strict-equal. */
export function isDeepStrictEqual(a: unknown, b: unknown): boolean {
  return deepEq(a, b, new Map());
}

// ---------------------------------------------------------------------------
// line diff for messages

function diffLines(actual: string[], expected: string[]): string[] {
  const n = actual.length;
  const m = expected.length;
  if (n * m > 250_000) {
    return [...actual.map((l) => "+ " + l), ...expected.map((l) => "- " + l)];
  }
  // LCS table, then walk it.
  const lcs: number[][] = [];
  for (let i = 0; i <= n; i++) lcs.push(new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i][j] = actual[i] === expected[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && actual[i] === expected[j]) {
      out.push("  " + actual[i]);
      i++;
      j++;
    } else if (i < n && (j >= m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push("+ " + actual[i++]);
    } else {
      out.push("- " + expected[j++]);
    }
  }
  return out;
}

/**
 * "title + diff", or, with a user message, "message + diff" (as recent Node
 * versions do, so the values still show up).
 */
function diffMessage(title: string, actual: unknown, expected: unknown, message?: Message): string {
  if (typeof message === "string") title = message;
  let a = inspect(actual);
  let e = inspect(expected);
  if (a.length + e.length > 80 && isObjectLike(actual) && isObjectLike(expected)) {
    // Long one-liners diff badly: lay both out one item per line.
    lineWidth = 0;
    try {
      a = inspect(actual);
      e = inspect(expected);
    } finally {
      lineWidth = 72;
    }
  }
  if (!a.includes("\n") && !e.includes("\n")) {
    if (typeof message === "string") return `${title}\n\n${a} !== ${e}\n`;
    return `${title}\n\n+ actual - expected\n\n+ ${a}\n- ${e}`;
  }
  const lines = diffLines(a.split("\n"), e.split("\n"));
  // Elide long runs of unchanged lines, keeping three lines of context each side.
  const shown: string[] = [];
  let same = 0;
  const flush = () => {
    if (same > 6) shown.splice(shown.length - same + 3, same - 6, "  ...");
    same = 0;
  };
  for (const l of lines) {
    if (l.startsWith("  ")) same++;
    else flush();
    shown.push(l);
  }
  flush();
  return `${title}\n+ actual - expected\n\n${shown.join("\n")}`;
}

// ---------------------------------------------------------------------------
// the assertions

export function ok(value: unknown, message?: Message): asserts value {
  if (!value) {
    fail_(
      arguments.length === 0 ? "No value argument passed to `assert.ok()`" : `The expression evaluated to a falsy value:\n\n  assert.ok(${inspect(value)})\n`,
      message,
      value,
      true,
      "==",
    );
  }
}

export function equal<T>(actual: unknown, expected: T, message?: Message): asserts actual is T {
  if (!Object.is(actual, expected)) {
    const title =
      typeof actual === "object" && actual !== null && typeof expected === "object" && expected !== null && isDeepStrictEqual(actual, expected)
        ? "Values have same structure but are not reference-equal:"
        : "Expected values to be strictly equal:";
    fail_(diffMessage(title, actual, expected, message), message instanceof Error ? message : undefined, actual, expected, "strictEqual", message !== undefined);
  }
}
export const strictEqual = equal;

export function notEqual(actual: unknown, expected: unknown, message?: Message): void {
  if (Object.is(actual, expected)) {
    fail_(`Expected "actual" to be strictly unequal to: ${inspect(expected)}`, message, actual, expected, "notStrictEqual");
  }
}
export const notStrictEqual = notEqual;

export function deepEqual<T>(actual: unknown, expected: T, message?: Message): asserts actual is T {
  if (!isDeepStrictEqual(actual, expected)) {
    fail_(
      diffMessage("Expected values to be strictly deep-equal:", actual, expected, message),
      message instanceof Error ? message : undefined,
      actual,
      expected,
      "deepStrictEqual",
      message !== undefined,
    );
  }
}
export const deepStrictEqual = deepEqual;

export function notDeepEqual(actual: unknown, expected: unknown, message?: Message): void {
  if (isDeepStrictEqual(actual, expected)) {
    fail_(`Expected "actual" not to be strictly deep-equal to: ${inspect(expected)}`, message, actual, expected, "notDeepStrictEqual");
  }
}
export const notDeepStrictEqual = notDeepEqual;

export function match(value: string, regexp: RegExp, message?: Message): void {
  if (typeof value !== "string" || !regexp.test(value)) {
    const why =
      typeof value !== "string"
        ? `The "string" argument must be of type string. Received ${inspect(value)}`
        : `The input did not match the regular expression ${regexp}. Input:\n\n${inspect(value)}\n`;
    fail_(why, message, value, regexp, "match");
  }
}

export function doesNotMatch(value: string, regexp: RegExp, message?: Message): void {
  if (typeof value !== "string" || regexp.test(value)) {
    fail_(`The input was expected to not match the regular expression ${regexp}. Input:\n\n${inspect(value)}\n`, message, value, regexp, "doesNotMatch");
  }
}

export function fail(message: Message = "Failed"): never {
  if (message instanceof Error) throw message;
  throw new AssertionError({ message, operator: "fail", generatedMessage: false });
}

export function ifError(value: unknown): void {
  if (value !== null && value !== undefined) {
    if (value instanceof Error) throw value;
    fail_(`ifError got unwanted exception: ${inspect(value)}`, undefined, value, null, "ifError");
  }
}

type ErrorClass = new (...args: any[]) => Error;
type Expected = RegExp | ErrorClass | ((e: unknown) => boolean) | object | Error;

function checkError(err: unknown, expected: Expected | undefined, message: Message, op: string): void {
  if (expected === undefined) return;
  if (expected instanceof RegExp) {
    const s = String(err);
    if (!expected.test(s)) {
      fail_(`The input did not match the regular expression ${expected}. Input:\n\n${inspect(s)}\n`, message, err, expected, op);
    }
    return;
  }
  if (typeof expected === "function") {
    if (expected.prototype !== undefined && err instanceof (expected as ErrorClass)) return;
    if (Error === expected || Object.prototype.isPrototypeOf.call(Error, expected)) {
      fail_(
        `The error is expected to be an instance of "${(expected as ErrorClass).name}". Received ${inspect(err)}`,
        message,
        err,
        expected,
        op,
      );
    }
    const r = (expected as (e: unknown) => boolean).call({}, err);
    if (r !== true) {
      fail_(`The validation function is expected to return "true". Received ${inspect(r)}\n\nCaught error:\n\n${inspect(err)}`, message, err, expected, op);
    }
    return;
  }
  if (typeof expected === "object" && expected !== null) {
    const keys = Reflect.ownKeys(expected).filter((k) => Object.prototype.propertyIsEnumerable.call(expected, k));
    if (expected instanceof Error) keys.push("name", "message");
    if (typeof err !== "object" || err === null) {
      fail_(`Expected an object to be thrown, received ${inspect(err)}`, message, err, expected, op);
    }
    for (const k of keys) {
      const want = (expected as any)[k];
      const got = (err as any)[k];
      if (want instanceof RegExp && typeof got === "string") {
        if (!want.test(got)) fail_(`Property ${String(k)}: ${inspect(got)} does not match ${want}`, message, err, expected, op);
      } else if (!isDeepStrictEqual(got, want)) {
        fail_(diffMessage(`Expected values to be strictly deep-equal (property ${String(k)}):`, got, want), message, err, expected, op);
      }
    }
  }
}

const NOTHING = Symbol("nothing thrown");

export function throws(fn: () => unknown, expected?: Expected | string, message?: Message): void {
  if (typeof expected === "string") {
    message = expected;
    expected = undefined;
  }
  let caught: unknown = NOTHING;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  if (caught === NOTHING) {
    fail_(`Missing expected exception${message ? `: ${message}` : "."}`, message instanceof Error ? message : undefined, undefined, expected, "throws");
  }
  checkError(caught, expected, message, "throws");
}

export function doesNotThrow(fn: () => unknown, message?: Message): void {
  try {
    fn();
  } catch (e) {
    fail_(`Got unwanted exception.\nActual message: "${e instanceof Error ? e.message : String(e)}"`, message, e, undefined, "doesNotThrow");
  }
}

export async function rejects(
  promiseOrFn: Promise<unknown> | (() => Promise<unknown>),
  expected?: Expected | string,
  message?: Message,
): Promise<void> {
  if (typeof expected === "string") {
    message = expected;
    expected = undefined;
  }
  let caught: unknown = NOTHING;
  try {
    await (typeof promiseOrFn === "function" ? promiseOrFn() : promiseOrFn);
  } catch (e) {
    caught = e;
  }
  if (caught === NOTHING) {
    fail_(`Missing expected rejection${message ? `: ${message}` : "."}`, message instanceof Error ? message : undefined, undefined, expected, "rejects");
  }
  checkError(caught, expected, message, "rejects");
}

export async function doesNotReject(promiseOrFn: Promise<unknown> | (() => Promise<unknown>), message?: Message): Promise<void> {
  try {
    await (typeof promiseOrFn === "function" ? promiseOrFn() : promiseOrFn);
  } catch (e) {
    fail_(`Got unwanted rejection.\nActual message: "${e instanceof Error ? e.message : String(e)}"`, message, e, undefined, "doesNotReject");
  }
}

interface Assert {
  (value: unknown, message?: Message): asserts value;
  ok: typeof ok;
  equal: typeof equal;
  strictEqual: typeof equal;
  notEqual: typeof notEqual;
  notStrictEqual: typeof notEqual;
  deepEqual: typeof deepEqual;
  deepStrictEqual: typeof deepEqual;
  notDeepEqual: typeof notDeepEqual;
  notDeepStrictEqual: typeof notDeepEqual;
  match: typeof match;
  doesNotMatch: typeof doesNotMatch;
  fail: typeof fail;
  ifError: typeof ifError;
  throws: typeof throws;
  doesNotThrow: typeof doesNotThrow;
  rejects: typeof rejects;
  doesNotReject: typeof doesNotReject;
  AssertionError: typeof AssertionError;
  strict: Assert;
}

const assert = function assert(value: unknown, message?: Message): void {
  if (!value) {
    fail_(`The expression evaluated to a falsy value:\n\n  assert(${inspect(value)})\n`, message, value, true, "==");
  }
} as Assert;

Object.assign(assert, {
  ok,
  equal,
  strictEqual,
  notEqual,
  notStrictEqual,
  deepEqual,
  deepStrictEqual,
  notDeepEqual,
  notDeepStrictEqual,
  match,
  doesNotMatch,
  fail,
  ifError,
  throws,
  doesNotThrow,
  rejects,
  doesNotReject,
  AssertionError,
});
assert.strict = assert;

export { assert as strict };
export default assert;
