/**
 * MQTT 3.1.1 client session: one long-lived state machine over an injected
 * socket and clock. It connects, keeps the connection alive, reconnects with
 * backoff, and carries QoS 0, 1 and 2 in both directions.
 *
 *   idle ──start()──▶ connecting ──socket up──▶ handshake ──CONNACK 0──▶ connected
 *                        ▲                          │                        │
 *                        └──── waiting (backoff) ◀──┴──── error / lost ──────┘
 *   end(): connected ──▶ closing (outbox drains, DISCONNECT) ──▶ closed
 *
 * Nothing thrown by a handler escapes into the socket callbacks, and no
 * malformed input from the broker throws: it closes the connection with a
 * protocol error naming the fault, and the session reconnects. A PUBLISH
 * over the packet limit is not an error: it is read through, acknowledged as
 * its QoS requires, reported through `onTooLarge`, and the connection stays.
 *
 * Keepalive lives in ./keepalive, delays in ./backoff, the outbound store
 * (what to keep, what to drop) in ./outbox.
 */
import type { Clock, Socket, SocketFactory, SocketOptions, TimerId } from "../ports";
import { Backoff } from "./backoff";
import { Keepalive, KEEPALIVE_DEAD, KEEPALIVE_PING } from "./keepalive";
import {
  checkTopicFilter,
  checkTopicName,
  connectLength,
  publishHeaderLength,
  subscribeLength,
  unsubscribeLength,
  utf8,
  writeAck,
  writeConnect,
  writeDisconnect,
  writePingreq,
  writePublishHeader,
  writeSubscribe,
  writeUnsubscribe,
} from "./codec";
import { CONTROL_BOUNDS, Outbox, type Message, type MessageKind } from "./outbox";
import { Views } from "./views";
import {
  CONNACK,
  CONNACK_REASONS,
  PINGRESP,
  PUBACK,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  PUBREL,
  SUBACK,
  UNSUBACK,
  type ConnectOptions,
  type Packet,
  type QoS,
} from "./packet";
import { Parser, type ParserHandler } from "./parser";
import { decodeUtf8 } from "../utf8";

export type ClientState = "idle" | "connecting" | "handshake" | "connected" | "waiting" | "paused" | "closing" | "closed";

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

interface Subscription {
  filter: string;
  bytes: Uint8Array;
  qos: QoS;
}

interface PendingRequest {
  packetId: number;
  subscriptions: Subscription[];
}

/** String topics remembered with their encoded bytes. */
const TOPIC_CACHE = 16;
/** Bytes of the transmit and receive buffers every client of the process shares (see Shared). */
const TX_BYTES = 256;
const RX_BYTES = 512;

/**
 * Buffers every client of the process shares, made at first use (not while
 * preloading, which would put them in flash). Safe because a packet is built
 * and handed to `socket.write`, which copies it before returning (ports.ts),
 * with no other code running in between; and because received bytes are
 * copied into the connection's parser before any handler runs. A client that
 * receives while another is inside its handler (only a test's synchronous
 * fake can do that) reads into a buffer of its own. So the simulator's
 * thousands of devices pay for one transmit and one receive buffer in all.
 */
class Shared {
  readonly tx = new Uint8Array(TX_BYTES);
  /** Exact-length views of `tx`: one per packet length in use. */
  readonly txViews = new Views(this.tx, 64);
  readonly rx = new Uint8Array(RX_BYTES);
  receiving = false;
}
let shared: Shared | undefined;
/**
 * A connection that the broker's fault ends this soon after CONNACK (a
 * protocol error, or silence: an unanswered PINGREQ) does not count as
 * accepted: the backoff goes on from where it was.
 */
const PROVEN_MS = 60000;
/** CONNACK refusals that a quick retry cannot cure: wrong protocol, identifier rejected, bad credentials, not authorised. */
const LASTING_REFUSALS = [1, 2, 4, 5];

