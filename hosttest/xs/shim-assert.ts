/**
 * The part of `node:assert/strict` the unit tests use, for XS (plain
 * ES2022): equal is strictEqual, deepEqual is deepStrictEqual, comparisons
 * use Object.is. A failure names both values, from the first place where
 * their printed forms differ.
 */

export class AssertionError extends Error {
  readonly code = "ERR_ASSERTION";
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

type Message = string | Error | undefined;

function fail_(generated: string, message: Message): never {
  if (message instanceof Error) throw message;
  throw new AssertionError(message ?? generated);
}

const TYPED_ARRAY = Object.getPrototypeOf(Int8Array);

function keysOf(o: object): string[] {
  return Object.keys(o).filter((k) => !(Array.isArray(o) || o instanceof TYPED_ARRAY) || !/^\d+$/.test(k));
}

/** A one-line printable form of a value, as in Node's messages. */
export function inspect(v: unknown, depth = 0): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "bigint") return `${v}n`;
  if (Object.is(v, -0)) return "-0";
  if (typeof v === "function") return `[Function: ${v.name || "(anonymous)"}]`;
  if (typeof v !== "object" || v === null) return String(v);
  if (depth > 6) return "[Object]";
  const r = (x: unknown) => inspect(x, depth + 1);
  if (v instanceof Error) return `[${v.name}: ${v.message}]`;
  if (v instanceof Date || v instanceof RegExp) return String(v);
  if (v instanceof TYPED_ARRAY)
    return `${v.constructor.name}(${(v as Uint8Array).length}) [${Array.from(v as Uint8Array, String).join(", ")}]`;
  if (v instanceof ArrayBuffer)
    return `ArrayBuffer <${Array.from(new Uint8Array(v), (b) => b.toString(16).padStart(2, "0")).join(" ")}>`;
  if (v instanceof Map) return `Map(${v.size}) {${[...v].map(([k, x]) => ` ${r(k)} => ${r(x)}`).join(",")} }`;
  if (v instanceof Set) return `Set(${v.size}) {${[...v].map((x) => ` ${r(x)}`).join(",")} }`;
  const props = keysOf(v).map(
    (k) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${r((v as Record<string, unknown>)[k])}`,
  );
  if (Array.isArray(v)) return `[${[...v.map(r), ...props].join(", ")}]`;
  const name = Object.getPrototypeOf(v)?.constructor?.name;
  return `${name && name !== "Object" ? `${name} ` : ""}{${props.length ? ` ${props.join(", ")} ` : ""}}`;
}

function deepEq(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date || a instanceof RegExp || a instanceof Error) return String(a) === String(b);
  if (a instanceof ArrayBuffer) return deepEq(new Uint8Array(a), new Uint8Array(b as ArrayBuffer));
  if (a instanceof TYPED_ARRAY || Array.isArray(a)) {
    const x = a as ArrayLike<unknown>;
    const y = b as ArrayLike<unknown>;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!deepEq(x[i], y[i])) return false;
  } else if (a instanceof Map) {
    const m = b as Map<unknown, unknown>;
    if (a.size !== m.size) return false;
    for (const [k, v] of a) if (!m.has(k) || !deepEq(v, m.get(k))) return false;
  } else if (a instanceof Set) {
    // Members that are not in both by identity must match one to one, deeply.
    const rest = [...(b as Set<unknown>)].filter((v) => !a.has(v));
    if (a.size !== (b as Set<unknown>).size) return false;
    for (const v of a) {
      if ((b as Set<unknown>).has(v)) continue;
      const i = rest.findIndex((w) => deepEq(v, w));
      if (i < 0) return false;
      rest.splice(i, 1);
    }
  }
  const ka = keysOf(a);
  const kb = keysOf(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEq((a as never)[k], (b as never)[k]));
}

/** "+ actual / - expected", cut to the neighbourhood of their first difference when long. */
function compared(title: string, actual: unknown, expected: unknown): string {
  let a = inspect(actual);
  let e = inspect(expected);
  if (a.length > 200 || e.length > 200) {
    let i = 0;
    while (i < a.length && a[i] === e[i]) i++;
    const from = Math.max(0, i - 80);
    a = (from ? "…" : "") + a.slice(from, i + 120) + (a.length > i + 120 ? "…" : "");
    e = (from ? "…" : "") + e.slice(from, i + 120) + (e.length > i + 120 ? "…" : "");
  }
  return `${title}\n+ actual - expected\n\n+ ${a}\n- ${e}`;
}

export function ok(value: unknown, message?: Message): asserts value {
  if (!value) fail_(`The expression evaluated to a falsy value: ${inspect(value)}`, message);
}

export function equal<T>(actual: unknown, expected: T, message?: Message): asserts actual is T {
  if (!Object.is(actual, expected)) fail_(compared("Expected values to be strictly equal:", actual, expected), message);
}

export function notEqual(actual: unknown, expected: unknown, message?: Message): void {
  if (Object.is(actual, expected)) fail_(`Expected "actual" to be strictly unequal to: ${inspect(expected)}`, message);
}

export function deepEqual<T>(actual: unknown, expected: T, message?: Message): asserts actual is T {
  if (!deepEq(actual, expected))
    fail_(compared("Expected values to be strictly deep-equal:", actual, expected), message);
}

export function notDeepEqual(actual: unknown, expected: unknown, message?: Message): void {
  if (deepEq(actual, expected))
    fail_(`Expected "actual" not to be strictly deep-equal to: ${inspect(expected)}`, message);
}

export function match(value: string, regexp: RegExp, message?: Message): void {
  if (typeof value !== "string" || !regexp.test(value))
    fail_(`The input did not match the regular expression ${regexp}. Input: ${inspect(value)}`, message);
}

export function fail(message: Message = "Failed"): never {
  return fail_("Failed", message);
}

/** What a thrown error must be: its class, a pattern for its string form, or properties it must have. */
type Expected = (new (...args: never[]) => unknown) | RegExp | Record<string, unknown>;

function check(error: unknown, expected: Expected | undefined, message: Message, operator: string): void {
  if (expected === undefined) return;
  if (typeof expected === "function") {
    if (!(error instanceof expected))
      fail_(`The error is expected to be an instance of "${expected.name}". Received ${inspect(error)}`, message);
  } else if (expected instanceof RegExp) {
    if (!expected.test(String(error)))
      fail_(`The error did not match ${expected} in assert.${operator}. Received ${inspect(error)}`, message);
  } else {
    for (const k of Object.keys(expected)) {
      const want = expected[k];
      const got = (error as Record<string, unknown>)?.[k];
      if (want instanceof RegExp ? !want.test(String(got)) : !deepEq(got, want))
        fail_(compared(`The error's "${k}" differs in assert.${operator}:`, got, want), message);
    }
  }
}

export function throws(fn: () => unknown, expected?: Expected, message?: Message): void {
  try {
    fn();
  } catch (e) {
    check(e, expected, message, "throws");
    return;
  }
  fail_("Missing expected exception.", message);
}

export async function rejects(
  promise: Promise<unknown> | (() => Promise<unknown>),
  expected?: Expected,
  message?: Message,
): Promise<void> {
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (e) {
    check(e, expected, message, "rejects");
    return;
  }
  fail_("Missing expected rejection.", message);
}

const assert = Object.assign((value: unknown, message?: Message) => ok(value, message), {
  AssertionError,
  ok,
  equal,
  strictEqual: equal,
  notEqual,
  notStrictEqual: notEqual,
  deepEqual,
  deepStrictEqual: deepEqual,
  notDeepEqual,
  notDeepStrictEqual: notDeepEqual,
  match,
  fail,
  throws,
  rejects,
});
export default assert;
