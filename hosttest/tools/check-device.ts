/**
 * Device check (not part of CI): builds the firmware for the Moddable
 * simulator, runs it headless against a local mosquitto, drives it over MQTT,
 * then resolves the ESP32 build up to its generated makefile.
 *
 *   MODDABLE=/path/to/moddable npm run check:device
 *
 * Needs the Moddable SDK built for Linux (mcconfig, mcsim, xsl, xsc), tsc on
 * PATH (mcconfig calls it), mosquitto (Debian package), xvfb-run when there is
 * no display, and a free X display :2 (the SDK's Linux makefile starts the
 * simulator on DISPLAY=:2). Without MODDABLE it says so and exits 0.
 *
 * The SDK's debug makefile runs `pkill mcsim` and `pkill serial2xsbug`, which
 * would stop every simulator on the machine: this script puts a no-op `pkill`
 * first on PATH for the build, and stops only the processes it started.
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { VERSION } from "../../src/version";
import { BAD_COMMANDS, GOOD_COMMANDS } from "../support/acceptance";
import { type Child, launch } from "../support/child";
import { serveImages } from "../support/image-server";
import { freePort, type Mosquitto, startMosquitto } from "../support/mosquitto";
import { connectPeer, type Peer } from "../support/peer";
import { makeCertificates } from "../support/tls";
import { call, until } from "../support/web";
import { STATE_KEYS } from "../unit/interface";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const MODDABLE = process.env.MODDABLE;
const BUILD_MS = 600_000;
const NAME = "dhtmqtt";

function step(text: string): void {
  process.stdout.write(`check:device: ${text}\n`);
}

function which(binary: string): string | undefined {
  const r = spawnSync("sh", ["-c", `command -v ${binary}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const ESC = String.fromCharCode(27);
const stripAnsi = (s: string): string =>
  s
    .split(ESC)
    .map((part, i) => (i === 0 ? part : part.replace(/^\[[0-9;]*[A-Za-z]/, "")))
    .join("");

/** Trace lines of the simulated device ("[Thread 1] text" in xsbug-log output). */
function traceLines(output: string): string[] {
  const lines: string[] = [];
  for (const line of stripAnsi(output).split("\n")) {
    const m = /\[Thread \d+\] (.*)$/.exec(line);
    if (m) lines.push(m[1]);
    else if (line.includes("# Exception")) lines.push(line.trim());
  }
  return lines;
}

/** A build or simulator run in its own process group (../support/child), matched without terminal colours. */
type Running = Child;

