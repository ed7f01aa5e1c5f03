/**
 * MQTT 3.1.1 packet vocabulary shared by the codec, the parser and the session.
 */

/** Control packet types (the high nibble of the first byte). */
export const CONNECT = 1;
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const PUBREC = 5;
export const PUBREL = 6;
export const PUBCOMP = 7;
export const SUBSCRIBE = 8;
export const SUBACK = 9;
export const UNSUBSCRIBE = 10;
export const UNSUBACK = 11;
export const PINGREQ = 12;
export const PINGRESP = 13;
export const DISCONNECT = 14;

export type QoS = 0 | 1 | 2;

/** CONNACK return codes (3.2.2.3), by value. */
export const CONNACK_REASONS = [
  "accepted",
  "unacceptable protocol version",
  "identifier rejected",
  "server unavailable",
  "bad user name or password",
  "not authorized",
] as const;

/** Everything CONNECT carries (3.1). Strings are encoded as UTF-8. */
export interface ConnectOptions {
  clientId: string;
  keepalive: number;
  cleanSession: boolean;
  username?: string;
  password?: string;
  will?: { topic: string; payload: Uint8Array; qos: QoS; retain: boolean };
}

/**
 * One decoded packet, as the parser hands it to its handler.
 *
 * The parser owns and reuses this object and `buf`: everything in it is valid
 * only during the handler call. Byte ranges are [start, end) into `buf`, so that
 * receiving a PUBLISH allocates nothing.
 */
export interface Packet {
  type: number;
  /** The low nibble of the first byte. */
  flags: number;
  /** PUBLISH. */
  qos: QoS;
  retain: boolean;
  dup: boolean;
  /** PUBLISH with QoS > 0, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK; else 0. */
  packetId: number;
  /** CONNACK. */
  sessionPresent: boolean;
  returnCode: number;
  /** The parser's buffer holding the whole packet. */
  buf: Uint8Array;
  /** PUBLISH topic (UTF-8, validated). */
  topicStart: number;
  topicEnd: number;
  /** PUBLISH payload, or SUBACK return codes. */
  payloadStart: number;
  payloadEnd: number;
  /** The whole packet's size in bytes, fixed header included. */
  size: number;
  /**
   * A PUBLISH larger than the parser's limit: its header, topic and packet id
   * are valid, but the payload was read through and discarded (`payloadEnd`
   * marks what was kept). Never delivered; acknowledged as its QoS requires.
   */
  truncated: boolean;
}
