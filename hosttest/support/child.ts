/**
 * The one way the tests and tools run a child process and wait on it: its
 * stdout and stderr collected together, its exit as a promise, a wait for a
 * text or pattern in its output (refused at once when the process has ended
 * without printing it), and a stop that ends its whole process group when it
 * was started `detached`.
 */
import { type ChildProcess, spawn } from "node:child_process";

export interface Child {
  child: ChildProcess;
  /** Everything it printed so far, stdout and stderr interleaved. */
  output(): string;
  /** Resolves with the exit code (null after a signal). */
  exited: Promise<number | null>;
  /** Resolves with the exit code once its output is complete too (stdout and stderr closed). */
  closed: Promise<number | null>;
  /** Waits until the output (as `options.view` shows it) matches the pattern (resolving with the match) or contains `text`. */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpExecArray>;
  waitFor(text: string, ms?: number): Promise<undefined>;
  /** SIGTERM (to the group when detached), SIGKILL after 3 s; resolves once it has exited. */
  stop(): Promise<void>;
}

export interface ChildOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Its own process group, so that `stop()` reaches everything it started. */
  detached?: boolean;
  /** What to call it in messages. */
  name?: string;
  /** The output as `waitFor` reads it (e.g. without terminal colours). */
  view?: (output: string) => string;
}

export function launch(command: string, args: string[], options: ChildOptions = {}): Child {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    detached: options.detached,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const name = options.name ?? command;
  const view = options.view ?? ((s: string) => s);
  let output = "";
  let ended = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  const add = (d: Buffer) => {
    output += d.toString();
    wake();
  };
  child.stdout!.on("data", add);
  child.stderr!.on("data", add);
  const end = () => {
    ended = true;
    wake();
  };
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      // Its last output may still be on the way; a grandchild may hold the pipes open for good.
      setTimeout(end, 500).unref();
      resolve(code);
    }),
  );
  const closed = new Promise<number | null>((resolve) =>
    child.once("close", (code) => {
      end();
      resolve(code);
    }),
  );
  const signal = (which: NodeJS.Signals) => {
    try {
      if (options.detached && child.pid) process.kill(-child.pid, which);
      else child.kill(which);
    } catch {
      // already gone
    }
  };
  return {
    child,
    output: () => output,
    exited,
    closed,
    // 20 s by default: on a fresh machine (CI) a process may spend seconds compiling TypeScript before its first line.
    waitFor(text: string | RegExp, ms = 20000): Promise<RegExpExecArray | undefined> {
      const find = (): RegExpExecArray | undefined | false => {
        const seen = view(output);
        if (typeof text === "string") return seen.includes(text) ? undefined : false;
        return text.exec(seen) ?? false;
      };
      return new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        const check = () => {
          const found = find();
          if (found !== false) {
            done();
            resolve(found);
          } else if (ended) {
            done();
            reject(
              new Error(
                `${name} exited (${child.exitCode ?? child.signalCode}) before printing ${text}; output:\n${output}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${name} did not print ${text} within ${ms} ms; output:\n${output}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    },
  } as Child;
}
