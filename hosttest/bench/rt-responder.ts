/**
 * A device that only answers LED commands, for the round-trip benchmark
 * (./fleet.ts roundTrip), run in its own process as the simulator is:
 *
 *   node --import tsx hosttest/bench/rt-responder.ts MODE PORT ID
 *
 * It subscribes to `devices/ID/led/set` (QoS 1) and answers each command
 * with the state on `devices/ID/led` (QoS 1, retained), as the simulator
 * does, and nothing else (no sensor, no store, no status):
 *
 * - `mqttjs`: an MQTT.js client written the way its users write one;
 * - `bare`: a socket and hand-made packets, the PUBACK and the report in one
 *   write: the least any device process on Node can do, the floor of the
 *   command → report round trip on this machine beside the broker's echo.
 *
 * Prints `ready` once subscribed.
 */
import net from "node:net";
import mqtt from "mqtt";

const [mode, portArg, id] = process.argv.slice(2);
const port = Number(portArg);
const command = `devices/${id}/led/set`;
const report = `devices/${id}/led`;

function answer(payload: Buffer): string {
  const text = payload.toString().trim().toUpperCase();
  return text === "OFF" ? "OFF" : "ON";
}

function viaMqttjs(): void {
  const client = mqtt.connect({ host: "127.0.0.1", port, clientId: id, reconnectPeriod: 0 });
  client.on("connect", () => {
    (client.stream as unknown as net.Socket).setNoDelay(true);
    client.subscribe(command, { qos: 1 }, () => process.stdout.write("ready\n"));
  });
  client.on("message", (_topic, payload) => client.publish(report, answer(payload), { qos: 1, retain: true }));
}

/** A length-prefixed MQTT string. */
function mqttString(text: string): Buffer {
  const bytes = Buffer.from(text);
  return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 255]), bytes]);
}

/** A packet of `type` with `body` (remaining length < 128: every packet here is small). */
function packet(type: number, ...body: Buffer[]): Buffer {
  const rest = Buffer.concat(body);
  return Buffer.concat([Buffer.from([type, rest.length]), rest]);
}

function viaBareSocket(): void {
  const socket = net.connect({ host: "127.0.0.1", port, noDelay: true });
  // CONNECT (MQTT 3.1.1, clean session, keepalive 0) and SUBSCRIBE (id 1, QoS 1) at once.
  socket.write(
    Buffer.concat([
      packet(0x10, mqttString("MQTT"), Buffer.from([4, 2, 0, 0]), mqttString(id)),
      packet(0x82, Buffer.from([0, 1]), mqttString(command), Buffer.from([1])),
    ]),
  );
  const topic = mqttString(report);
  let packetId = 1;
  let pending = Buffer.alloc(0);
  socket.on("data", (data) => {
    pending = pending.length ? Buffer.concat([pending, data]) : data;
    while (pending.length >= 2 && pending.length >= 2 + pending[1]) {
      const type = pending[0];
      const body = pending.subarray(2, 2 + pending[1]);
      pending = pending.subarray(2 + body.length);
      if (type >> 4 === 9) process.stdout.write("ready\n"); // SUBACK
      if (type >> 4 !== 3) continue;
      const qos = (type >> 1) & 3;
      const topicLength = body.readUInt16BE(0);
      const payload = body.subarray(2 + topicLength + (qos ? 2 : 0));
      const ack = qos ? [packet(0x40, body.subarray(2 + topicLength, 4 + topicLength))] : [];
      packetId = (packetId % 65535) + 1;
      socket.write(
        Buffer.concat([
          ...ack,
          packet(0x33, topic, Buffer.from([packetId >> 8, packetId & 255]), Buffer.from(answer(payload))),
        ]),
      );
    }
  });
  socket.on("error", (error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
}

if (mode === "mqttjs") viaMqttjs();
else if (mode === "bare") viaBareSocket();
else {
  process.stderr.write("usage: rt-responder.ts mqttjs|bare PORT ID\n");
  process.exit(2);
}