function start(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Running {
  return launch(command, args, { ...options, detached: true, name: "the build/simulator", view: stripAnsi });
}

function sdkEnv(shim: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const bin = path.join(MODDABLE!, "build", "bin", "lin", "release");
  return { ...process.env, MODDABLE: MODDABLE!, PATH: `${shim}:${bin}:${process.env.PATH ?? ""}`, ...extra };
}

async function checkSimulator(shim: string, out: string): Promise<void> {
  const broker: Mosquitto = await startMosquitto();
  step(`mosquitto on 127.0.0.1:${broker.port}`);
  const url = `mqtt://127.0.0.1:${broker.port}`;
  // Listen before the device starts: diag and the first state come right after its connect.
  let peer: Peer;
  try {
    peer = await connectPeer(url, ["devices/#"]);
  } catch (error) {
    await broker.stop();
    throw error;
  }
  let sim: Running;
  const web = await freePort();
  try {
    sim = await startSimulator(shim, out, undefined, [
      `broker=mqtt://127.0.0.1:${broker.port}`,
      "interval=2000",
      `web=${web}`,
    ]);
  } catch (error) {
    await peer.end().catch(() => {});
    await broker.stop();
    throw error;
  }
  let late: Peer | undefined;
  let failed = false;
  try {
    const started = await sim.waitFor(/device: [^\n]*, id ([^,\s]+),/, BUILD_MS);
    const id = started[1];
    await sim.waitFor(/mqtt: connected as /, 30_000);
    const base = `devices/${id}`;
    step(`the simulated device ${id} is connected; probing ${base}/# over MQTT`);

    assert.equal((await peer.next(`${base}/status`, (m) => m.text === "online", 10_000)).text, "online");
    // The build sets interval=2000; config/set wins over it and is kept (forgotten at the end).
    const fast = peer.messages.length;
    await peer.publish(`${base}/config/set`, '{"interval":2000}');
    assert.equal(
      (JSON.parse((await peer.next(`${base}/config`, () => true, 5000, fast)).text) as { interval: number }).interval,
      2000,
    );
    const state = await peer.next(`${base}/state`, () => true, 15_000, fast);
    const body = JSON.parse(state.text) as { data: Record<string, unknown> };
    assert.deepEqual(Object.keys(body), ["data"]);
    assert.deepEqual(Object.keys(body.data).sort(), ["hum", "temp"]);
    for (const v of Object.values(body.data)) assert.equal(typeof v, "number");
    step(`state ${state.text}`);
    const diag = JSON.parse((await peer.next(`${base}/diag`, () => true, 10_000)).text) as Record<string, unknown>;
    for (const key of ["uptime", "rssi", "heap", "reconnects", "sensorErrors", "dropped", "queued"])
      assert.equal(typeof diag[key], "number", `diag.${key}`);
    assert.equal(typeof diag.version, "string", "diag.version");

    let led = (await peer.next(`${base}/led`, () => true, 10_000)).text;
    for (const [command, effect] of GOOD_COMMANDS) {
      const expected = effect === "TOGGLE" ? (led === "ON" ? "OFF" : "ON") : effect;
      const from = peer.messages.length;
      await peer.publish(`${base}/led/set`, command);
      const reply = await peer.next(`${base}/led`, () => true, 5000, from);
      assert.equal(reply.text, expected, `LED command ${JSON.stringify(command)}`);
      assert.equal(reply.qos, 1);
      led = reply.text;
    }
    step(`${GOOD_COMMANDS.length} LED commands obeyed`);
    for (const command of BAD_COMMANDS) {
      const from = peer.messages.length;
      await peer.publish(`${base}/led/set`, command);
      const error = JSON.parse((await peer.next(`${base}/error`, () => true, 5000, from)).text) as { error: string };
      assert.equal(error.error, "bad-command", `garbage ${JSON.stringify(command)}`);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(
        peer.messages.slice(from).filter((m) => m.topic === `${base}/led`).length,
        0,
        "a bad command changed the LED",
      );
    }
    step(`${BAD_COMMANDS.length} bad commands refused with bad-command`);
    await checkUpdates(peer, base);

    led = await checkWeb(`http://127.0.0.1:${web}`, id, peer, sim, led);

    // Leave the persisted interval at its default.
    const from = peer.messages.length;
    await peer.publish(`${base}/config/set`, '{"interval":10000}');
    const echoed = JSON.parse((await peer.next(`${base}/config`, () => true, 5000, from)).text) as { interval: number };
    assert.equal(echoed.interval, 10000);
    step("config/set applied and echoed");

    late = await connectPeer(url, [`${base}/led`, `${base}/status`]);
    const retained = await late.next(`${base}/led`, () => true, 3000);
    assert.equal(retained.retain, true);
    assert.equal(retained.text, led);
    await late.end();
    late = undefined;

    // The simulator cannot be asked to shut down cleanly: stop it like a power cut, and the broker publishes the Last Will.
    const before = peer.messages.length;
    await sim.stop();
    assert.equal((await peer.next(`${base}/status`, (m) => m.text === "offline", 10_000, before)).text, "offline");
    step("stopped the simulator: offline published (Last Will)");
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    await late?.end().catch(() => {});
    await peer.end().catch(() => {});
    await sim.stop();
    const trace = traceLines(sim.output());
    if (failed)
      process.stdout.write(
        `--- build/simulator output (tail) ---\n${stripAnsi(sim.output()).split("\n").slice(-60).join("\n")}\n`,
      );
    process.stdout.write(`--- device trace ---\n${trace.join("\n")}\n---\n`);
    await broker.stop();
  }
}

/**
 * The device's own page and JSON API, served by the SDK's ECMA-419 HTTP
 * server in the simulator: /state.json, POST /led (a good and a bad body),
 * the page itself, bounds, and a settings change that restarts the app in
 * place. Prints the XS heap in use idle and while serving. Returns the LED
 * state it leaves.
 */
async function checkWeb(url: string, id: string, peer: Peer, sim: Running, led: string): Promise<string> {
  const base = `devices/${id}`;
  const port = Number(new URL(url).port);
  const first = await until(`${url}/state.json`, (a) => a.status === 200);
  // A client that connects and says nothing: closed by the device after its idle time (10 s).
  const idleSince = Date.now();
  const idle = connectRaw(port);
  const state = first.json();
  assert.deepEqual(Object.keys(state), STATE_KEYS);
  assert.equal(state.id, id);
  assert.equal(state.mqtt, "online");
  assert.equal(state.led, led);
  assert.equal(typeof state.temp, "number");
  step(`GET /state.json ${first.text}`);
  const idleHeap = Number(state.heap);

  for (const want of [led === "ON" ? "OFF" : "ON", led]) {
    const from = peer.messages.length;
    const answer = await call(`${url}/led`, { body: want, headers: { "content-type": "text/plain" } });
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.json(), { led: want });
    assert.equal((await peer.next(`${base}/led`, () => true, 5000, from)).text, want);
    assert.equal((await call(`${url}/state.json`)).json().led, want);
  }
  const refused = await call(`${url}/led`, { body: "blink" });
  assert.equal(refused.status, 400);
  assert.match(refused.text, /^unknown command "blink"/);
  step("POST /led: ON and OFF obeyed (and seen on MQTT), a bad body answered 400");

  const page = await call(`${url}/`, { headers: { "accept-encoding": "gzip" } });
  assert.equal(page.status, 200);
  assert.equal(page.headers["content-encoding"], "gzip");
  const plain = await call(`${url}/`);
  assert.match(plain.text, /<title>/);
  assert.equal((await call(`${url}/nothing`)).status, 404);
  assert.equal((await call(`${url}/settings`, { body: "interval=fast" })).status, 400);
  const headers: Record<string, string> = {};
  for (let i = 0; i < 40; i++) headers[`x-filler-${i}`] = "y".repeat(100);
  const big = await call(`${url}/state.json`, { headers }).then(
    (a) => `answered ${a.status}`,
    () => "closed",
  );
  assert.notEqual(big, "answered 200", "a 4 KB head must be refused");
  step(
    `GET / (${plain.text.length} bytes, gzip ${page.text.length >= 0 ? "served" : ""}), 404, 400 for a bad setting; a 4 KB head ${big}`,
  );

  // Heap while serving: four clients at once, 25 rounds.
  let peak = 0;
  for (let round = 0; round < 25; round++) {
    const answers = await Promise.all([0, 1, 2, 3].map(() => call(`${url}/state.json`).catch(() => undefined)));
    for (const a of answers) if (a?.status === 200) peak = Math.max(peak, Number(a.json().heap));
  }
  step(
    `XS heap in use (chunks + slots, garbage included): ${idleHeap} bytes idle, up to ${peak} bytes while serving 4 clients at once`,
  );

  // A slow client (a header byte every 300 ms) holds one connection, never the device: MQTT commands are answered meanwhile.
  const slow = connectRaw(port);
  const drip = setInterval(() => slow.socket.write("G"), 300);
  try {
    for (const want of ["OFF", "ON"]) {
      const from = peer.messages.length;
      const sent = Date.now();
      await peer.publish(`${base}/led/set`, want);
      await peer.next(`${base}/led`, (m) => m.text === want, 2000, from);
      assert.ok(Date.now() - sent < 1000, "an LED command took over a second while a slow client was connected");
    }
    // Connections beyond the cap are closed at once; the ones held (idle, slow, and two more) keep theirs.
    const held = [connectRaw(port), connectRaw(port)];
    await new Promise((r) => setTimeout(r, 300));
    const extra = connectRaw(port);
    await Promise.race([
      extra.closed,
      new Promise((_, reject) => setTimeout(() => reject(new Error("a fifth connection was not closed")), 3000)),
    ]);
    for (const h of held) h.socket.destroy();
    step(
      "a slow client and four connections at once: MQTT answered within a second, the fifth connection closed at once",
    );
  } finally {
    clearInterval(drip);
    slow.socket.destroy();
  }
  await Promise.race([
    idle.closed,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error("an idle connection was not closed within 15 s")), 15_000),
    ),
  ]);
  const idleFor = Date.now() - idleSince;
  assert.ok(idleFor >= 9000, `an idle connection was closed after ${idleFor} ms, before its 10 s`);
  step(`an idle connection closed by the device after ${(idleFor / 1000).toFixed(1)} s`);

  // A settings change: kept with Preference, then the app restarts in place and comes back with it.
  const from = peer.messages.length;
  const saved = await call(`${url}/settings`, {
    body: JSON.stringify({ qos: 0 }),
    headers: { "content-type": "application/json" },
  });
  assert.equal(saved.status, 200, saved.text);
  await sim.waitFor(/restarting \(in place/, 5000);
  await peer.next(`${base}/status`, (m) => m.text === "online", 30_000, from);
  const after = (await until(`${url}/settings.json`, (a) => a.status === 200, 30_000)).json<{
    values: Record<string, unknown>;
    kept: string[];
  }>();
  assert.equal(after.values.qos, 0);
  assert.ok(after.kept.includes("qos"), `kept: ${after.kept.join(", ")}`);
  const telemetry = await peer.next(`${base}/state`, () => true, 15_000, peer.messages.length);
  assert.equal(telemetry.qos, 0);
  step("POST /settings qos=0: kept, the app restarted in place and came back online with it");
  const reset = await call(`${url}/settings`, { body: "reset=true" });
  assert.equal(reset.status, 200);
  const again = peer.messages.length;
  await peer.next(`${base}/status`, (m) => m.text === "online", 30_000, again);
  assert.equal(
    (await until(`${url}/settings.json`, (a) => a.status === 200, 30_000)).json<{ values: { qos: number } }>().values
      .qos,
    1,
  );
  step("POST /settings reset=true: back to the build's settings after another restart");
  return (await call(`${url}/state.json`)).json().led as string;
}

