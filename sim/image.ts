/**
 * `npm run image -- --version V --out FILE [--fault boot] [--size BYTES]`:
 * builds a firmware image the simulators accept (format: docs/firmware-image.md)
 * and prints its SHA-256, ready for an `ota/set` request.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fail, readFlags } from "./flags";
import { buildImage, DEFAULT_SIZE, DIGEST_BYTES, HEADER_BYTES } from "./image-format";

const USAGE = `Usage: npm run image -- --version V --out FILE [--fault boot] [--size BYTES]

Builds a firmware image for the simulated devices (npm start) and prints its SHA-256.

  --version V     the version the image runs (reported in diag and discovery after the update)
  --out FILE      where to write it
  --fault boot    an image that never reaches the broker: the device returns to the
                  previous firmware after 2 minutes and reports rolled-back
  --size BYTES    the image's size (default ${DEFAULT_SIZE}, about an ESP32 firmware's)
`;

function main(argv: string[]): void {
  const flags = readFlags(argv, ["version", "out", "fault", "size"], USAGE);
  if (!flags) return;
  if (flags.version === undefined) fail("--version is required, e.g. --version 0.2.0");
  if (flags.out === undefined) fail("--out is required, e.g. --out firmware-0.2.0.bin");
  if (flags.fault !== undefined && flags.fault !== "boot")
    fail(`bad value "${flags.fault}" for --fault: expected boot`);
  let size = DEFAULT_SIZE;
  if (flags.size !== undefined) {
    size = /^\d+$/.test(flags.size) ? Number(flags.size) : NaN;
    if (!(size >= HEADER_BYTES + DIGEST_BYTES + 128 && size <= 0x1e0000))
      fail(
        `bad value "${flags.size}" for --size: expected bytes from ${HEADER_BYTES + DIGEST_BYTES + 128} to ${0x1e0000} (the spare partition)`,
      );
  }
  let image: Buffer;
  try {
    image = buildImage({ version: flags.version, faultBoot: flags.fault === "boot", size });
  } catch (error) {
    fail(`bad value "${flags.version}" for --version: ${(error as Error).message}`);
  }
  try {
    fs.mkdirSync(path.dirname(path.resolve(flags.out)), { recursive: true });
    fs.writeFileSync(flags.out, image);
  } catch (error) {
    fail(`cannot write ${flags.out} (${(error as Error).message})`);
  }
  const sha256 = crypto.createHash("sha256").update(image).digest("hex");
  process.stdout.write(
    `${flags.out}: firmware image ${flags.version}${flags.fault ? " (fault: never reaches the broker)" : ""}, ${image.length} bytes\n` +
      `sha256 ${sha256}\n` +
      `serve it over HTTP and send, e.g.:\n` +
      `  mosquitto_pub -t devices/sim-1/ota/set -m '${JSON.stringify({ url: `http://127.0.0.1:8000/${path.basename(flags.out)}`, sha256, version: flags.version })}'\n`,
  );
}

main(process.argv.slice(2));
