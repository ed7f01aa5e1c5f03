/** What an MQTT client is given: its options, and the handler it reports to. */
import type { Clock, SocketFactory } from "../ports";
import { utf8 } from "./codec";
import type { ReconnectPolicy } from "./lifecycle";
import type { ConnectOptions, QoS } from "./packet";

export interface ClientOptions {
  host: string;
  port: number;
  tls?: { ca?: string; serverName?: string };
  clientId: string;
  username?: string;
  password?: string;
  /** Seconds, 0 disables. */
  keepalive?: number;
  cleanSession?: boolean;
  will?: { topic: string; payload: string | Uint8Array; qos: QoS; retain: boolean };
  socket: SocketFactory;
  clock: Clock;
  random?: () => number;
  /** Largest packet accepted from the broker, bytes. */
  maxPacketSize?: number;
  /** Bounds of the outbound store's data lane (readings): messages and bytes (topic + payload). */
  queueCount?: number;
  queueBytes?: number;
  /** Time allowed from opening the socket to CONNACK, ms. */
  connectTimeout?: number;
  /**
   * Inbound QoS 2 packet ids remembered until PUBREL (default 64). Brokers keep
   * fewer in flight by default (mosquitto 20); past this the oldest is forgotten.
   */
  maxInboundQos2?: number;
  /** Backoff constants and refusal handling (default RECONNECT_POLICY in ./lifecycle). */
  reconnect?: ReconnectPolicy;
  /**
   * While `onConnect` runs nothing is written, so that what it publishes (the
   * announcements of state) goes ahead of readings queued offline. Default true.
   */
  announceFirst?: boolean;
}

export interface ClientHandler {
  /** Connected and CONNACK accepted. `sessionPresent` false means subscriptions were sent again. */
  onConnect?(sessionPresent: boolean): void;
  /** A connection attempt failed or an open connection was lost; the client retries by itself. */
  onDisconnect?(reason: string): void;
  /** An application message. `payload` is valid only during the call: copy what you keep. */
  onMessage?(topic: string, payload: Uint8Array, qos: QoS, retain: boolean): void;
  /** A PUBLISH larger than `maxPacketSize` arrived: it was acknowledged and discarded, unseen. */
  onTooLarge?(topic: string, size: number, retain: boolean): void;
  /** A message of kind `data` was dropped, never written, because its lane of the outbound store was full. */
  onDrop?(topic: string, qos: QoS): void;
  /**
   * A message of kind `data` reached the broker: PUBACK (QoS 1) or PUBCOMP
   * (QoS 2) arrived, or it was written (QoS 0). Called in publishing order.
   */
  onDelivered?(): void;
  /** Everything stored has been sent and acknowledged: the outbox is empty again. */
  onDrain?(): void;
  /** The broker refused a subscription (SUBACK 0x80). */
  onSubscribeFailed?(filter: string): void;
  /** A handler threw; the client carried on. */
  onHandlerError?(error: unknown): void;
}

/** What CONNECT carries for these options. */
export function connectOptions(o: ClientOptions, keepaliveSeconds: number): ConnectOptions {
  const connect: ConnectOptions = {
    clientId: o.clientId,
    keepalive: keepaliveSeconds,
    cleanSession: o.cleanSession ?? true,
    username: o.username,
    password: o.password,
  };
  if (o.will) {
    const payload = typeof o.will.payload === "string" ? utf8(o.will.payload) : o.will.payload;
    connect.will = { topic: o.will.topic, payload, qos: o.will.qos, retain: o.will.retain };
  }
  return connect;
}
