/**
 * The dashboard page, built from TypeScript (page/) with the project's own
 * esbuild step when the server starts: one script and one style sheet, uPlot
 * bundled in, nothing fetched from the network.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

export interface PageFiles {
  [urlPath: string]: { body: Buffer; type: string };
}

export async function buildPage(): Promise<PageFiles> {
  const { build } = await import("esbuild"); // loaded when a dashboard starts (see sim/start.mjs)
  const result = await build({
    entryPoints: [path.join(here, "page", "main.ts")],
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2020",
    write: false,
    outdir: "/page",
    logLevel: "silent",
  });
  const files: PageFiles = {};
  for (const file of result.outputFiles) {
    const name = path.basename(file.path);
    files[`/${name}`] = {
      body: Buffer.from(file.contents),
      type: name.endsWith(".css") ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8",
    };
  }
  files["/"] = { body: Buffer.from(HTML), type: "text/html; charset=utf-8" };
  return files;
}

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Devices</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/main.css">
</head>
<body>
<header class="top"><strong>Devices</strong><span id="summary"></span><span id="broker"></span><span id="live" class="live">connecting…</span></header>
<main class="layout">
  <section class="list" aria-label="devices"><table id="devices"><thead><tr>
    <th data-sort="id">Device</th><th data-sort="online">State</th><th data-sort="temp">°C</th><th data-sort="hum">%RH</th><th data-sort="age">Age</th><th data-sort="led">LED</th>
  </tr></thead><tbody></tbody></table><p id="empty" class="muted">No device has reported yet.</p></section>
  <section id="detail" class="detail" hidden></section>
</main>
<script type="module" src="/main.js"></script>
</body>
</html>
`;
