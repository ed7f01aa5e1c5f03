/**
 * `npm run device:build | device:flash | device:sim -- [options] [key=value …]`:
 * the mcconfig lines of docs/device.md, after checking the environment and
 * saying what is missing, and after building the device's page (a resource
 * of the build).
 *
 *   npm run device:flash -- ssid=MyWiFi password=secret broker=mqtt://192.168.1.10
 *   npm run device:flash -- --platform esp32/esp32s3 --port /dev/ttyACM0
 *   npm run device:build -- --release broker=mqtt://192.168.1.10
 *   npm run device:sim -- broker=mqtt://127.0.0.1
 *
 * Options: --platform P (default esp32), --port DEV (UPLOAD_PORT), --release
 * (no debugger; the trace goes to the serial port), --dry-run (check and
 * print the command only). Every other argument is a configuration key=value.
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { writePage } from "../page/build";
import { isConfigKey, likelyKey, parseBroker, parseValue } from "../src/app/config";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
type Command = "build" | "flash" | "sim";

interface Plan {
  command: Command;
  platform: string;
  port: string | undefined;
  release: boolean;
  dryRun: boolean;
  settings: string[];
}

const USAGE = `usage: npm run device:build|device:flash|device:sim -- [--platform esp32/…] [--port /dev/ttyUSB0] [--release] [--dry-run] [key=value …]`;

function parse(argv: string[]): Plan {
  const command = argv[0] as Command;
  if (command !== "build" && command !== "flash" && command !== "sim") throw new Error(USAGE);
  const plan: Plan = {
    command,
    platform: command === "sim" ? "lin" : "esp32",
    port: undefined,
    release: false,
    dryRun: false,
    settings: [],
  };
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--release") plan.release = true;
    else if (arg === "--dry-run") plan.dryRun = true;
    else if (arg === "--platform" || arg === "--port") {
      const value = argv[++i];
      if (!value) throw new Error(`${arg} needs a value`);
      if (arg === "--platform") plan.platform = value;
      else plan.port = value;
    } else if (arg.startsWith("--")) throw new Error(`unknown option ${arg}\n${USAGE}`);
    else {
      const eq = arg.indexOf("=");
      if (eq <= 0) throw new Error(`expected key=value, got "${arg}"\n${USAGE}`);
      const key = arg.slice(0, eq);
      if (!isConfigKey(key)) {
        const meant = likelyKey(key);
        throw new Error(`unknown key "${key}"${meant ? ` (did you mean "${meant}"?)` : ""}`);
      }
      const checked = parseValue(key, arg.slice(eq + 1));
      if ("error" in checked) throw new Error(checked.error);
      plan.settings.push(arg);
    }
  }
  if (
    command === "sim" &&
    !plan.platform.startsWith("lin") &&
    !plan.platform.startsWith("mac") &&
    !plan.platform.startsWith("win")
  )
    throw new Error("device:sim runs the Moddable simulator: --platform lin, mac or win");
  if (command !== "sim" && !plan.platform.startsWith("esp32"))
    throw new Error(
      `--platform ${plan.platform}: this firmware runs on the ESP32 family (esp32, esp32/esp32s3, esp32/esp32c3, …)`,
    );
  return plan;
}

function which(binary: string): string | undefined {
  const r = spawnSync("sh", ["-c", `command -v ${binary}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** The machine's LAN addresses: what the board must be told instead of 127.0.0.1. */
function lanAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(os.networkInterfaces()))
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) out.push(a.address);
  return out;
}

function setting(plan: Plan, key: string): string | undefined {
  const found = plan.settings.find((s) => s.startsWith(`${key}=`));
  return found?.slice(key.length + 1);
}