/** A raw TCP connection to the device's web port; `closed` resolves when the device closes it. */
function connectRaw(port: number): { socket: net.Socket; closed: Promise<void> } {
  const socket = net.connect({ host: "127.0.0.1", port });
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return { socket, closed };
}

/** Runs `mcconfig -dl -m -p lin` (under xvfb-run without display :2) for `manifest`, with the config `args`. */
async function startSimulator(
  shim: string,
  out: string,
  manifest: string | undefined,
  args: string[],
): Promise<Running> {
  const xsbugPort = await freePort();
  const mcArgs = [
    "-dl",
    "-m",
    "-p",
    "lin",
    "-o",
    out,
    "-x",
    `localhost:${xsbugPort}`,
    ...(manifest ? [manifest] : []),
    ...args,
  ];
  let command = "mcconfig";
  let commandArgs = mcArgs;
  if (!process.env.DISPLAY || process.env.DISPLAY !== ":2") {
    if (!which("xvfb-run")) throw new Error("no X display :2 and no xvfb-run: apt-get install -y xvfb");
    command = "xvfb-run";
    commandArgs = ["-n", "2", "mcconfig", ...mcArgs];
  }
  step(`${command} ${commandArgs.join(" ")}`);
  return start(command, commandArgs, { cwd: root, env: sdkEnv(shim, { XSBUG_LOG_PORT: String(xsbugPort) }) });
}

