/**
 * Interop of our session with real brokers (mosquitto and aedes) and MQTT.js
 * as the other party: every QoS in both directions, and a broker restarted in
 * the middle of QoS 1 and QoS 2 streams with cleanSession=false.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { startBroker } from "../sim/broker";
import { nodeClock, nodeSocket } from "../sim/node-ports";
import { type ClientHandler, type ClientOptions, MqttClient } from "../src/mqtt/client";
import { type QoS, SUBACK } from "../src/mqtt/packet";
import { Parser } from "../src/mqtt/parser";
import type { SocketFactory } from "../src/ports";
import { freePort, startMosquitto, startPersistentMosquitto } from "./support/mosquitto";
import { connectPeer } from "./support/peer";

interface Inbound {
  topic: string;
  text: string;
  qos: QoS;
}

function ourClient(port: number, options: Partial<ClientOptions>, handler: ClientHandler = {}) {
  const inbound: Inbound[] = [];
  let connects = 0;
  let onConnect: (() => void) | undefined;
  // The client reports no SUBACK: the bytes it reads go through a parser of our own too, which does.
  let subacks = 0;
  let onSuback: (() => void) | undefined;
  const tap = new Parser(
    {
      onPacket(p) {
        if (p.type !== SUBACK) return;
        subacks++;
        onSuback?.();
      },
      onError() {},
    },
    1 << 20,
  );
  const socket: SocketFactory = (socketOptions) => {
    tap.reset();
    const inner = nodeSocket(socketOptions);
    return {
      read(into) {
        const n = inner.read(into);
        tap.push(into, 0, n);
        return n;
      },
      write: (bytes) => inner.write(bytes),
      close: () => inner.close(),
    };
  };
  const client = new MqttClient(
    { host: "127.0.0.1", port, clientId: "ours", socket, clock: nodeClock, ...options },
    {
      ...handler,
      onConnect: (present) => {
        connects++;
        handler.onConnect?.(present);
        onConnect?.();
      },
      onMessage: (topic, payload, qos) => inbound.push({ topic, text: new TextDecoder().decode(payload), qos }),
    },
  );
  return {
    client,
    inbound,
    connects: () => connects,
    connected: () =>
      new Promise<void>((resolve) => {
        if (client.connected) resolve();
        else onConnect = resolve;
      }),
    /** Resolves once `n` SUBACKs have reached the client since it was made. */
    subscribed: (n = 1) =>
      new Promise<void>((resolve) => {
        onSuback = () => subacks >= n && resolve();
        onSuback();
      }),
  };
}

async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function everyQos(port: number): Promise<void> {
  const peer = await connectPeer(`mqtt://127.0.0.1:${port}`, [], { clientId: "peer" });
  await peer.client.subscribeAsync("interop/out/#", { qos: 2 });
  const ours = ourClient(port, {});
  ours.client.subscribe("interop/in/#", 2);
  ours.client.start();
  await ours.connected();
  await ours.subscribed();
  try {
    for (const qos of [0, 1, 2] as QoS[]) {
      await peer.publish(`interop/in/q${qos}`, `to us at ${qos}`, qos);
      ours.client.publish(`interop/out/q${qos}`, `from us at ${qos}`, qos);
    }
    await until(() => ours.inbound.length >= 3, 5000, "three inbound messages");
    const sorted = ours.inbound.slice().sort((a, b) => a.topic.localeCompare(b.topic));
    assert.deepEqual(sorted, [
      { topic: "interop/in/q0", text: "to us at 0", qos: 0 },
      { topic: "interop/in/q1", text: "to us at 1", qos: 1 },
      { topic: "interop/in/q2", text: "to us at 2", qos: 2 },
    ]);
    for (const qos of [0, 1, 2]) {
      const m = await peer.next(`interop/out/q${qos}`);
      assert.equal(m.text, `from us at ${qos}`);
      assert.equal(m.qos, qos);
    }
    await until(() => ours.client.queued === 0, 5000, "all acknowledgements");
  } finally {
    await new Promise<void>((resolve) => ours.client.end(resolve));
    await peer.end();
  }
}

test("every QoS in both directions through mosquitto", { timeout: 30000 }, async () => {
  const broker = await startMosquitto();
  try {
    await everyQos(broker.port);
  } finally {
    await broker.stop();
  }
});

test("every QoS in both directions through aedes", { timeout: 30000 }, async () => {
  const broker = await startBroker({ port: await freePort() });
  try {
    await everyQos(broker.port);
  } finally {
    await broker.close();
  }
});

