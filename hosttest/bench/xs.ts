/**
 * XS measurements for the bench: heap slots and computation per operation,
 * via hosttest/bench/xs-probe.ts in one xsnap-worker.
 *
 * Per op: warm up, then for each round `gc()`, run "op 0" (baseline: the
 * command's own cost), `gc()`, run "op N"; slots/op = Δ currentHeapCount / N,
 * compute/op = Δ compute / N. The median of the rounds is reported.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { bundleModule } from "../xs/bundle.ts";
import { startXS, type XSSession } from "../xs/worker.ts";

const here = path.dirname(fileURLToPath(import.meta.url));

export interface XSOpResult {
  slotsPerOp: number;
  computePerOp: number;
  /** Every round's slots/op, to show agreement. */
  rounds: number[];
  /** Operations per measured run. */
  n: number;
  info: string;
}

const median = (xs: number[]): number => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export class XSProbe {
  private constructor(private readonly xs: XSSession) {}

  /** `probe`: the script that sets `handleCommand` (default ./xs-probe.ts). */
  static async start(probe = path.join(here, "xs-probe.ts")): Promise<XSProbe> {
    const bundle = await bundleModule(probe);
    const xs = await startXS();
    try {
      await xs.evaluate(bundle.code);
    } catch (e) {
      xs.terminate();
      throw new Error(bundle.mapStack(String(e instanceof Error ? e.message : e)));
    }
    return new XSProbe(xs);
  }

  private async run(op: string, n: number): Promise<{ heap: number; compute: number; info: string }> {
    await this.xs.evaluate("gc()");
    const { reply, meter } = await this.xs.issueStringCommand(`${op} ${n}`);
    return { heap: meter.currentHeapCount, compute: meter.compute, info: reply };
  }

  /**
   * `n` is lowered so that one run allocates at most ~60K slots: the heap
   * starts with 256K and a collection inside the run would hide allocations.
   */
  async measure(op: string, n = 1000, rounds = 5, warmup = 300): Promise<XSOpResult> {
    await this.run(op, warmup);
    const b0 = await this.run(op, 0);
    const e0 = await this.run(op, 20);
    const estimate = Math.max(1, (e0.heap - b0.heap) / 20);
    n = Math.max(20, Math.min(n, Math.floor(60000 / estimate)));
    const slots: number[] = [];
    const compute: number[] = [];
    let info = "";
    for (let r = 0; r < rounds; r++) {
      const base = await this.run(op, 0);
      const hit = await this.run(op, n);
      slots.push((hit.heap - base.heap) / n);
      compute.push((hit.compute - base.compute) / n);
      info = hit.info;
    }
    return { slotsPerOp: median(slots), computePerOp: median(compute), rounds: slots, n, info };
  }

  async close(): Promise<void> {
    await this.xs.close();
  }
}