/**
 * mqtts:// through the device's socket adapter and the SDK's TLS: a throw-away
 * CA signs the broker's certificate for 127.0.0.1; its DER file is built in as
 * a resource (a manifest in the build folder that includes the project's and
 * adds it to "data"), and the device gets `ca=<resource>`. The same broker has
 * a plain listener for the probe. A second run with a CA that did not sign the
 * certificate must not connect and must trace the TLS error.
 *
 * The broker sends its certificate followed by the CA's: the SDK's TLS checks
 * the server name (subjectAltName) only while walking a chain of two
 * certificates or more, so a lone server certificate is refused
 * ("subjectAltName match failed for 127.0.0.1") whatever the CA.
 */
async function checkTls(shim: string, out: string): Promise<void> {
  const began = Date.now();
  const certs = makeCertificates();
  const chain = path.join(certs.dir, "chain.pem");
  fs.writeFileSync(chain, fs.readFileSync(certs.cert, "utf8") + fs.readFileSync(certs.ca, "utf8"), { mode: 0o644 });
  const data = path.join(out, "..", "tls");
  fs.mkdirSync(data, { recursive: true });
  const der = (pem: string, name: string) => {
    const r = spawnSync("openssl", ["x509", "-in", pem, "-outform", "DER", "-out", path.join(data, `${name}.der`)], {
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`openssl could not convert ${pem} to DER: ${r.stderr}`);
    return `${name}.der`;
  };
  const goodCa = der(certs.ca, "check-ca");
  const otherCa = der(certs.otherCa, "check-other-ca");
  const manifest = path.join(data, "manifest.json");
  fs.writeFileSync(
    manifest,
    `${JSON.stringify(
      { include: [path.join(root, "manifest.json")], data: { "*": ["./check-ca", "./check-other-ca"] } },
      null,
      "\t",
    )}\n`,
  );

  const tlsPort = await freePort();
  const broker = await startMosquitto([`listener ${tlsPort} 127.0.0.1`, `certfile ${chain}`, `keyfile ${certs.key}`]);
  step(
    `mosquitto on 127.0.0.1:${broker.port} (plain) and 127.0.0.1:${tlsPort} (TLS, certificate for 127.0.0.1 from a throw-away CA)`,
  );
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const mqtts = `broker=mqtts://127.0.0.1:${tlsPort}`;
  let peer: Peer | undefined;
  let sim: Running | undefined;
  const traces: string[] = [];
  let failed = false;
  try {
    peer = await connectPeer(url, ["devices/#"]);
    const good = await startSimulator(shim, out, manifest, [mqtts, `ca=${goodCa}`, "web=off"]);
    sim = good;
    const started = await good.waitFor(/device: [^\n]*, id ([^,\s]+),/, BUILD_MS);
    const base = `devices/${started[1]}`;
    await good.waitFor(/mqtt: connected as /, 30_000).catch((error: Error) => {
      throw new Error(
        `with ca=${goodCa} (the CA that signed the broker's certificate) the device did not connect over mqtts:// (${error.message})`,
      );
    });
    assert.equal((await peer.next(`${base}/status`, (m) => m.text === "online", 10_000)).text, "online");
    const state = await peer.next(`${base}/state`, () => true, 15_000);
    assert.deepEqual(Object.keys((JSON.parse(state.text) as { data: Record<string, unknown> }).data).sort(), [
      "hum",
      "temp",
    ]);
    for (const command of ["ON", "OFF"]) {
      const from: number = peer.messages.length;
      await peer.publish(`${base}/led/set`, command);
      assert.equal(
        (await peer.next(`${base}/led`, () => true, 5000, from)).text,
        command,
        `LED command ${command} over mqtts://`,
      );
    }
    step(`mqtts:// with ca=${goodCa}: online, state ${state.text}, LED commands obeyed`);
    await good.stop();
    traces.push(...traceLines(good.output()));
    sim = undefined;

    const bad = await startSimulator(shim, out, manifest, [mqtts, `ca=${otherCa}`, "web=off"]);
    sim = bad;
    const from: number = peer.messages.length;
    const refused = await bad
      .waitFor(/mqtt: disconnected \((TLS handshake[^\n]*)\); retrying/, BUILD_MS)
      .catch((error: Error) => {
        throw new Error(
          `with ca=${otherCa} (a CA that did not sign the broker's certificate) the device traced no TLS handshake failure (${error.message})`,
        );
      });
    if (/mqtt: connected as /.test(stripAnsi(bad.output())))
      throw new Error(
        `with ca=${otherCa} (a CA that did not sign the broker's certificate) the device connected over mqtts://`,
      );
    if (!/certificate/.test(refused[1]))
      throw new Error(`with ca=${otherCa} the device's TLS failure does not name the certificate: ${refused[1]}`);
    assert.equal(
      peer.messages.slice(from).filter((m) => m.topic === `${base}/status` && m.text === "online").length,
      0,
      "online published with a CA that did not sign the certificate",
    );
    step(`mqtts:// with ca=${otherCa}: refused (${refused[1]})`);
    await bad.stop();
    traces.push(...traceLines(bad.output()));
    sim = undefined;
    step(`TLS phase took ${((Date.now() - began) / 1000).toFixed(1)} s`);
  } catch (error) {
    failed = true;
    if (sim) traces.push(...traceLines(sim.output()));
    throw new Error(`TLS phase: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
  } finally {
    await peer?.end().catch(() => {});
    await sim?.stop();
    if (failed && sim)
      process.stdout.write(
        `--- build/simulator output (tail) ---\n${stripAnsi(sim.output()).split("\n").slice(-60).join("\n")}\n`,
      );
    process.stdout.write(`--- device trace (TLS) ---\n${traces.join("\n")}\n---\n`);
    await broker.stop();
    fs.rmSync(certs.dir, { recursive: true, force: true });
  }
}

/**
 * Firmware updates on the Moddable simulator: the SDK's HTTP client fetches
 * an image and Crypt.Digest checks it while it streams; the simulator has no
 * spare partition, so a verified image ends `unsupported`, naming the
 * SHA-256 it computed. The running version, a wrong digest, a truncated
 * download and a closed port get their answers too.
 */
async function checkUpdates(peer: Peer, base: string): Promise<void> {
  const body = new Uint8Array(100_000).map((_, i) => (i * 7 + (i >> 8)) & 255);
  const sha256 = crypto.createHash("sha256").update(body).digest("hex");
  const server = await serveImages({ "/fw.bin": { body }, "/cut.bin": { body, truncateAt: 40_000 } });
  const closed = await freePort();
  const ask = async (fields: Record<string, unknown>): Promise<number> => {
    const from = peer.messages.length;
    await peer.publish(`${base}/ota/set`, JSON.stringify(fields));
    return from;
  };
  const answer = async (
    from: number,
    match: (a: Record<string, unknown>) => boolean,
  ): Promise<Record<string, unknown>> =>
    JSON.parse(
      (await peer.next(`${base}/ota`, (m) => match(JSON.parse(m.text) as Record<string, unknown>), 30_000, from)).text,
    ) as Record<string, unknown>;
  try {
    let from = await ask({ url: server.url("/fw.bin"), sha256, version: VERSION });
    assert.deepEqual(await answer(from, () => true), { state: "done", version: VERSION }, "the running version");
    from = await ask({ url: server.url("/fw.bin"), sha256, version: "9.9.9" });
    const verified = await answer(from, (a) => a.state === "failed");
    assert.equal(verified.error, "unsupported", JSON.stringify(verified));
    assert.match(String(verified.detail), new RegExp(`100000 bytes received and verified \\(SHA-256 ${sha256}\\)`));
    const progress = peer.messages
      .slice(from)
      .filter((m) => m.topic === `${base}/ota` && m.text.includes('"downloading"'))
      .map((m) => (JSON.parse(m.text) as { progress: number }).progress);
    assert.equal(progress[0], 0);
    assert.equal(progress[progress.length - 1], 100);
    from = await ask({ url: server.url("/fw.bin"), sha256: "0".repeat(64), version: "9.9.9" });
    assert.equal((await answer(from, (a) => a.state === "failed")).error, "digest-mismatch");
    from = await ask({ url: server.url("/cut.bin"), sha256, version: "9.9.9" });
    assert.equal((await answer(from, (a) => a.state === "failed")).error, "truncated");
    from = await ask({ url: `http://127.0.0.1:${closed}/fw.bin`, sha256, version: "9.9.9" });
    assert.equal((await answer(from, (a) => a.state === "failed")).error, "unreachable");
    step(
      `updates: the SDK's HTTP client and Crypt.Digest verified a 100,000-byte image (SHA-256 matches node:crypto; progress ${progress.join(",")}), then unsupported; same version done; wrong digest, truncated, closed port failed`,
    );
  } finally {
    await server.close();
  }
}

/**
 * The native modules' C, compiled with the host's gcc against the SDK's
 * xs/includes and declarations of the ESP-IDF functions they call
 * (hosttest/tools/idf-stubs): the types and calls are checked; what the
 * ESP-IDF functions do is not.
 */
function checkNative(): void {
  const stubs = path.join(root, "hosttest", "tools", "idf-stubs");
  for (const file of ["src/device/ota/modOtaBoot.c"]) {
    const args = [
      "-fsyntax-only",
      "-std=gnu11",
      "-Wall",
      "-Wextra",
      "-Werror",
      "-Wno-unused-parameter",
      "-I",
      stubs,
      "-I",
      path.join(MODDABLE!, "xs", "includes"),
      path.join(root, file),
    ];
    const r = spawnSync("gcc", args, { encoding: "utf8" });
    if (r.error) throw new Error(`gcc not found (${r.error.message}): apt-get install -y gcc`);
    if (r.status !== 0) throw new Error(`${file} does not compile:\n${r.stdout}${r.stderr}`);
    step(`${file} compiles with gcc -Wall -Wextra -Werror (xs/includes, ESP-IDF declarations)`);
  }
}

/**
 * The ESP32's TypeScript (src/device/main.ts with board-esp32.ts, the update,
 * flash and LED adapters) against the SDK's typings: the lin build compiles
 * only what the simulator uses, and the ESP32 build stops at its makefile here.
 */
function checkEsp32Types(out: string): void {
  const typings = path.join(MODDABLE!, "typings");
  const device = path.join(root, "src", "device");
  const tsconfig = {
    compilerOptions: {
      lib: ["es2024"],
      module: "preserve",
      moduleResolution: "bundler",
      target: "ES2024",
      strict: true,
      noEmit: true,
      types: [],
      skipLibCheck: true,
      ignoreDeprecations: "6.0",
      baseUrl: typings,
      paths: {
        "embedded:io/*": ["./embedded_io/*"],
        "embedded:io/socket/*": ["./embedded_io/socket/*"],
        "embedded:network/http/*": ["./embedded_network/http/*"],
        "embedded:storage/*": ["./embedded/storage/*"],
        "embedded:*": ["./embedded/*"],
        "device/board": [path.join(device, "board-esp32.ts")],
        "*": ["./*"],
      },
    },
    files: [
      ...[
        "global",
        "timer",
        "time",
        "net",
        "instrumentation",
        "preference",
        "crypt",
        "sntp",
        "Resource",
        "wifi",
        "embedded_io/socket/tls",
      ].map((f) => path.join(typings, `${f}.d.ts`)),
      path.join(MODDABLE!, "xs", "includes", "xs.d.ts"),
      path.join(device, "dht", "dhtcapture.d.ts"),
      path.join(device, "ota", "otaboot.d.ts"),
      path.join(device, "main.ts"),
    ],
  };
  const file = path.join(out, "tsconfig.esp32.json");
  fs.writeFileSync(file, JSON.stringify(tsconfig, null, 2));
  const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
  const r = spawnSync(process.execPath, [tsc, "-p", file], { cwd: out, encoding: "utf8" });
  if (r.status !== 0)
    throw new Error(`the ESP32's TypeScript does not type-check against ${typings}:\n${r.stdout}${r.stderr}`);
  step(
    "src/device/main.ts with board-esp32.ts (update, flash, LED, DHT, SNTP adapters) type-checks against the SDK's typings",
  );
}

function findFile(dir: string, name: string): string | undefined {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isFile() && entry.name === name) return full;
    if (entry.isDirectory()) {
      const found = findFile(full, name);
      if (found) return found;
    }
  }
  return undefined;
}

