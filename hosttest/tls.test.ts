/**
 * `mqtts://`: the session over the Node TLS socket port against a mosquitto
 * TLS listener, with the CA the test made; a wrong CA fails with a clear error.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { nodeClock, nodeSocket } from "../sim/node-ports";
import { MqttClient } from "../src/mqtt/client";
import { freePort, startMosquitto } from "./support/mosquitto";
import { connectPeer } from "./support/peer";
import { makeCertificates } from "./support/tls";

test("mqtts:// with the right CA connects and carries messages; a wrong CA is refused clearly", {
  timeout: 30000,
}, async () => {
  const certs = makeCertificates();
  const tlsPort = await freePort();
  const broker = await startMosquitto([
    `listener ${tlsPort} 127.0.0.1`,
    `cafile ${certs.ca}`,
    `certfile ${certs.cert}`,
    `keyfile ${certs.key}`,
  ]);
  try {
    const peer = await connectPeer(`mqtt://127.0.0.1:${broker.port}`, ["tls/out"]);
    const handler: { onConnect?: () => void } = {};
    const connected = new Promise<void>((resolve) => (handler.onConnect = () => resolve()));
    const client = new MqttClient(
      {
        host: "127.0.0.1",
        port: tlsPort,
        tls: { ca: certs.ca },
        clientId: "tls-1",
        socket: nodeSocket,
        clock: nodeClock,
      },
      { onConnect: () => handler.onConnect?.() },
    );
    client.start();
    await connected;
    client.publish("tls/out", "over TLS", 1);
    const got = await peer.next("tls/out");
    assert.equal(got.text, "over TLS");
    await new Promise<void>((resolve) => client.end(resolve));
    await peer.end();

    const reasons: string[] = [];
    const wrong: { onDisconnect?: (r: string) => void } = {};
    const refused = new Promise<void>(
      (resolve) =>
        (wrong.onDisconnect = (r: string) => {
          reasons.push(r);
          resolve();
        }),
    );
    const bad = new MqttClient(
      {
        host: "127.0.0.1",
        port: tlsPort,
        tls: { ca: certs.otherCa },
        clientId: "tls-2",
        socket: nodeSocket,
        clock: nodeClock,
      },
      { onDisconnect: (r) => wrong.onDisconnect?.(r), onConnect: () => assert.fail("connected with a wrong CA") },
    );
    bad.start();
    await refused;
    bad.end();
    assert.match(reasons[0], /^TLS: the certificate of 127\.0\.0\.1:\d+ is not trusted/);
  } finally {
    await broker.stop();
  }
});
