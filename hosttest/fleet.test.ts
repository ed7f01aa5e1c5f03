/**
 * A small fleet through the simulator's command line: `--devices` with
 * `--first` numbers the slice, every device comes online on the embedded
 * broker, the fleet says once when all are online, and the status line
 * counts them.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { freePort } from "./support/mosquitto";
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
