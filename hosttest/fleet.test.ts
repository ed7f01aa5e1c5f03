/**
 * A small fleet through the simulator's command line: `--devices` with
 * `--first` numbers the slice, every device comes online on the embedded
 * broker, the fleet says once when all are online, and the status line
 * counts them; after a broker restart it says when all are back.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { freePort, startMosquitto } from "./support/mosquitto";
import { connectPeer, type Peer } from "./support/peer";
import { runSim } from "./support/sim";

test("--devices 3 --first 5: sim-5 … sim-7 online, one line when all are, the status line counts them", {
  timeout: 30000,
}, async () => {
  const port = await freePort();
  const sim = runSim(["--port", String(port), "--http", "0", "--devices", "3", "--first", "5", "--interval", "2000"]);
  let peer: Peer | undefined;
  try {
    await sim.waitFor("broker: mqtt://");
    peer = await connectPeer(`mqtt://127.0.0.1:${port}`, ["devices/+/status"]);
    const all = await sim.waitFor(/all 3 devices online, (\d+\.\d\d) s after start/, 15000);
    assert.ok(Number(all[1]) > 0);
    for (const id of ["sim-5", "sim-6", "sim-7"]) await peer.next(`devices/${id}/status`, (m) => m.text === "online");
    assert.equal(peer.messages.filter((m) => m.topic === "devices/sim-4/status").length, 0);
    await sim.waitFor(/3 devices \(sim-5 … sim-7\) \| [^|]+ \| 3 online, 0 connecting/, 5000);
    assert.equal(sim.output().match(/all 3 devices online/g)?.length, 1, "said once");
  } finally {
    await peer?.end();
    sim.child.kill("SIGINT");
    await sim.exited;
  }
});

test("a fleet that lost its broker says when all its devices are back, and how long that took", {
  timeout: 30000,
}, async () => {
  const broker = await startMosquitto();
  const data = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-"));
  const sim = runSim(["--broker", `mqtt://127.0.0.1:${broker.port}`, "--http", "0", "--devices", "3", "--data", data]);
  try {
    await sim.waitFor(/all 3 devices online, [\d.]+ s after start/, 15000);
    await broker.stop(true);
    await sim.waitFor(/\| 0 online/, 5000);
    await broker.restart();
    const back = await sim.waitFor(/all 3 devices online again, (\d+\.\d\d) s after the first went offline/, 15000);
    assert.ok(Number(back[1]) > 0);
    assert.equal(sim.output().match(/all 3 devices online, /g)?.length, 1, "the first line said once");
  } finally {
    sim.child.kill("SIGINT");
    await sim.exited;
    await broker.stop();
    fs.rmSync(data, { recursive: true, force: true });
  }
});
