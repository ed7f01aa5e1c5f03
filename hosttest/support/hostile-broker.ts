/**
 * A scripted, misbehaving MQTT 3.1.1 "broker" on 127.0.0.1 for chaos tests.
 * Each connection follows the hostility set when it was accepted: "good"
 * answers like a minimal broker, the others send one kind of bad data (or
 * nothing). It records when clients connect and every packet they send.
 *
 * The client's stream is parsed properly (fixed header, variable-length
 * remaining length, any split of the stream); a malformed remaining length
 * from the client closes that connection. Bad bytes are written by hand.
 */
import net from "node:net";
import { listenOnLoopback } from "./listen";

export type Hostility =
  | "good" // CONNACK accepted, PINGRESP, SUBACK with the requested QoS, PUBACK / PUBREC / PUBCOMP
  | "refuse" // CONNACK with return code `code` (default 5, not authorised), then closes
  | "bad-connack" // CONNACK with a wrong remaining length (20 03 00 00 00)
  | "long-length" // after a good CONNACK: a remaining length of 5 bytes (30 ff ff ff ff 7f)
  | "wildcard-topic" // after a good CONNACK: a QoS 0 PUBLISH to topic "a/+/b"
  | "packet-id-0" // after a good CONNACK: a QoS 1 PUBLISH with packet id 0
  | "type-0" // after a good CONNACK: bytes 00 00
  | "type-15" // after a good CONNACK: bytes f0 00
  | "truncated" // after a good CONNACK: the first 3 bytes of a longer PUBLISH, then silence
  | "no-pingresp" // like good but never answers PINGREQ
  | "silent"; // accepts TCP, never sends anything

export interface ReceivedPacket {
  /** The 4-bit packet type. */
  type: number;
  /** The low 4 bits of the first byte. */
  flags: number;
  /** Everything after the fixed header. */
  body: Buffer;
  /** Date.now() when the packet was complete. */
  at: number;
}

export interface HostileBroker {
  port: number;
  /** Unix-ms times (Date.now()) at which each TCP connection was accepted. */
  connects: number[];
  /** Every complete packet the clients sent. */
  received: ReceivedPacket[];
  /** Applies to connections accepted from now on. */
  setHostility(h: Hostility, code?: number): void;
  close(): Promise<void>;
}

const CONNACK_OK = Buffer.from([0x20, 0x02, 0x00, 0x00]);
const AFTER_CONNACK_DELAY_MS = 20;
const MAX_BUFFERED = 1024 * 1024; // a client sending more than this unparsed is dropped

/** What each "after a good CONNACK" hostility sends, in a separate write. */
const AFTER_CONNACK: Partial<Record<Hostility, Buffer>> = {
  "long-length": Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]),
  // PUBLISH QoS 0, remaining length 8: topic length 5, "a/+/b", payload "x"
  "wildcard-topic": Buffer.from([0x30, 0x08, 0x00, 0x05, ...Buffer.from("a/+/b"), 0x78]),
  // PUBLISH QoS 1, remaining length 8: topic length 3, "a/b", packet id 0, payload "x"
  "packet-id-0": Buffer.from([0x32, 0x08, 0x00, 0x03, ...Buffer.from("a/b"), 0x00, 0x00, 0x78]),
  "type-0": Buffer.from([0x00, 0x00]),
  "type-15": Buffer.from([0xf0, 0x00]),
  // the start of a PUBLISH QoS 0 announcing 10 more bytes: 30 0a 00 (topic length, first byte)
  truncated: Buffer.from([0x30, 0x0a, 0x00]),
};

