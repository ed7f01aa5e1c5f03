/**
 * A real PostgreSQL server (Debian package) in a temporary folder on a free
 * loopback port, for tests and benchmarks. Missing PostgreSQL is an error,
 * never a skip: CI installs it. PostgreSQL refuses to run as root, so under
 * root it runs as the `postgres` user the Debian package creates.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { launch } from "./child";
import { freePort, waitForPort } from "./mosquitto";

export interface Postgres {
  /** `postgres://…` for the test database. */
  url: string;
  stop(): Promise<void>;
}

function findBin(): string {
  const base = "/usr/lib/postgresql";
  const versions = fs.existsSync(base)
    ? fs.readdirSync(base).filter((v) => fs.existsSync(path.join(base, v, "bin", "initdb")))
    : [];
  if (versions.length === 0) throw new Error("PostgreSQL is not installed: apt-get install -y postgresql");
  versions.sort((a, b) => Number(b) - Number(a));
  return path.join(base, versions[0], "bin");
}

export async function startPostgres(): Promise<Postgres> {
  const bin = findBin();
  const root = process.getuid?.() === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "postgres-"));
  fs.chmodSync(dir, 0o755);
  const data = path.join(dir, "data");
  const as = (command: string, args: string[]): [string, string[]] =>
    root ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args];
  if (root) spawnSync("chown", ["postgres:postgres", dir]);
  const [initCmd, initArgs] = as(path.join(bin, "initdb"), [
    "-D",
    data,
    "-U",
    "test",
    "--auth=trust",
    "-E",
    "UTF8",
    "--no-sync",
  ]);
  const init = spawnSync(initCmd, initArgs, { encoding: "utf8" });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  const port = await freePort();
  const [cmd, args] = as(path.join(bin, "postgres"), [
    "-D",
    data,
    "-p",
    String(port),
    "-k",
    dir,
    "-h",
    "127.0.0.1",
    "-c",
    "fsync=off",
    "-c",
    "synchronous_commit=off",
    "-c",
    "full_page_writes=off",
  ]);
  const server = launch(cmd, args, { name: "postgres" });
  const child = server.child;
  const exited = server.exited;
  try {
    await waitForPort(port, 15000);
    // Accepting TCP comes a moment before accepting logins.
    for (let i = 0; ; i++) {
      const ready = spawnSync(path.join(bin, "pg_isready"), [
        "-h",
        "127.0.0.1",
        "-p",
        String(port),
        "-U",
        "test",
        "-d",
        "postgres",
      ]);
      if (ready.status === 0) break;
      if (i > 100) throw new Error("PostgreSQL did not become ready");
      await new Promise((r) => setTimeout(r, 100));
    }
    const create = spawnSync(
      path.join(bin, "createdb"),
      ["-h", "127.0.0.1", "-p", String(port), "-U", "test", "telemetry"],
      { encoding: "utf8" },
    );
    if (create.status !== 0) throw new Error(`createdb failed: ${create.stderr}`);
  } catch (error) {
    child.kill("SIGKILL");
    throw new Error(`${(error as Error).message}\n${server.output()}`);
  }
  return {
    url: `postgres://test@127.0.0.1:${port}/telemetry`,
    async stop() {
      // runuser does not pass signals on: ask the postmaster itself for a fast shutdown.
      const [stopCmd, stopArgs] = as(path.join(bin, "pg_ctl"), ["stop", "-D", data, "-m", "fast", "-w"]);
      const stopped = spawnSync(stopCmd, stopArgs, { encoding: "utf8" });
      if (stopped.status !== 0) child.kill("SIGKILL");
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