export class MqttClient {
  state: ClientState = "idle";
  /** Successful connections after the first one. */
  reconnects = 0;
  /** PUBLISH packets written (resends included), each in one socket write. */
  published = 0;
  /** Why the last connection ended, if it did. */
  lastError = "";

  private readonly options: ClientOptions;
  private readonly handler: ClientHandler;
  private readonly clock: Clock;
  private readonly backoff: Backoff;
  private readonly parser: Parser;
  private readonly outbox: Outbox;
  private readonly keepalive: Keepalive;
  private readonly connectTimeout: number;
  private readonly shared = (shared ??= new Shared());
  private readonly topics = new Map<string, Uint8Array>();
  /** Views of the parser's own buffer, made at the first message received. */
  private rxViews: Views | undefined;
  private readonly subscriptions: Subscription[] = [];
  private readonly pending: PendingRequest[] = [];
  private readonly inboundQos2: number[] = [];
  private socket: Socket | undefined;
  private timer: TimerId | undefined;
  private ticker: TimerId | undefined;
  private writable = 0;
  private everConnected = false;
  /** The backoff's attempt count before the last connection was accepted, and when (see fail). */
  private attemptsBefore = 0;
  private acceptedAt = 0;
  private nextId = 0;
  /** While onConnect runs: nothing is written, so what it announces goes ahead of readings queued offline. */
  private announcing = false;
  /** The outbox was empty when last looked at (for onDrain). */
  private idle = true;
  private closed: (() => void) | undefined;

  constructor(options: ClientOptions, handler: ClientHandler = {}) {
    this.options = options;
    this.handler = handler;
    this.clock = options.clock;
    this.keepalive = new Keepalive((options.keepalive ?? 30) * 1000);
    this.connectTimeout = options.connectTimeout ?? 10000;
    this.backoff = new Backoff(1000, 60000, options.random);
    this.outbox = new Outbox({ count: options.queueCount ?? 16, bytes: options.queueBytes ?? 4096 }, CONTROL_BOUNDS, (topic, qos) =>
      this.call(() => this.handler.onDrop?.(decode(topic), qos)),
    );
    this.parser = new Parser(new ParserEvents(this), options.maxPacketSize ?? 4096);
  }

  /** Messages stored: waiting to be sent or to be acknowledged. */
  get queued(): number {
    return this.outbox.length;
  }

  /** Messages of kind `data` dropped, never written, because the outbound store was full. */
  get dropped(): number {
    return this.outbox.dropped;
  }

  get connected(): boolean {
    return this.state === "connected";
  }

  /** Starts connecting; from now on the client reconnects by itself until `end()`. */
  start(): void {
    if (this.state === "idle" || this.state === "paused") this.open();
  }

  /** Drops the connection and stops retrying until `resume()` (e.g. while Wi-Fi is down). */
  pause(reason = "paused"): void {
    if (this.state === "closing" || this.state === "closed" || this.state === "idle") return;
    this.teardown(reason, false);
    this.state = "paused";
  }

  /** Connects again at once after `pause()`, or cuts a backoff wait short. */
  resume(): void {
    if (this.state === "paused" || this.state === "waiting") {
      this.clock.clear(this.timer);
      this.timer = undefined;
      this.open();
    }
  }

  /**
   * Publishes a message. While disconnected it waits in the bounded outbound
   * store, in the lane of its `kind` (see ./outbox: readings are `data`,
   * announcements of state `latest`, errors `event`). Returns false if the
   * message was refused (bad topic, or no room).
   */
  publish(topic: string | Uint8Array, payload: string | Uint8Array, qos: QoS = 0, retain = false, kind: MessageKind = "data"): boolean {
    if (this.state === "closed") return false;
    const name = typeof topic === "string" ? this.topicBytes(topic, kind === "data") : topic;
    if (!name) return false;
    if (qos === 0 && typeof payload !== "string" && this.state === "connected" && this.outbox.length === 0) {
      // Hot path: written at once from the caller's bytes, nothing stored.
      if (publishHeaderLength(name.length, payload.length, 0) + payload.length <= this.writable) {
        this.writePublishPacket(name, payload, payload.length, 0, retain, false, 0);
        if (kind === "data") this.delivered();
        return true;
      }
    }
    const message = this.outbox.add(name, payload, qos, retain, kind);
    if (!message) return false;
    if (qos > 0) message.packetId = this.allocateId();
    this.flush();
    return true;
  }