/** MQTT remaining-length encoding (1 to 4 bytes). */
function encodeLength(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

/**
 * Splits complete packets off the front of `buffer`. Returns the packets and
 * the unparsed rest, or null when the remaining length is malformed.
 */
function splitPackets(buffer: Buffer): { packets: { first: number; body: Buffer }[]; rest: Buffer } | null {
  const packets: { first: number; body: Buffer }[] = [];
  let offset = 0;
  while (buffer.length - offset >= 2) {
    let length = 0;
    let i = 1;
    for (; ; i++) {
      if (i > 4) return null; // a 5th length byte
      if (offset + i >= buffer.length) return { packets, rest: buffer.subarray(offset) }; // length incomplete
      const byte = buffer[offset + i]!;
      length += (byte & 0x7f) * 128 ** (i - 1);
      if (!(byte & 0x80)) break;
    }
    const end = offset + i + 1 + length;
    if (end > buffer.length) break; // body incomplete
    packets.push({ first: buffer[offset]!, body: buffer.subarray(offset + i + 1, end) });
    offset = end;
  }
  return { packets, rest: buffer.subarray(offset) };
}

export async function startHostileBroker(initial: Hostility = "good"): Promise<HostileBroker> {
  let hostility = initial;
  let refuseCode = 5;
  const sockets = new Set<net.Socket>();

  const server = net.createServer((socket) => {
    broker.connects.push(Date.now());
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on("error", () => socket.destroy());
    socket.on("close", () => sockets.delete(socket));

    const h = hostility;
    const code = refuseCode;
    const answering = h === "good" || h === "no-pingresp"; // the others only read and discard
    let connected = false;
    let buffer: Buffer = Buffer.alloc(0);

    const send = (bytes: number[] | Buffer) => {
      if (!socket.destroyed && !socket.writableEnded) socket.write(Buffer.from(bytes));
    };

    const onConnect = () => {
      if (h === "silent") return;
      if (h === "refuse") {
        send([0x20, 0x02, 0x00, code]);
        socket.end();
        return;
      }
      if (h === "bad-connack") return send([0x20, 0x03, 0x00, 0x00, 0x00]);
      const bad = AFTER_CONNACK[h];
      if (!bad) return send(CONNACK_OK); // good, no-pingresp
      // The bad bytes in a separate write, a moment later so that they also arrive in a separate read.
      send(CONNACK_OK);
      const timer = setTimeout(() => send(bad), AFTER_CONNACK_DELAY_MS);
      socket.once("close", () => clearTimeout(timer));
    };

    const answer = (type: number, flags: number, body: Buffer) => {
      const id = (at: number) => [body[at] ?? 0, body[at + 1] ?? 0];
      switch (type) {
        case 12: // PINGREQ
          if (h !== "no-pingresp") send([0xd0, 0x00]);
          break;
        case 8: {
          // SUBSCRIBE: packet id, then (topic length, topic, QoS) repeated; grant the requested QoS
          const granted: number[] = [];
          for (let at = 2; at + 2 < body.length; ) {
            at += 2 + body.readUInt16BE(at);
            granted.push((body[at] ?? 0) & 0x03);
            at += 1;
          }
          send([0x90, ...encodeLength(2 + granted.length), ...id(0), ...granted]);
          break;
        }
        case 3: {
          // PUBLISH: topic length, topic, packet id when QoS > 0
          const qos = (flags >> 1) & 0x03;
          const at = 2 + (body.length >= 2 ? body.readUInt16BE(0) : 0);
          if (qos === 1) send([0x40, 0x02, ...id(at)]); // PUBACK
          if (qos === 2) send([0x50, 0x02, ...id(at)]); // PUBREC
          break;
        }
        case 6: // PUBREL
          send([0x70, 0x02, ...id(0)]); // PUBCOMP
          break;
        case 14: // DISCONNECT
          socket.end();
          break;
      }
    };

    socket.on("data", (chunk: Buffer) => {
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      const split = splitPackets(buffer);
      if (!split || split.rest.length > MAX_BUFFERED) return void socket.destroy();
      buffer = Buffer.from(split.rest); // a copy, so old chunks can be freed
      for (const { first, body } of split.packets) {
        const type = first >> 4;
        const flags = first & 0x0f;
        broker.received.push({ type, flags, body: Buffer.from(body), at: Date.now() });
        if (type === 1 && !connected) {
          connected = true;
          onConnect();
        } else if (answering) {
          answer(type, flags, body);
        }
      }
    });
  });
  const port = await listenOnLoopback(server);

  const broker: HostileBroker = {
    port,
    connects: [],
    received: [],
    setHostility(h, code = 5) {
      hostility = h;
      refuseCode = code;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
  return broker;
}
