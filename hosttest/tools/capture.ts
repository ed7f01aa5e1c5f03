/**
 * Records the exact bytes mosquitto_pub/mosquitto_sub and mosquitto exchange,
 * for the capture vectors in hosttest/unit/*.test.ts.
 *
 *   apt-get install -y mosquitto mosquitto-clients
 *   npx tsx hosttest/tools/capture.ts
 *
 * Starts mosquitto on a free loopback port, puts a TCP proxy in front of it,
 * runs the clients through the proxy and prints every packet as hex, per
 * connection and direction.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launch } from "../support/child";

const TOPIC = "devices/esp32-01/state";
const STATE = '{"data":{"temp":23.5,"hum":41}}';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Splits a byte stream into MQTT packets by their fixed headers. */
function packets(bytes: Buffer): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < bytes.length) {
    let n = 0;
    let mul = 1;
    let j = i + 1;
    for (;;) {
      const b = bytes[j++];
      n += (b & 0x7f) * mul;
      mul *= 128;
      if (!(b & 0x80)) break;
    }
    out.push(bytes.subarray(i, j + n).toString("hex"));
    i = j + n;
  }
  return out;
}

/** The client id of the CONNECT that starts `bytes` (a 1-byte Remaining Length assumed). */
function clientId(bytes: Buffer): string {
  return bytes.length > 14 ? bytes.subarray(14, 14 + bytes.readUInt16BE(12)).toString() : "?";
}

function proxy(brokerPort: number, log: string[]): Promise<Server> {
  let id = 0;
  const server = createServer((client) => {
    const name = `conn ${++id}`;
    const up: Buffer[] = [];
    const down: Buffer[] = [];
    const broker = connect(brokerPort, "127.0.0.1");
    client.on("data", (d) => {
      up.push(d);
      broker.write(d);
    });
    broker.on("data", (d) => {
      down.push(d);
      client.write(d);
    });
    const done = () => {
      client.destroy();
      broker.destroy();
      if (up.length === 0 && down.length === 0) return;
      const sent = Buffer.concat(up);
      log.push(`${name} (${clientId(sent)}) client → broker:`, ...packets(sent).map((p) => `  ${p}`));
      log.push(`${name} (${clientId(sent)}) broker → client:`, ...packets(Buffer.concat(down)).map((p) => `  ${p}`));
      up.length = down.length = 0;
    };
    client.on("close", done);
    broker.on("close", done);
    client.on("error", done);
    broker.on("error", done);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

async function run(port: number, tool: string, args: string[]): Promise<void> {
  const child = launch(tool, ["-h", "127.0.0.1", "-p", String(port), "-V", "mqttv311", ...args]);
  if ((await child.closed) !== 0) process.stderr.write(child.output());
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "mqtt-capture-"));
  chmodSync(dir, 0o755); // mosquitto started as root drops to its own user, which must read the config
  const brokerPort = await freePort();
  writeFileSync(
    join(dir, "mosquitto.conf"),
    `listener ${brokerPort} 127.0.0.1\nallow_anonymous true\npersistence false\n`,
  );
  const broker: ChildProcess = spawn("mosquitto", ["-c", join(dir, "mosquitto.conf")], { stdio: "ignore" });
  await sleep(500);

  const log: string[] = [];
  const server = await proxy(brokerPort, log);
  const port = (server.address() as AddressInfo).port;

  log.push(`# mosquitto_pub -i pub-r1 -q 1 -r -t ${TOPIC}`);
  await run(port, "mosquitto_pub", ["-i", "pub-r1", "-q", "1", "-r", "-t", TOPIC, "-m", STATE]);
  await sleep(200);

  log.push("# mosquitto_sub -i sub-1 -q 2 -t devices/+/state -t secret/# -C 4");
  const sub = run(port, "mosquitto_sub", [
    "-i",
    "sub-1",
    "-q",
    "2",
    "-t",
    "devices/+/state",
    "-t",
    "secret/#",
    "-C",
    "4",
  ]);
  await sleep(500);
  for (const qos of ["0", "1", "2"]) {
    log.push(`# mosquitto_pub -i pub-q${qos} -q ${qos} -t ${TOPIC}`);
    await run(port, "mosquitto_pub", ["-i", `pub-q${qos}`, "-q", qos, "-t", TOPIC, "-m", STATE]);
    await sleep(200);
  }
  await sub;
  await sleep(200);

  log.push(
    "# mosquitto_pub -i pub-will -k 30 -u user -P pass --will-topic devices/esp32-01/status --will-payload offline --will-qos 1 --will-retain -q 0",
  );
  await run(port, "mosquitto_pub", [
    "-i",
    "pub-will",
    "-k",
    "30",
    "-u",
    "user",
    "-P",
    "pass",
    "--will-topic",
    "devices/esp32-01/status",
    "--will-payload",
    "offline",
    "--will-qos",
    "1",
    "--will-retain",
    "-q",
    "0",
    "-t",
    TOPIC,
    "-m",
    STATE,
  ]);
  await sleep(300);

  server.close();
  broker.kill();
  rmSync(dir, { recursive: true, force: true });
  const version = spawnSync("mosquitto", ["-h"], { encoding: "utf8" }).stdout.split("\n")[0];
  console.log(`# ${version}\n${log.join("\n")}`);
}

void main();
