/**
 * Runs the simulator's real command line as a child process, for tests.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface SimProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** Waits until the output contains `text`. */
  waitFor(text: string | RegExp, ms?: number): Promise<void>;
}

/** Runs the simulator; unless `args` name a `--data` folder, each run keeps its devices' flash in a new temporary one. `env`: added to the environment. */
export function runSim(args: string[], env: Record<string, string> = {}): SimProcess {
  const data = args.indexOf("--data") >= 0 ? [] : ["--data", fs.mkdtempSync(path.join(os.tmpdir(), "sim-data-"))];
  return runScript("sim/main.ts", [...data, ...args], env, data[1]);
}

/** Runs `npm run dashboard` (sim/dashboard/main.ts) with `args`. */
export function runDashboard(args: string[]): SimProcess {
  return runScript("sim/dashboard/main.ts", args, {});
}

/** Runs one of the project's TypeScript entry points; `scratch` is deleted when it exits. */
function runScript(script: string, args: string[], env: Record<string, string>, scratch?: string): SimProcess {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(root, script), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const listeners = new Set<() => void>();
  const add = (d: Buffer) => {
    output += d.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on("data", add);
  child.stderr!.on("data", add);
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
      resolve(code);
    }),
  );
  return {
    child,
    output: () => output,
    exited,
    waitFor(text, ms = 10000) {
      const seen = () => (typeof text === "string" ? output.includes(text) : text.test(output));
      if (seen()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`simulator did not print ${text} within ${ms} ms; output:\n${output}`));
        }, ms);
        const check = () => {
          if (!seen()) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve();
        };
        listeners.add(check);
      });
    },
  };
}
