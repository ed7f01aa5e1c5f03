/**
 * Command lines of the host tools other than the simulator (`npm run
 * dashboard`, `npm run image`): `--name value` flags through node:util's
 * parseArgs, and every mistake as one line on stderr with exit code 2.
 */
import { parseArgs } from "node:util";

export function fail(message: string): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(2);
}

/**
 * The values of `names` (each takes a value) in `argv`; undefined after
 * printing `usage` for --help. Unknown flags and missing values fail.
 */
export function readFlags<N extends string>(
  argv: string[],
  names: readonly N[],
  usage: string,
): Partial<Record<N, string>> | undefined {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const name of names) options[name] = { type: "string" };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (error) {
    const e = error as Error & { code?: string };
    const flag = /'(-[^' ]+)/.exec(e.message)?.[1] ?? "";
    if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") fail(`unknown flag ${flag} (see --help)`);
    if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") fail(`${flag.split(" ")[0]} needs a value`);
    if (e.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL")
      fail(`unexpected argument ${/'([^']*)'/.exec(e.message)?.[1] ?? ""} (see --help)`);
    fail(`${e.message.split("\n")[0]} (see --help)`);
  }
  if (values.help) {
    process.stdout.write(usage);
    return undefined;
  }
  return values as Partial<Record<N, string>>;
}