test("a broker restarted mid-stream loses no QoS 1/2 message and duplicates no QoS 2 message, in either direction", {
  timeout: 90000,
}, async () => {
  // mosquitto 2.0 restores a session's QoS 1/2 messages as queued when its in-flight window is unlimited (0),
  // and then resends a QoS 2 flow that was past PUBREL as a new PUBLISH; with the default window (20) it
  // mishandles the messages queued beyond the window. A large finite window keeps every flow in flight.
  const broker = await startPersistentMosquitto(["autosave_interval 1", "max_inflight_messages 1000"]);
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const N = 200;
  // The sink: mosquitto_sub with a persistent session at QoS 2 (it reconnects by itself); -d prints
  // its protocol events ("Client sink received SUBACK") among the messages, line by line with stdbuf.
  const sinkLines: string[] = [];
  const sinkProcess = spawn(
    "stdbuf",
    [
      "-oL",
      "mosquitto_sub",
      "-h",
      "127.0.0.1",
      "-p",
      String(broker.port),
      "-i",
      "sink",
      "-c",
      "-q",
      "2",
      "-t",
      "stream/q1",
      "-t",
      "stream/q2",
      "-v",
      "-d",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let partial = "";
  sinkProcess.stdout.on("data", (d: Buffer) => {
    const lines = (partial + d.toString()).split("\n");
    partial = lines.pop()!;
    sinkLines.push(...lines);
  });
  const sink = {
    on: (topic: string) =>
      sinkLines.filter((l) => l.startsWith(`${topic} `)).map((l) => ({ text: l.slice(topic.length + 1) })),
    end: async () => void sinkProcess.kill(),
  };
  // Ours: a persistent session that publishes both streams and receives one from the peer.
  const ours = ourClient(broker.port, {
    clientId: "ours-persistent",
    cleanSession: false,
    keepalive: 5,
    queueCount: 2 * N + 16,
    queueBytes: 64 * 1024,
    maxInboundQos2: 256,
  });
  ours.client.subscribe("stream/in", 2);
  ours.client.start();
  const source = await connectPeer(url, [], { clientId: "source", clean: false });
  try {
    await until(() => sinkLines.some((l) => l.startsWith("Client sink received SUBACK")), 5000, "the sink's SUBACK");
    await ours.connected();
    await ours.subscribed();
    let restarted = false;
    const sourceFlows: Promise<unknown>[] = [];
    for (let i = 1; i <= N; i++) {
      ours.client.publish("stream/q1", String(i), 1);
      ours.client.publish("stream/q2", String(i), 2);
      sourceFlows.push(source.client.publishAsync("stream/in", String(i), { qos: 2 }).catch(() => undefined));
      if (i === N / 2) {
        // The source's own QoS 2 flows complete first: what crosses the restart is the broker → our client flows.
        await Promise.all(sourceFlows);
        await broker.stop();
        await new Promise((r) => setTimeout(r, 300));
        await broker.restart();
        restarted = true;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(restarted);
    const count = (topic: string) => {
      const seen = new Map<string, number>();
      for (const m of sink.on(topic)) seen.set(m.text, (seen.get(m.text) ?? 0) + 1);
      return seen;
    };
    await until(
      () => count("stream/q1").size === N && count("stream/q2").size === N,
      45000,
      "both streams complete at the sink",
    ).catch((e) => {
      throw new Error(
        `${e.message}: q1 ${count("stream/q1").size}, q2 ${count("stream/q2").size}, queued ${ours.client.queued}, state ${ours.client.state}, connects ${ours.connects()}, missing q1 ${Array.from(
          { length: N },
          (_, i) => String(i + 1),
        )
          .filter((k) => !count("stream/q1").has(k))
          .join(" ")}, last error ${ours.client.lastError}\n${broker.log()}`,
      );
    });
    await until(() => new Set(ours.inbound.map((m) => m.text)).size === N, 45000, "the inbound QoS 2 stream");
    // Complete: any duplicate would already be on its way; give it half a second to show.
    await new Promise((r) => setTimeout(r, 500));
    const q2 = count("stream/q2");
    for (let i = 1; i <= N; i++) {
      assert.ok(count("stream/q1").get(String(i))! >= 1, `QoS 1 message ${i} lost`);
      assert.equal(q2.get(String(i)), 1, `QoS 2 message ${i} arrived ${q2.get(String(i)) ?? 0} times`);
    }
    const inbound = new Map<string, number>();
    for (const m of ours.inbound) inbound.set(m.text, (inbound.get(m.text) ?? 0) + 1);
    for (let i = 1; i <= N; i++)
      assert.equal(
        inbound.get(String(i)),
        1,
        `inbound QoS 2 message ${i} delivered ${inbound.get(String(i)) ?? 0} times`,
      );
    assert.ok(ours.connects() >= 2, "our client reconnected");
    assert.equal(ours.client.dropped, 0);
  } finally {
    await new Promise<void>((resolve) => ours.client.end(resolve));
    await sink.end();
    await source.end();
    await broker.stop();
  }
});