  /**
   * A topic's bytes, validated and encoded. Those of readings (`keep`) are
   * remembered, so that a reading allocates nothing: the app sends them to
   * one topic. Announcements (availability, LED, discovery, diag, errors)
   * are encoded when sent, at a connect, a command or once a minute, so that
   * a device does not keep a dozen topics' bytes for them.
   */
  private topicBytes(topic: string, keep: boolean): Uint8Array | undefined {
    let bytes = this.topics.get(topic);
    if (bytes === undefined) {
      if (checkTopicName(topic)) return undefined;
      bytes = utf8(topic);
      if (keep) {
        if (this.topics.size >= TOPIC_CACHE) this.topics.clear();
        this.topics.set(topic, bytes);
      }
    }
    return bytes;
  }

  /** Subscribes now if connected, and again after every reconnect without a session. */
  subscribe(filter: string, qos: QoS = 1): boolean {
    if (checkTopicFilter(filter)) return false;
    const existing = this.subscriptions.find((s) => s.filter === filter);
    const subscription = existing ?? { filter, bytes: utf8(filter), qos };
    subscription.qos = qos;
    if (!existing) this.subscriptions.push(subscription);
    if (this.state === "connected") this.sendSubscribe([subscription]);
    return true;
  }

  unsubscribe(filter: string): void {
    const index = this.subscriptions.findIndex((s) => s.filter === filter);
    if (index < 0) return;
    const [subscription] = this.subscriptions.splice(index, 1);
    if (this.state !== "connected") return;
    const packetId = this.allocateId();
    const topics = [subscription.bytes];
    const size = unsubscribeLength(topics);
    const out = this.packet(size);
    writeUnsubscribe(out, 0, packetId, topics);
    this.pending.push({ packetId, subscriptions: [] });
    this.sendPacket(out, size);
  }

  /**
   * Ends the session: waits (at most `timeout` ms) for the outbound store to
   * drain, sends DISCONNECT, closes, and never reconnects.
   */
  end(done?: () => void, timeout = 2000): void {
    if (this.state === "closed") {
      done?.();
      return;
    }
    this.closed = done;
    if (this.state !== "connected") {
      this.finish();
      return;
    }
    this.state = "closing";
    this.clock.clear(this.timer);
    this.timer = this.clock.set(() => this.finish(), timeout);
    this.flush();
    this.maybeFinish();
  }

  // ---- connection lifecycle ------------------------------------------------

  private open(): void {
    const options = this.options;
    this.state = "connecting";
    this.writable = 0;
    this.parser.reset();
    this.keepalive.start(this.clock.now());
    this.timer = this.clock.set(() => this.fail("connect timeout"), this.connectTimeout);
    try {
      this.socket = options.socket(new Link(this, options));
    } catch (error) {
      this.socket = undefined;
      this.fail(errorText(error));
    }
  }

  private writableNow(count: number): void {
    this.writable = count;
    if (this.state === "connecting") {
      this.state = "handshake";
      this.keepalive.start(this.clock.now());
      this.sendConnect();
    } else {
      this.flush();
      this.maybeFinish();
    }
  }