/** The ESP-IDF version the SDK documents ("uses ESP-IDF v6.0"), and the one at IDF_PATH. */
function idfVersions(moddable: string, idf: string): { wanted?: string; found?: string } {
  let wanted: string | undefined;
  try {
    wanted = /uses ESP-IDF v(\d+\.\d+)/.exec(
      fs.readFileSync(path.join(moddable, "documentation", "devices", "esp32.md"), "utf8"),
    )?.[1];
  } catch {
    wanted = undefined;
  }
  let found: string | undefined;
  try {
    const cmake = fs.readFileSync(path.join(idf, "tools", "cmake", "version.cmake"), "utf8");
    const major = /IDF_VERSION_MAJOR\s+(\d+)/.exec(cmake)?.[1];
    const minor = /IDF_VERSION_MINOR\s+(\d+)/.exec(cmake)?.[1];
    if (major && minor) found = `${major}.${minor}`;
  } catch {
    found = undefined;
  }
  return { wanted, found };
}

/** Serial ports a board shows up as on Linux and macOS. */
function serialPorts(): string[] {
  const ports: string[] = [];
  for (const dir of ["/dev"]) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names)
      if (/^(ttyUSB\d+|ttyACM\d+|cu\.(usbserial|SLAB_USBtoUART|usbmodem|wchusbserial).*)$/.test(name))
        ports.push(path.join(dir, name));
  }
  return ports.sort();
}

/** Problems that stop the build, and notes worth reading first. */
function check(plan: Plan): { problems: string[]; notes: string[]; env: NodeJS.ProcessEnv } {
  const problems: string[] = [];
  const notes: string[] = [];
  const env: NodeJS.ProcessEnv = { ...process.env };
  const moddable = process.env.MODDABLE;
  const host = process.platform === "darwin" ? "mac" : process.platform === "win32" ? "win" : "lin";
  if (!moddable)
    problems.push(
      "MODDABLE is not set: install the Moddable SDK (docs/device.md, step 1) and export MODDABLE=$HOME/Projects/moddable",
    );
  else if (
    !fs.existsSync(
      path.join(moddable, "build", "bin", host, "release", process.platform === "win32" ? "mcconfig.exe" : "mcconfig"),
    )
  )
    problems.push(
      `no mcconfig in ${moddable}/build/bin/${host}/release: build the SDK's host tools (cd $MODDABLE/build/makefiles/${host} && make)`,
    );
  else env.PATH = `${path.join(moddable, "build", "bin", host, "release")}${path.delimiter}${env.PATH ?? ""}`;
  if (!which("tsc"))
    problems.push("tsc is not on PATH (mcconfig compiles the TypeScript with it): npm install -g typescript");
  // -dl (the trace in this terminal) runs the SDK's xsbug-log, a Node program with its own packages.
  if (
    moddable &&
    !plan.release &&
    plan.command !== "build" &&
    !fs.existsSync(path.join(moddable, "tools", "xsbug-log", "node_modules"))
  )
    problems.push(
      "the trace needs the SDK's xsbug-log: cd $MODDABLE/tools/xsbug-log && npm install (or pass --release)",
    );

  const broker = setting(plan, "broker");
  const address = broker ? parseBroker(broker) : undefined;
  if (plan.command === "sim") {
    if (!broker) notes.push("no broker=…: MQTT stays off (try broker=mqtt://127.0.0.1 with a local mosquitto)");
    if (host === "lin" && !process.env.DISPLAY && !which("xvfb-run"))
      problems.push("no X display: run from a desktop session, or apt-get install xvfb for a headless run");
    const web = setting(plan, "web") ?? "8080";
    if (web !== "off")
      notes.push(`the page: http://127.0.0.1:${web}/ once the trace says "web: serving on port ${web}"`);
    return { problems, notes, env };
  }

  const idf = process.env.IDF_PATH;
  if (!idf)
    problems.push(
      "IDF_PATH is not set: install ESP-IDF as docs/device.md says and export IDF_PATH=$HOME/esp32/esp-idf-v6.0",
    );
  else if (!fs.existsSync(idf)) problems.push(`IDF_PATH=${idf} does not exist`);
  else {
    const { wanted, found } = idfVersions(moddable ?? "", idf);
    if (wanted && found && wanted !== found)
      problems.push(
        `ESP-IDF ${found} at ${idf}, but this Moddable SDK builds with ESP-IDF v${wanted}: git -C $IDF_PATH checkout v${wanted} && git -C $IDF_PATH submodule update --init --recursive && $IDF_PATH/install.sh`,
      );
    if (!which("idf.py"))
      notes.push(
        "idf.py is not on PATH: mcconfig sources $IDF_PATH/export.sh itself (slower); source it in your shell to save the time",
      );
  }
  if (address && /^(127\.|localhost$|::1$|0\.0\.0\.0$)/.test(address.host)) {
    const lan = lanAddresses();
    problems.push(
      `broker=${broker} is the board itself, not this PC: use the PC's LAN address${lan.length ? `, e.g. broker=mqtt://${lan[0]}` : " (hostname -I)"}`,
    );
  }
  if (!setting(plan, "ssid"))
    notes.push(
      'no ssid=…: the board starts in set-up mode: join the Wi-Fi network "<id>-setup" with a phone and fill in the page',
    );
  if (!broker) notes.push("no broker=…: set it on the page (set-up mode) or add broker=mqtt://<the PC's LAN address>");

  if (plan.command === "flash") {
    const port = plan.port ?? process.env.UPLOAD_PORT;
    const ports = port ? [port] : serialPorts();
    if (!ports.length)
      problems.push(
        "no serial port found (/dev/ttyUSB*, /dev/ttyACM*): plug the board in with a data USB cable (some are charge-only), or pass --port",
      );
    else {
      const chosen = ports[0];
      if (ports.length > 1 && !port)
        notes.push(`several serial ports (${ports.join(", ")}): using ${chosen}; pass --port to choose`);
      try {
        fs.accessSync(chosen, fs.constants.R_OK | fs.constants.W_OK);
        env.UPLOAD_PORT = chosen;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT") problems.push(`${chosen} does not exist: is the board plugged in?`);
        else
          problems.push(
            `no permission on ${chosen}: sudo usermod -aG dialout $USER, then log out and in again (or newgrp dialout)`,
          );
      }
    }
  }
  return { problems, notes, env };
}

