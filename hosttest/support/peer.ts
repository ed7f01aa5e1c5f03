/**
 * The phone/dashboard side of a test: an MQTT.js client that records what it
 * receives and waits for the next matching message.
 */
import mqtt, { type MqttClient } from "mqtt";

export interface Received {
  topic: string;
  text: string;
  retain: boolean;
  qos: number;
  at: number;
}

export interface Peer {
  client: MqttClient;
  messages: Received[];
  /** Resolves with the first message on `topic`, received after index `from`, that `match` accepts. */
  next(topic: string, match?: (m: Received) => boolean, ms?: number, from?: number): Promise<Received>;
  /** Messages on `topic` received so far. */
  on(topic: string): Received[];
  publish(topic: string, payload: string | Uint8Array, qos?: 0 | 1 | 2, retain?: boolean): Promise<void>;
  end(): Promise<void>;
}

export async function connectPeer(
  url: string,
  subscriptions: string[],
  options: mqtt.IClientOptions = {},
): Promise<Peer> {
  const client = mqtt.connect(url, { reconnectPeriod: 200, connectTimeout: 5000, ...options });
  const messages: Received[] = [];
  const waiters = new Set<() => void>();
  client.on("message", (topic, payload, packet) => {
    messages.push({ topic, text: payload.toString("utf8"), retain: packet.retain, qos: packet.qos, at: Date.now() });
    for (const w of [...waiters]) w();
  });
  await new Promise<void>((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("error", reject);
  });
  if (subscriptions.length) await client.subscribeAsync(subscriptions, { qos: 1 });
  return {
    client,
    messages,
    on: (topic) => messages.filter((m) => m.topic === topic),
    next(topic, match = () => true, ms = 10000, from = 0) {
      const find = () => messages.slice(from).find((m) => m.topic === topic && match(m));
      const found = find();
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          const seen = messages
            .slice(from)
            .map((m) => `${m.topic} ${m.text}`)
            .join("\n");
          reject(new Error(`no matching message on ${topic} within ${ms} ms; received:\n${seen}`));
        }, ms);
        const check = () => {
          const m = find();
          if (!m) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(m);
        };
        waiters.add(check);
      });
    },
    async publish(topic, payload, qos = 1, retain = false) {
      await client.publishAsync(topic, Buffer.from(payload), { qos, retain });
    },
    end: () => client.endAsync(),
  };
}
