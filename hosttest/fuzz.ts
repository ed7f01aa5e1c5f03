/**
 * `npm run fuzz [count]`: the generators of hosttest/unit/fuzz.test.ts for
 * many cases on Node (default 1e6 parser cases, plus one client session case
 * per 20). Prints cases/s and the distinct errors seen with their counts;
 * exits 1 on an escaped exception or a broken invariant, 2 on a hang (a case
 * running longer than HANG_MS).
 *
 *   node --import tsx hosttest/fuzz.ts 2e6 [seed]
 */
import { hex } from "./unit/hex";

(globalThis as { __mqttFuzzCli?: boolean }).__mqttFuzzCli = true;

const { Rng, ParserHarness, parserCase, sessionCase, corpus, sessionCorpus } = await import("./unit/fuzz.test.ts");

const count = Math.floor(Number(process.argv[2] ?? 1e6));
const seed = Math.floor(Number(process.argv[3] ?? Date.now() % 1e9));
if (!(count > 0)) {
  console.error("usage: fuzz.ts [count] [seed]");
  process.exit(64);
}
const SESSION_EVERY = 20;
const HANG_MS = 2000;

/** Error texts with their numbers masked, so that counts group by kind. */
const kind = (s: string): string => s.replace(/0x[0-9a-f]+/g, "0xH").replace(/(?<![\w-])\d+\b/g, "N");

const parserErrors = new Map<string, number>();
const sessionOutcomes = new Map<string, number>();
const bump = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);

const rng = new Rng(seed);
const harness = new ParserHarness(1024);
const packets = corpus().filter((p) => p.length <= 1024);
const sPackets = sessionCorpus();
let parserCases = 0;
let sessionCases = 0;
let decoded = 0;
let bytesFed = 0;
let failures = 0;

console.log(`fuzz: ${count} parser cases, ${Math.floor(count / SESSION_EVERY)} client cases, seed ${seed}`);
const t0 = performance.now();
let lastReport = t0;
let parserMs = 0;
let sessionMs = 0;

for (let i = 0; i < count; i++) {
  const start = performance.now();
  try {
    const c = parserCase(rng, harness, packets);
    parserCases++;
    decoded += c.run.packets;
    bytesFed += c.bytes.length;
    if (c.run.errors) bump(parserErrors, kind(c.run.error));
    if (c.run.violation) {
      failures++;
      console.error(
        `VIOLATION parser case ${i} (${c.kinds.join(",")}): ${c.run.violation}\n  bytes ${hex(c.bytes)}\n  cuts ${c.cuts.join(",")}`,
      );
    }
  } catch (e) {
    failures++;
    console.error(`ESCAPED parser case ${i}: ${e instanceof Error ? e.stack : String(e)}`);
  }
  const mid = performance.now();
  parserMs += mid - start;
  if (i % SESSION_EVERY === 0) {
    try {
      const r = sessionCase(rng, sPackets);
      sessionCases++;
      bump(sessionOutcomes, kind(r.outcome));
      if (r.violation) {
        failures++;
        console.error(`VIOLATION client case ${i}: ${r.violation}`);
      }
    } catch (e) {
      failures++;
      console.error(`ESCAPED client case ${i}: ${e instanceof Error ? e.stack : String(e)}`);
    }
    sessionMs += performance.now() - mid;
  }
  const end = performance.now();
  if (end - start > HANG_MS) {
    console.error(`HANG: case ${i} took ${(end - start).toFixed(0)} ms (seed ${seed})`);
    process.exit(2);
  }
  if (failures >= 20) break;
  if (end - lastReport > 5000) {
    lastReport = end;
    console.log(`  ${i + 1} cases, ${((i + 1) / ((end - t0) / 1000)).toFixed(0)} cases/s`);
  }
}

const secs = (performance.now() - t0) / 1000;
const table = (m: Map<string, number>): string =>
  [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `  ${String(n).padStart(9)}  ${k}`)
    .join("\n");
console.log(
  `\nparser: ${parserCases} cases in ${(parserMs / 1000).toFixed(1)} s = ${(parserCases / (parserMs / 1000)).toFixed(0)} cases/s, ` +
    `${(bytesFed / 1e6).toFixed(1)} MB fed, ${decoded} packets decoded`,
);
console.log(
  `client: ${sessionCases} cases in ${(sessionMs / 1000).toFixed(1)} s = ${(sessionCases / (sessionMs / 1000)).toFixed(0)} cases/s`,
);
console.log(`total: ${secs.toFixed(1)} s`);
console.log(`\nparser errors (${parserErrors.size} distinct):\n${table(parserErrors)}`);
console.log(`\nclient outcomes (${sessionOutcomes.size} distinct):\n${table(sessionOutcomes)}`);
if (failures) {
  console.error(`\nFAILED: ${failures} failing case(s), seed ${seed}`);
  process.exit(1);
}
console.log("\nok: no escaped exception, no broken invariant, no hang");