  private sendConnect(): void {
    const o = this.options;
    const connect: ConnectOptions = {
      clientId: o.clientId,
      keepalive: this.keepalive.period / 1000,
      cleanSession: this.cleanSession,
      username: o.username,
      password: o.password,
    };
    if (o.will) {
      const payload = typeof o.will.payload === "string" ? utf8(o.will.payload) : o.will.payload;
      connect.will = { topic: o.will.topic, payload, qos: o.will.qos, retain: o.will.retain };
    }
    const size = connectLength(connect);
    const out = this.packet(size);
    writeConnect(out, 0, connect);
    this.sendPacket(out, size);
  }

  private get cleanSession(): boolean {
    return this.options.cleanSession ?? true;
  }

  private connack(packet: Packet): void {
    const code = packet.returnCode;
    if (code !== 0) {
      const reason = CONNACK_REASONS[code] ?? `code ${code}`;
      this.teardown(`connection refused: ${reason}`, true);
      this.schedule(LASTING_REFUSALS.indexOf(code) >= 0 ? this.backoff.longest() : this.backoff.next());
      return;
    }
    this.clock.clear(this.timer);
    this.timer = undefined;
    this.state = "connected";
    this.attemptsBefore = this.backoff.attempt;
    this.acceptedAt = this.clock.now();
    this.backoff.reset();
    // A session is trusted only when one can exist: never after asking for a
    // clean one [MQTT-3.2.2-1], and not on the first connection after a
    // (re)boot, when this process cannot know what the broker kept.
    const session = packet.sessionPresent && !this.cleanSession && this.everConnected;
    if (this.everConnected) this.reconnects++;
    this.everConnected = true;
    if (this.keepalive.tick > 0) this.ticker = this.clock.repeat(() => this.tick(), this.keepalive.tick);
    if (!session) {
      this.inboundQos2.length = 0;
      if (this.subscriptions.length) this.sendSubscribe(this.subscriptions.slice());
    }
    this.announcing = true;
    this.call(() => this.handler.onConnect?.(session));
    this.announcing = false;
    this.flush();
  }

  /**
   * Closes the connection with a reason and, unless ending, retries after a
   * backoff: the longest one when retrying soon cannot help (`lasting`). A
   * connection accepted and then ended by the broker's fault (`brokers`: a
   * protocol error, or silence) within PROVEN_MS does not count as accepted,
   * so a broker that accepts and then sends garbage, or nothing, is retried
   * ever more slowly.
   */
  private fail(reason: string, lasting = false, brokers = false): void {
    if (this.state === "closing") {
      this.state = "waiting"; // the connection is gone: finish without writing DISCONNECT to it
      this.finish();
      return;
    }
    if (this.state === "idle" || this.state === "closed" || this.state === "waiting" || this.state === "paused") return;
    if (brokers && this.state === "connected" && this.clock.now() - this.acceptedAt < PROVEN_MS) this.backoff.attempt = this.attemptsBefore;
    this.teardown(reason, true);
    this.schedule(lasting ? this.backoff.longest() : this.backoff.next());
  }

  private protocolError(fault: string): void {
    this.fail(`protocol error: ${fault}`, false, true);
  }

