/**
 * Runs the simulator's real command line as a child process, for tests.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Child, launch } from "./child";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** A running simulator (or dashboard): its output, its exit, a wait for a line (./child). */
export type SimProcess = Child;

/** Runs the simulator; unless `args` name a `--data` folder, each run keeps its devices' flash in a new temporary one. `env`: added to the environment. */
export function runSim(args: string[], env: Record<string, string> = {}): SimProcess {
  const data = args.indexOf("--data") >= 0 ? [] : ["--data", fs.mkdtempSync(path.join(os.tmpdir(), "sim-data-"))];
  return runNode(["--import", "tsx", path.join(root, "sim/main.ts"), ...data, ...args], "sim/main.ts", env, data[1]);
}

/** The Node flags `npm start` runs the simulator with (package.json: `node <flags> sim/start.mjs`). */
export const START_FLAGS: string[] = (() => {
  const script: string = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).scripts.start;
  const words = script.split(/\s+/);
  return words.slice(words.indexOf("node") + 1, words.indexOf("sim/start.mjs"));
})();

/** Runs the simulator as `npm start` does (its Node flags, the bundle sim/start.mjs builds), for the benchmarks. */
export function runStarted(args: string[]): SimProcess {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), "sim-data-"));
  return runNode(
    [...START_FLAGS, path.join(root, "sim/start.mjs"), "--data", data, ...args],
    "sim/start.mjs",
    {},
    data,
  );
}

/** Runs `npm run dashboard` (sim/dashboard/main.ts) with `args`. */
export function runDashboard(args: string[]): SimProcess {
  return runNode(["--import", "tsx", path.join(root, "sim/dashboard/main.ts"), ...args], "sim/dashboard/main.ts", {});
}

/** Runs Node with `args` in the repository, named `name` in failures; `scratch` is deleted when it exits. */
function runNode(args: string[], name: string, env: Record<string, string>, scratch?: string): SimProcess {
  const run = launch(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    name,
  });
  if (!scratch) return run;
  const exited = run.exited.then((code) => {
    fs.rmSync(scratch, { recursive: true, force: true });
    return code;
  });
  return { ...run, exited };
}