/** `-d` debug build (`-dl`: its trace in this terminal), `-m` make (and flash or launch), `-t build` build only. */
function mcconfigArgs(plan: Plan): string[] {
  const debug = plan.release ? [] : [plan.command === "build" ? "-d" : "-dl"];
  const target = plan.command === "build" ? ["-t", "build"] : [];
  return [...debug, "-m", "-p", plan.platform, ...target, ...plan.settings];
}

async function main(): Promise<number> {
  let plan: Plan;
  try {
    plan = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`device: ${(error as Error).message}\n`);
    return 2;
  }
  const { problems, notes, env } = check(plan);
  for (const note of notes) process.stdout.write(`device: note: ${note}\n`);
  if (problems.length) {
    process.stderr.write(`device: cannot ${plan.command} yet:\n${problems.map((p) => `  - ${p}`).join("\n")}\n`);
    return 1;
  }
  const args = mcconfigArgs(plan);
  const headless = plan.command === "sim" && process.platform === "linux" && !process.env.DISPLAY;
  const line = headless ? ["xvfb-run", "-n", "2", "mcconfig", ...args] : ["mcconfig", ...args];
  const shown = line.map((a) => (/password=/i.test(a) ? a.replace(/=.*/, "=…") : a)).join(" ");
  if (plan.dryRun) {
    process.stdout.write(
      `device: would run: ${env.UPLOAD_PORT && plan.command === "flash" ? `UPLOAD_PORT=${env.UPLOAD_PORT} ` : ""}${shown}\n`,
    );
    return 0;
  }
  const sizes = await writePage(path.join(root, "build", "page"));
  process.stdout.write(`device: page built (${sizes.html} bytes, ${sizes.gzip ?? "-"} gzip)\ndevice: ${shown}\n`);
  const child = spawn(line[0], line.slice(1), { cwd: root, env, stdio: "inherit" });
  return new Promise((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`device: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