  private teardown(reason: string, report: boolean): void {
    this.clock.clear(this.timer);
    this.clock.clear(this.ticker);
    this.timer = this.ticker = undefined;
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      try {
        socket.close();
      } catch {
        // already closed
      }
    }
    this.parser.reset();
    this.pending.length = 0;
    // QoS 0 messages already written are gone; unacknowledged QoS 1/2 ones stay to be sent again.
    const items = this.outbox.items;
    for (let i = items.length - 1; i >= 0; i--) {
      if (items[i].qos === 0 && items[i].sent) this.outbox.removeAt(i);
      else items[i].inflight = false;
    }
    this.lastError = reason;
    this.state = "waiting";
    if (report) this.call(() => this.handler.onDisconnect?.(reason));
  }

  private schedule(delay: number): void {
    if (this.state !== "waiting") return;
    this.timer = this.clock.set(() => {
      this.timer = undefined;
      if (this.state === "waiting") this.open();
    }, delay);
  }

  private finish(): void {
    if (this.state === "connected" || this.state === "closing") {
      const out = this.shared.tx;
      this.sendPacket(out, writeDisconnect(out, 0));
    }
    this.teardown("ended", false);
    this.state = "closed";
    const done = this.closed;
    this.closed = undefined;
    if (done) this.call(done);
  }

  private maybeFinish(): void {
    if (this.state === "closing" && this.outbox.length === 0) this.finish();
  }

  private tick(): void {
    const now = this.clock.now();
    const action = this.keepalive.check(now);
    if (action === KEEPALIVE_DEAD) {
      this.fail("keepalive timeout: PINGREQ unanswered", false, true);
    } else if (action === KEEPALIVE_PING) {
      const out = this.shared.tx;
      this.sendPacket(out, writePingreq(out, 0));
      this.keepalive.pinged(now);
    }
  }

  // ---- receiving -----------------------------------------------------------

  private readable(count: number): void {
    const socket = this.socket;
    const common = this.shared;
    const own = common.receiving; // nested inside another client's handler: see Shared
    const rx = own ? new Uint8Array(RX_BYTES) : common.rx;
    common.receiving = true;
    try {
      while (count > 0 && socket === this.socket && socket) {
        const n = socket.read(rx);
        if (n <= 0) break;
        count -= n;
        this.keepalive.received(this.clock.now());
        this.parser.push(rx, 0, n);
      }
    } finally {
      if (!own) common.receiving = false;
    }
  }

  private receive(packet: Packet): void {
    if (packet.type === CONNACK) {
      if (this.state !== "handshake") this.protocolError("unexpected CONNACK");
      else this.connack(packet);
      return;
    }
    if (this.state !== "connected" && this.state !== "closing") {
      this.protocolError(`packet type ${packet.type} before CONNACK`);
      return;
    }
    switch (packet.type) {
      case PUBLISH:
        this.incoming(packet);
        break;
      case PUBACK:
      case PUBCOMP:
        this.acknowledged(packet.packetId, packet.type === PUBACK ? 1 : 2);
        break;
      case PUBREC:
        this.received(packet.packetId);
        break;
      case PUBREL: {
        const index = this.inboundQos2.indexOf(packet.packetId);
        if (index >= 0) this.inboundQos2.splice(index, 1);
        this.ack(PUBCOMP, packet.packetId);
        break;
      }
      case SUBACK:
      case UNSUBACK:
        this.requestDone(packet);
        break;
      case PINGRESP:
        break;
    }
  }

  private incoming(packet: Packet): void {
    const { qos, packetId } = packet;
    if (qos === 2) {
      // Exactly once: deliver on first receipt, remember the id until PUBREL.
      if (this.inboundQos2.indexOf(packetId) < 0) {
        if (this.inboundQos2.length >= (this.options.maxInboundQos2 ?? 64)) this.inboundQos2.shift();
        this.inboundQos2.push(packetId);
        if (packet.truncated) this.tooLarge(packet);
        else this.deliver(packet);
      }
      this.ack(PUBREC, packetId);
      return;
    }
    if (packet.truncated) this.tooLarge(packet);
    else this.deliver(packet);
    if (qos === 1) this.ack(PUBACK, packetId);
  }

  private tooLarge(packet: Packet): void {
    const topic = decodeUtf8(packet.buf, packet.topicStart, packet.topicEnd) ?? "";
    const { size, retain } = packet;
    this.call(() => this.handler.onTooLarge?.(topic, size, retain));
  }

  private deliver(packet: Packet): void {
    const onMessage = this.handler.onMessage;
    if (!onMessage) return;
    const topic = decodeUtf8(packet.buf, packet.topicStart, packet.topicEnd) ?? "";
    // The parser's own buffer, or one it made for a packet larger than that (rare: a plain view).
    let payload: Uint8Array;
    if (packet.buf === this.parser.buffer) payload = (this.rxViews ??= new Views(packet.buf)).get(packet.payloadStart, packet.payloadEnd);
    else payload = packet.buf.subarray(packet.payloadStart, packet.payloadEnd);
    try {
      this.handler.onMessage!(topic, payload, packet.qos, packet.retain); // as a method: handlers may be class instances
    } catch (error) {
      this.handlerFailed(error);
    }
  }

  private acknowledged(packetId: number, qos: QoS): void {
    const index = this.outbox.indexOf(packetId);
    if (index >= 0 && this.outbox.items[index].qos === qos && this.outbox.items[index].inflight) {
      const data = this.outbox.items[index].kind === "data";
      this.outbox.removeAt(index);
      if (data) this.delivered();
    }
    this.flush();
    this.maybeFinish();
  }

  private received(packetId: number): void {
    const index = this.outbox.indexOf(packetId);
    if (index >= 0 && this.outbox.items[index].qos === 2) this.outbox.items[index].released = true;
    this.ack(PUBREL, packetId);
  }

  private requestDone(packet: Packet): void {
    const index = this.pending.findIndex((p) => p.packetId === packet.packetId);
    if (index < 0) return;
    const [request] = this.pending.splice(index, 1);
    if (packet.type !== SUBACK) return;
    const codes = packet.buf;
    for (let i = 0; i < request.subscriptions.length; i++) {
      const at = packet.payloadStart + i;
      if (at < packet.payloadEnd && codes[at] === 0x80) {
        const filter = request.subscriptions[i].filter;
        this.call(() => this.handler.onSubscribeFailed?.(filter));
      }
    }
  }

  // ---- sending -------------------------------------------------------------

  /** Writes what waits in the outbox, as far as the socket takes it; reports when it ran empty. */
  private flush(): void {
    this.writeQueued();
    const empty = this.outbox.length === 0;
    if (empty && !this.idle && this.state === "connected") {
      this.idle = true;
      const onDrain = this.handler.onDrain;
      if (onDrain) {
        try {
          this.handler.onDrain!();
        } catch (error) {
          this.handlerFailed(error);
        }
      }
    } else if (!empty) {
      this.idle = false;
    }
  }

  private writeQueued(): void {
    if ((this.state !== "connected" && this.state !== "closing") || this.announcing) return;
    const items = this.outbox.items;
    for (let i = 0; i < items.length; i++) {
      const message = items[i];
      if (message.inflight) continue;
      if (!this.fits(message)) return;
      this.writePublish(message);
      if (message.qos === 0) {
        const data = message.kind === "data";
        this.outbox.removeAt(i);
        i--;
        if (data) this.delivered();
      }
      if (this.socket === undefined) return;
    }
  }

  private fits(message: Message): boolean {
    return publishHeaderLength(message.topic.length, message.length, message.qos) + message.length <= this.writable;
  }

  private writePublish(message: Message): void {
    if (message.released) this.ack(PUBREL, message.packetId);
    else this.writePublishPacket(message.topic, message.bytes, message.length, message.qos, message.retain, message.sent && message.qos > 0, message.packetId);
    message.sent = true;
    message.inflight = true;
  }

  /**
   * Writes a PUBLISH (the first `length` bytes of `payload`) in one socket
   * write, so that it leaves in one TCP segment: header and payload are
   * built together in the shared transmit buffer, exactly sized, or, for the
   * rare packet larger than that, in a buffer of its own.
   */
  private writePublishPacket(topic: Uint8Array, payload: Uint8Array, length: number, qos: QoS, retain: boolean, dup: boolean, packetId: number): void {
    const size = publishHeaderLength(topic.length, length, qos) + length;
    const out = this.packet(size);
    let at = writePublishHeader(out, 0, topic, length, qos, retain, dup, packetId);
    // A loop rather than out.set(payload.subarray(…)), which would allocate a view on XS.
    for (let i = 0; i < length; i++) out[at++] = payload[i];
    this.published++;
    this.sendPacket(out, size);
  }

  /** Where to build a packet of `size` bytes: the shared transmit buffer, or a new one when it is larger. */
  private packet(size: number): Uint8Array {
    return size <= TX_BYTES ? this.shared.tx : new Uint8Array(size);
  }

  /** Sends the first `size` bytes of `out`, built by `packet()`, as one write. */
  private sendPacket(out: Uint8Array, size: number): void {
    this.send(out === this.shared.tx ? this.shared.txViews.get(0, size) : out);
  }

  private sendSubscribe(subscriptions: Subscription[]): void {
    const packetId = this.allocateId();
    const topics = subscriptions.map((s) => s.bytes);
    const size = subscribeLength(topics);
    const out = this.packet(size);
    writeSubscribe(out, 0, packetId, topics, subscriptions.map((s) => s.qos));
    this.pending.push({ packetId, subscriptions });
    this.sendPacket(out, size);
  }

  private ack(type: number, packetId: number): void {
    const out = this.shared.tx;
    this.sendPacket(out, writeAck(out, 0, type, packetId));
  }

  private send(bytes: Uint8Array): void {
    const socket = this.socket;
    if (!socket) return;
    this.writable -= bytes.length;
    this.keepalive.sent(this.clock.now());
    try {
      socket.write(bytes);
    } catch (error) {
      this.fail(errorText(error));
    }
  }

  /** Packet ids 1…65535 with wrap-around, never one still in use. */
  private allocateId(): number {
    for (let tries = 0; tries < 65535; tries++) {
      this.nextId = this.nextId >= 65535 ? 1 : this.nextId + 1;
      const id = this.nextId;
      if (this.outbox.indexOf(id) < 0 && !this.requestPending(id)) return id;
    }
    throw new RangeError("no free packet id");
  }

  private requestPending(packetId: number): boolean {
    const pending = this.pending;
    for (let i = 0; i < pending.length; i++) if (pending[i].packetId === packetId) return true;
    return false;
  }

  private delivered(): void {
    const onDelivered = this.handler.onDelivered;
    if (!onDelivered) return;
    try {
      this.handler.onDelivered!();
    } catch (error) {
      this.handlerFailed(error);
    }
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.handlerFailed(error);
    }
  }

  private handlerFailed(error: unknown): void {
    try {
      this.handler.onHandlerError?.(error);
    } catch {
      // nothing more to do
    }
  }
}

