/**
 * `npm run ota:drill`: the rollback drill with the contract's real window
 * (about 2.5 minutes, so not part of `npm test`, which shortens the window).
 *
 * The simulator on its embedded broker gets an image built with
 * `--fault boot` (the firmware never reaches the broker). It must install
 * it, restart into it, return to the previous firmware no sooner than
 * 2 minutes after the new one started and soon after, and then report
 * `rolled-back` with the previous version, which diag names again. Also
 * prints how long the download and verification of a 1 MiB image took.
 * Exit code 1 on any failure.
 */
import crypto from "node:crypto";
import { buildImage } from "../../sim/image-format";
import { TRIAL_MS } from "../../src/update/updater";
import { VERSION } from "../../src/version";
import { serveImages } from "../support/image-server";
import { freePort } from "../support/mosquitto";
import { connectPeer } from "../support/peer";
import { runSim } from "../support/sim";

const ID = "drill-1";
const BASE = `devices/${ID}`;
/** How late the rollback may come after the window: the restart and a new connection. */
const SLACK_MS = 15000;

function say(line: string): void {
  process.stdout.write(`ota:drill: ${line}\n`);
}

async function main(): Promise<void> {
  const image = buildImage({ version: "9.9.9-fault", faultBoot: true });
  const sha256 = crypto.createHash("sha256").update(image).digest("hex");
  const server = await serveImages({ "/fault.bin": { body: image } });
  const port = await freePort();
  const sim = runSim(["--port", String(port), "--http", "0", "--id", ID, "--interval", "60000"], {
    SIM_UPDATE_WINDOW_MS: "",
  });
  try {
    await sim.waitFor("broker: mqtt://");
    const peer = await connectPeer(`mqtt://127.0.0.1:${port}`, [`${BASE}/#`]);
    try {
      await peer.next(`${BASE}/status`, (m) => m.text === "online");
      const asked = Date.now();
      await peer.publish(
        `${BASE}/ota/set`,
        JSON.stringify({ url: server.url("/fault.bin"), sha256, version: "9.9.9-fault" }),
      );
      await peer.next(`${BASE}/ota`, (m) => m.text.includes('"rebooting"'), 30000);
      const installed = Date.now();
      say(`1 MiB image downloaded, verified and installed in ${installed - asked} ms (request to "rebooting")`);
      await sim.waitFor("is on trial: it must reach the broker within 120 s", 30000);
      const trial = Date.now();
      const during = peer.messages.length;
      say("the faulty firmware is on trial; waiting for the boot loader to return to the previous one");
      const rolled = await peer.next(
        `${BASE}/ota`,
        (m) => m.text.includes('"rolled-back"'),
        TRIAL_MS + SLACK_MS + 30000,
      );
      const back = Date.now();
      const answer = JSON.parse(rolled.text) as { state: string; version: string };
      // diag follows every connect: the first after the trial began is the previous firmware's.
      const diag = JSON.parse((await peer.next(`${BASE}/diag`, () => true, 10000, during)).text) as { version: string };
      const problems: string[] = [];
      if (answer.version !== VERSION) problems.push(`rolled-back names version ${answer.version}, not ${VERSION}`);
      if (diag.version !== VERSION)
        problems.push(`diag names version ${diag.version} after the rollback, not ${VERSION}`);
      if (back - trial < TRIAL_MS)
        problems.push(`rolled back after ${back - trial} ms, before the ${TRIAL_MS} ms window`);
      if (back - trial > TRIAL_MS + SLACK_MS)
        problems.push(`rolled back after ${back - trial} ms, more than ${SLACK_MS} ms past the window`);
      say(
        `rolled-back (version ${answer.version}) reported ${((back - trial) / 1000).toFixed(1)} s after the faulty firmware started (window ${TRIAL_MS / 1000} s), ${((back - asked) / 1000).toFixed(1)} s after the request`,
      );
      if (problems.length) throw new Error(problems.join("; "));
      say("passed");
    } finally {
      await peer.end();
    }
  } finally {
    sim.child.kill("SIGTERM");
    await sim.exited;
    await server.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`ota:drill: FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
