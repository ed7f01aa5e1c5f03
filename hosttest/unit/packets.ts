/**
 * Helpers for packet vectors, shared by the encoder and parser tests
 * (./codec.test.ts, ./parser.test.ts) and the differential test against
 * mqtt-packet (../codec-diff.test.ts). Platform-free: also runs in XS.
 */
import assert from "node:assert/strict";
import { publishHeaderLength, utf8, writePublishHeader } from "../../src/mqtt/codec";
import type { Packet, QoS } from "../../src/mqtt/packet";
import { hex } from "./hex";

/**
 * Runs `write` at offset 2 of a guarded buffer of `length` + 4 bytes; checks
 * the returned offset and that nothing outside the packet was touched. The packet's bytes.
 */
export function encoded(length: number, write: (out: Uint8Array, at: number) => number): Uint8Array {
  const out = new Uint8Array(length + 4).fill(0xaa);
  const end = write(out, 2);
  assert.equal(end, 2 + length, "returned offset = at + length");
  assert.deepEqual(
    [out[0], out[1], out[end], out[end + 1]],
    [0xaa, 0xaa, 0xaa, 0xaa],
    "bytes outside the packet untouched",
  );
  return out.slice(2, end);
}

/** A PUBLISH as the client writes it: header from `writePublishHeader`, then the payload. */
export function publishBytes(
  topic: string,
  payload: Uint8Array,
  qos: QoS,
  retain: boolean,
  dup: boolean,
  packetId: number,
): Uint8Array {
  const t = utf8(topic);
  return encoded(publishHeaderLength(t.length, payload.length, qos) + payload.length, (out, at) => {
    at = writePublishHeader(out, at, t, payload.length, qos, retain, dup, packetId);
    out.set(payload, at);
    return at + payload.length;
  });
}

/** The fields of a parsed packet as a plain object (the parser reuses its Packet), byte ranges as hex. */
export interface Decoded {
  type: number;
  flags: number;
  qos: number;
  retain: boolean;
  dup: boolean;
  packetId: number;
  sessionPresent: boolean;
  returnCode: number;
  topic: string;
  payload: string;
}

export function snapshot(p: Packet): Decoded {
  return {
    type: p.type,
    flags: p.flags,
    qos: p.qos,
    retain: p.retain,
    dup: p.dup,
    packetId: p.packetId,
    sessionPresent: p.sessionPresent,
    returnCode: p.returnCode,
    topic: hex(p.buf, p.topicStart, p.topicEnd),
    payload: hex(p.buf, p.payloadStart, p.payloadEnd),
  };
}

/** A packet as the parser must report it: `fields`, the rest zero or empty. */
export function decoded(fields: Partial<Decoded> & { type: number }): Decoded {
  return {
    flags: 0,
    qos: 0,
    retain: false,
    dup: false,
    packetId: 0,
    sessionPresent: false,
    returnCode: 0,
    topic: "",
    payload: "",
    ...fields,
  };
}
