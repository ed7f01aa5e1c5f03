/**
 * A node:test reporter (npm test adds it after `spec`) that ends the run with
 * one line per layer: the unit tests on Node (hosttest/unit/), the same files
 * inside XS (hosttest/xs.test.ts's `xs: …` subtests) and the end-to-end and
 * other host tests (hosttest/*.test.ts). Suites are not counted, only tests.
 * Plain JavaScript: node loads reporters before tsx's hooks are in place.
 */
import path from "node:path";

/** @typedef {"unit" | "xs" | "e2e"} Layer */
/** @typedef {{ type: string, data: { file?: string, nesting: number, skip?: unknown, todo?: unknown, details?: { type?: string } } }} TestEvent */

const LABELS = { unit: "unit tests on Node", xs: "the same unit tests in XS", e2e: "end-to-end and other host tests" };

/** @param {string} file @param {number} nesting @returns {Layer | undefined} */
function layerOf(file, nesting) {
  const rel = path.relative(process.cwd(), file).split(path.sep).join("/");
  if (rel.startsWith("hosttest/unit/")) return "unit";
  // In xs.test.ts each unit file is a test whose subtests are the XS tests.
  if (rel === "hosttest/xs.test.ts") return nesting === 1 ? "xs" : undefined;
  return "e2e";
}

/** @param {AsyncIterable<TestEvent>} source */
export default async function* counts(source) {
  const tally = {
    unit: { passed: 0, failed: 0, skipped: 0 },
    xs: { passed: 0, failed: 0, skipped: 0 },
    e2e: { passed: 0, failed: 0, skipped: 0 },
  };
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const { file, nesting, skip, todo, details } = event.data;
    if (!file || details?.type === "suite") continue;
    const layer = layerOf(file, nesting);
    if (!layer) continue;
    if (skip !== undefined || todo !== undefined) tally[layer].skipped++;
    else if (event.type === "test:pass") tally[layer].passed++;
    else tally[layer].failed++;
  }
  let out = "\n";
  for (const layer of /** @type {const} */ (["unit", "xs", "e2e"])) {
    const { passed, failed, skipped } = tally[layer];
    out += `${LABELS[layer]}: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`;
  }
  yield out;
}
