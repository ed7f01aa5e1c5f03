/**
 * Debian's Chromium, headless, driven by playwright-core, for the browser
 * tests. The tests fail, never skip, when it is missing.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** Flags Chromium needs here: run as root without a sandbox, no GPU, no background network. */
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Starts Chromium with a fresh profile. `viewport` defaults to a desktop window. */
export async function startBrowser(
  options: {
    viewport?: { width: number; height: number };
    httpCredentials?: { username: string; password: string };
  } = {},
): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: options.viewport ?? { width: 1280, height: 800 },
    httpCredentials: options.httpCredentials,
  });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Screen sizes the page is checked at. */
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** Where a test keeps what it produced for people to look at (screenshots). */
export function outputDir(test: string): string {
  const dir = path.resolve(process.env.TEST_OUTPUT ?? "test-output", test);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
