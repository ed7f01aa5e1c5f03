/**
 * Builds the device's page: page/page.ts (bundled and minified by esbuild),
 * page/page.css (minified) and page/index.html, inlined into one HTML file,
 * plus its gzip form when that is smaller. The Node simulator builds it in
 * memory at start; `npm run page` writes build/page/page.html and
 * build/page/page.html.gz, which the device keeps as resources
 * (manifest.json "data").
 *
 *   npm run page [-- --out DIR]
 */

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");

export interface BuiltPage {
  /** The page, one self-contained HTML file. */
  html: Uint8Array;
  /** The same, gzip-compressed; undefined when that is not smaller. */
  gzip?: Uint8Array;
}

/** Builds the page in memory. */
export async function buildPage(): Promise<BuiltPage> {
  const esbuild = await import("esbuild"); // loaded when the page is built, not whenever this module is
  const js = await esbuild.build({
    entryPoints: [path.join(here, "page.ts")],
    bundle: true,
    write: false,
    minify: true,
    format: "iife",
    target: "es2020",
    legalComments: "none",
    logLevel: "silent",
  });
  const css = await esbuild.transform(fs.readFileSync(path.join(here, "page.css"), "utf8"), {
    loader: "css",
    minify: true,
  });
  const template = fs.readFileSync(path.join(here, "index.html"), "utf8");
  const script = js.outputFiles[0].text.trim().replace(/<\/script/gi, "<\\/script");
  const html = template
    .replace(/>\s+</g, "><")
    .replace(/\s*\n\s*/g, " ")
    .replace("/*CSS*/", () => css.code.trim())
    .replace("/*JS*/", () => script)
    .trim();
  const bytes = new TextEncoder().encode(html);
  const gzip = zlib.gzipSync(bytes, { level: 9 });
  return { html: bytes, gzip: gzip.length < bytes.length ? new Uint8Array(gzip) : undefined };
}

/** Writes page.html and page.html.gz (when smaller) into `dir`; returns their sizes. */
export async function writePage(dir: string): Promise<{ html: number; gzip: number | undefined }> {
  const page = await buildPage();
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "page.html"), page.html);
  const gz = path.join(dir, "page.html.gz");
  if (page.gzip) fs.writeFileSync(gz, page.gzip);
  else fs.rmSync(gz, { force: true });
  return { html: page.html.length, gzip: page.gzip?.length };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf("--out");
  const dir = path.resolve(at > 0 ? process.argv[at + 1] : path.join(root, "build", "page"));
  writePage(dir).then(
    (sizes) =>
      process.stdout.write(
        `page: ${path.relative(process.cwd(), dir) || "."}/page.html ${sizes.html} bytes${sizes.gzip ? `, page.html.gz ${sizes.gzip} bytes` : ""}\n`,
      ),
    (error: unknown) => {
      process.stderr.write(`page: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