function checkEsp32(shim: string, out: string): void {
  const idf = fs.mkdtempSync(path.join(os.tmpdir(), "no-idf-"));
  const args = ["-d", "-p", "esp32", "-o", out, "ssid=check", "password=check-password", "broker=mqtt://192.0.2.1"];
  step(`IDF_PATH=${idf} mcconfig ${args.join(" ")}`);
  const r = spawnSync("mcconfig", args, {
    cwd: root,
    env: sdkEnv(shim, { IDF_PATH: idf }),
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  fs.rmSync(idf, { recursive: true, force: true });
  const output = `${r.stdout ?? ""}${r.stderr ?? ""}`;
  if (r.status !== 0) throw new Error(`mcconfig -p esp32 failed (exit ${r.status}):\n${output}`);
  const makefile = path.join(out, "tmp", "esp32", "debug", NAME, "makefile");
  if (!fs.existsSync(makefile)) throw new Error(`mcconfig -p esp32 wrote no ${makefile}:\n${output}`);
  const text = fs.readFileSync(makefile, "utf8");
  const needed = [
    "modDhtCapture.c",
    "modOtaBoot.c",
    "update-esp32.c",
    "device/update",
    "embedded:update",
    "embedded:network/http/client",
    "device/main",
    "embedded:io/digital",
    "embedded:io/socket/tcp",
    "embedded:io/socket/listener",
    "embedded:network/http/server",
    "dns/server",
    "mdns",
    "page.html",
    "page.html.gz",
  ];
  for (const name of needed) {
    if (!text.includes(name.replace("embedded:", "~.embedded/")) && !text.includes(name))
      throw new Error(`the ESP32 makefile does not mention ${name}`);
  }
  // The SDK's setup/network would join mc/config's network before main runs and wait for it, keeping set-up mode from ever starting.
  if (text.includes("setup/network"))
    throw new Error("the ESP32 build includes the SDK's setup/network (examples/manifest_net.json came back in)");
  step(`ESP32 build resolved up to ${makefile}`);
  // Updates over the air: the partition table and the bootloader's app rollback.
  const partitions = findFile(path.join(out, "tmp"), "partitions.csv");
  if (!partitions) throw new Error("mcconfig -p esp32 wrote no partitions.csv");
  const table = fs.readFileSync(partitions, "utf8");
  for (const line of [
    /^ota_0,\s*app,\s*ota_0,\s*0x10000,\s*0x1E0000/m,
    /^ota_1,\s*app,\s*ota_1,\s*0x1F0000,\s*0x1E0000/m,
    /^otadata,\s*data,\s*ota,/m,
    /^buffer,\s*data,\s*0x40,\s*0x3E0000,\s*0x018000/m,
  ]) {
    if (!line.test(table)) throw new Error(`the ESP32 partition table ${partitions} has no line ${line}:\n${table}`);
  }
  const sdkconfig = findFile(path.join(out, "tmp"), "sdkconfig.mc");
  if (!sdkconfig) throw new Error("mcconfig -p esp32 wrote no sdkconfig.mc");
  if (!/^CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE=y$/m.test(fs.readFileSync(sdkconfig, "utf8")))
    throw new Error(
      `${sdkconfig} does not enable CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE (manifest.json build.SDKCONFIGPATH)`,
    );
  step("ESP32 partition table has ota_0, ota_1, otadata and buffer; sdkconfig enables app rollback");
  // The ESP32-only adapters are compiled by make, which needs ESP-IDF: type-check them here with the tsconfigs mcconfig wrote.
  const modules = path.join(out, "tmp", "esp32", "debug", NAME, "modules", "device");
  const configs = fs.readdirSync(modules).filter((f) => f.endsWith("-tsconfig.json"));
  for (const config of configs) {
    const r = spawnSync("tsc", ["-p", path.join(modules, config), "--noEmit"], {
      cwd: root,
      env: sdkEnv(shim),
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`ESP32 type check of ${config} failed:\n${r.stdout}${r.stderr}`);
  }
  step(
    `ESP32 adapters type-check against the SDK's typings (${configs.map((c) => c.replace("-tsconfig.json", "")).join(", ")})`,
  );
}

/** Where Preference keeps the Linux simulator's settings, and our domain in it (src/device/main.ts). */
const PREFERENCES = "/tmp/modpreferences.json";
const DOMAIN = "dhtmqtt";

/** Forgets what the app kept with Preference (settings, LED state), so that no run changes the next one. */
function forgetPreferences(): void {
  let all: Record<string, unknown>;
  try {
    all = JSON.parse(fs.readFileSync(PREFERENCES, "utf8")) as Record<string, unknown>;
  } catch {
    return;
  }
  if (!(DOMAIN in all)) return;
  delete all[DOMAIN];
  fs.writeFileSync(PREFERENCES, JSON.stringify(all));
}

async function main(): Promise<number> {
  if (!MODDABLE) {
    step(
      "MODDABLE is not set: skipping (set it to a built Moddable SDK to build for the simulator and resolve the ESP32 build)",
    );
    return 0;
  }
  if (!fs.existsSync(path.join(MODDABLE, "build", "bin", "lin", "release", "mcconfig"))) {
    throw new Error(
      `${MODDABLE}/build/bin/lin/release/mcconfig not found: build the SDK's Linux tools first (see the SDK's Linux setup guide)`,
    );
  }
  if (!which("tsc"))
    throw new Error("tsc is not on PATH (mcconfig compiles the TypeScript modules with it): npm install -g typescript");
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "check-device-"));
  const shim = path.join(work, "bin");
  fs.mkdirSync(shim);
  fs.writeFileSync(path.join(shim, "pkill"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  forgetPreferences();
  // The page is a resource of the build (manifest.json "data"): build it first.
  const page = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "page", "build.ts")], {
    cwd: root,
    encoding: "utf8",
  });
  if (page.status !== 0) throw new Error(`npm run page failed:\n${page.stdout}${page.stderr}`);
  step(page.stdout.trim());
  try {
    for (const dir of ["lin", "esp32"]) fs.mkdirSync(path.join(work, dir));
    checkNative();
    await checkSimulator(shim, path.join(work, "lin"));
    await checkTls(shim, path.join(work, "lin"));
    checkEsp32(shim, path.join(work, "esp32"));
    checkEsp32Types(path.join(work, "esp32"));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    forgetPreferences();
  }
  step("all device checks passed");
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`check:device: FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