// Callbacks as prototype methods of small objects rather than closures made
// per client and per connection: the simulator runs thousands of clients,
// and on XS a closure costs heap slots of its own. They reach the client's
// private methods by name.

/** What the parser reports, handed to the client. */
class ParserEvents implements ParserHandler {
  constructor(private readonly client: MqttClient) {}
  onPacket(packet: Packet): void {
    this.client["receive"](packet);
  }
  onError(fault: string): void {
    this.client["protocolError"](fault);
  }
}

/** The options of one connection's socket, reporting to the client. */
class Link implements SocketOptions {
  readonly host: string;
  readonly port: number;
  readonly nodelay = true;
  readonly tls: SocketOptions["tls"];
  constructor(
    private readonly client: MqttClient,
    options: ClientOptions,
  ) {
    this.host = options.host;
    this.port = options.port;
    this.tls = options.tls;
  }
  onReadable(count: number): void {
    this.client["readable"](count);
  }
  onWritable(count: number): void {
    this.client["writableNow"](count);
  }
  onError(message: string, lasting?: boolean): void {
    this.client["fail"](message || "connection closed", lasting);
  }
}

/** Topics were validated as UTF-8 by the parser, and our own topics are encoded by us. */
function decode(bytes: Uint8Array): string {
  return decodeUtf8(bytes) ?? "";
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
