/**
 * Builds one of the simulator's TypeScript entry points into one ES module
 * under build/ with esbuild (packages stay in node_modules), so that Node runs
 * it without a TypeScript loader. Under `tsx` every function keeps a
 * per-closure name array and its source maps: about 5 KiB per virtual device
 * in a fleet. Each module's `import.meta.url` is kept as its source file's, so
 * paths made from it (the dashboard's page sources) still resolve.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** @type {import("esbuild").Plugin} */
const sourceMetaUrl = {
  name: "source-import-meta-url",
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      const text = fs.readFileSync(args.path, "utf8");
      const url = JSON.stringify(pathToFileURL(args.path).href);
      return { contents: text.replaceAll("import.meta.url", url), loader: "ts" };
    });
  },
};

/**
 * Bundles `entry` (relative to the repository) into build/`name`.mjs and
 * returns the output's path. An output newer than every file it was built
 * from (listed beside it, with this file, package.json and tsconfig.json) is
 * used as it is: `npm start` then starts without loading esbuild.
 * @param {string} entry
 * @param {string} name
 * @returns {Promise<string>}
 */
export async function bundle(entry, name) {
  const outfile = path.join(root, "build", `${name}.mjs`);
  const inputsFile = `${outfile}.inputs.json`;
  if (upToDate(outfile, inputsFile)) return outfile;
  const { build, stop } = await import("esbuild");
  const result = await build({
    entryPoints: [path.join(root, entry)],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    plugins: [sourceMetaUrl],
    logLevel: "silent",
    write: false,
    metafile: true,
    absWorkingDir: root, // the metafile's input paths are relative to it (see upToDate)
  });
  // esbuild's service process would stay for the simulator's whole run (it starts again if used again).
  await stop();
  // Written beside and renamed over, so that simulators starting at once never read a half-written file.
  fs.mkdirSync(path.dirname(outfile), { recursive: true });
  const inputs = Object.keys(result.metafile.inputs);
  writeReplacing(inputsFile, JSON.stringify(inputs));
  writeReplacing(outfile, result.outputFiles[0].contents);
  return outfile;
}

/** Writes `file` through a temporary file renamed over it. */
function writeReplacing(file, contents) {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, contents);
  fs.renameSync(temporary, file);
}

/** Whether `outfile` is newer than each of the files it was built from (see bundle). */
function upToDate(outfile, inputsFile) {
  try {
    const built = fs.statSync(outfile).mtimeMs;
    const inputs = JSON.parse(fs.readFileSync(inputsFile, "utf8"));
    const always = [fileURLToPath(import.meta.url), path.join(root, "package.json"), path.join(root, "tsconfig.json")];
    return [...inputs.map((f) => path.resolve(root, f)), ...always].every((f) => fs.statSync(f).mtimeMs < built);
  } catch {
    return false; // not built yet, or an input is gone
  }
}
