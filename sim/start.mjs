/**
 * `npm start`: builds the simulator (sim/main.ts) into build/sim.mjs with
 * esbuild (when a source changed since), as the dashboard's page is built at start, and runs it in this
 * process: the same flags, output, exit codes and signal handling as
 * `node --import tsx sim/main.ts`, with less memory per virtual device (see
 * ./bundle.mjs).
 */
import { pathToFileURL } from "node:url";
import { bundle } from "./bundle.mjs";

let main;
try {
  main = await bundle("sim/main.ts", "sim");
} catch (error) {
  process.stderr.write(`error: cannot build the simulator: ${error.message}\n`);
  process.exit(2);
}
await import(pathToFileURL(main).href);
