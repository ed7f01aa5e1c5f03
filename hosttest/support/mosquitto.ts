/**
 * A real mosquitto (Debian package) on a free loopback port, for tests.
 * Missing mosquitto is an error, never a skip: CI installs it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export interface Mosquitto {
  port: number;
  /** Stops the broker (SIGKILL when `hard`, to simulate a crash). */
  stop(hard?: boolean): Promise<void>;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
  log(): string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function findMosquitto(): string {
  for (const candidate of ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"]) {
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error("mosquitto is not installed: apt-get install -y mosquitto mosquitto-clients");
}

export async function waitForPort(port: number, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts mosquitto with `extra` lines appended to a minimal config. */
export async function startMosquitto(extra: string[] = []): Promise<Mosquitto> {
  const binary = findMosquitto();
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mosquitto-"));
  const conf = path.join(dir, "mosquitto.conf");
  const lines = [
    `listener ${port} 127.0.0.1`,
    "allow_anonymous true",
    "persistence false",
    `log_dest stdout`,
    "log_type error",
    "log_type warning",
    "log_type notice",
    ...extra,
  ];
  fs.writeFileSync(conf, `${lines.join("\n")}\n`);
  let child: ChildProcess | undefined;
  let output = "";
  const launch = async () => {
    child = spawn(binary, ["-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (d) => (output += d));
    child.stderr!.on("data", (d) => (output += d));
    try {
      await waitForPort(port);
    } catch (error) {
      child.kill("SIGKILL");
      throw new Error(`mosquitto did not start: ${(error as Error).message}\n${output}`);
    }
  };
  await launch();
  return {
    port,
    log: () => output,
    async stop(hard = false) {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once("exit", r));
      c.kill(hard ? "SIGKILL" : "SIGTERM");
      await exited;
    },
    restart: launch,
  };
}

/**
 * mosquitto that keeps its sessions and queued messages across restarts, in a
 * database saved to a fresh folder (`extra` adds to the config). A restart
 * refuses to go on when no database was saved: the broker would come back
 * with every session forgotten, and a test would count its losses as ours.
 */
export async function startPersistentMosquitto(extra: string[] = []): Promise<Mosquitto> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mosquitto-data-"));
  // mosquitto started as root drops to its own user before it writes the database.
  fs.chmodSync(dir, 0o777);
  const broker = await startMosquitto(["persistence true", `persistence_location ${dir}/`, ...extra]);
  const restart = broker.restart;
  broker.restart = async () => {
    if (!fs.existsSync(path.join(dir, "mosquitto.db")))
      throw new Error(`mosquitto saved no database in ${dir}: a restart would forget every session\n${broker.log()}`);
    await restart();
  };
  return broker;
}
