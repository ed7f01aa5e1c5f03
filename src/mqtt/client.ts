/**
 * MQTT 3.1.1 client session: one long-lived state machine over an injected
 * socket and clock. It connects, keeps the connection alive, reconnects with
 * backoff, and carries QoS 0, 1 and 2 in both directions.
 *
 * Nothing thrown by a handler escapes into the socket callbacks, and no
 * malformed input from the broker throws: it closes the connection with a
 * protocol error naming the fault, and the session reconnects. A PUBLISH
 * over the packet limit is not an error: it is read through, acknowledged as
 * its QoS requires, reported through `onTooLarge`, and the connection stays.
 *
 * This file composes the parts and owns the flow between them (the
 * connection's lifecycle, and which part a packet goes to):
 * - ./lifecycle: the state (the diagram is there), its one transition
 *   function, and the reconnect policy (backoff constants, lasting refusals);
 * - ./keepalive: when to ping and when to give up; ./backoff: delays;
 * - ./wire: the socket, the write budget, one write per packet, reading
 *   into the parser;
 * - ./outflow: our messages out (hot path, outbox order, acknowledgements);
 *   ./outbox: the outbound store (what to keep, what to drop);
 * - ./inbound: the broker's messages in, by QoS; ./exactly-once: QoS 2
 *   de-duplication; ./parser: bytes to packets;
 * - ./subscriptions: subscriptions, pending SUBACKs, packet ids;
 * - ./reporter: handler isolation; ./topics: the topic cache;
 * - ./options: what the client is given; ./links: the socket's and the
 *   parser's callbacks into the client.
 */
import type { Clock, TimerId } from "../ports";
import { writeDisconnect, writePingreq } from "./codec";
import { Inbound } from "./inbound";
import { KEEPALIVE_DEAD, KEEPALIVE_PING, Keepalive } from "./keepalive";
import { type ClientState, Lifecycle } from "./lifecycle";
import { Events, Link } from "./links";
import { type ClientHandler, type ClientOptions, connectOptions } from "./options";
import { CONTROL_BOUNDS, type MessageKind, Outbox } from "./outbox";
import { Outflow } from "./outflow";
import {
  CONNACK,
  CONNACK_REASONS,
  type Packet,
  PINGRESP,
  PUBACK,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  PUBREL,
  type QoS,
  SUBACK,
  UNSUBACK,
} from "./packet";
import { Parser } from "./parser";
import { Reporter } from "./reporter";
import { type Subscription, Subscriptions } from "./subscriptions";
import { TopicCache } from "./topics";
import { errorText, Wire } from "./wire";

export type { ClientState } from "./lifecycle";
export type { ClientHandler, ClientOptions } from "./options";

/**
 * An MQTT 3.1.1 session. `receive`, `writableNow`, `fail` and
 * `protocolError` are called by the socket and parser links (links.ts), not by users.
 */
export class MqttClient {
  /** Successful connections after the first one. */
  reconnects = 0;
  /** Why the last connection ended, if it did. */
  lastError = "";

  private readonly options: ClientOptions;
  private readonly report: Reporter;
  private readonly clock: Clock;
  private readonly life: Lifecycle;
  private readonly parser: Parser;
  private readonly outbox: Outbox;
  private readonly outflow: Outflow;
  private readonly keepalive: Keepalive;
  private readonly wire: Wire;
  private readonly topics = new TopicCache();
  private readonly subscriptions = new Subscriptions();
  private readonly inbound: Inbound;
  private timer: TimerId | undefined;
  private ticker: TimerId | undefined;
  private everConnected = false;
  private closed: (() => void) | undefined;

  constructor(options: ClientOptions, handler: ClientHandler = {}) {
    this.options = options;
    this.report = new Reporter(handler);
    this.clock = options.clock;
    this.keepalive = new Keepalive((options.keepalive ?? 30) * 1000);
    this.life = new Lifecycle(options.reconnect, options.random);
    const events = new Events(this);
    this.wire = new Wire(this.clock, this.keepalive, events);
    const report = this.report;
    this.outbox = new Outbox(
      { count: options.queueCount ?? 16, bytes: options.queueBytes ?? 4096 },
      CONTROL_BOUNDS,
      (topic, qos) => report.dropped(topic, qos),
    );
    this.parser = new Parser(events, options.maxPacketSize ?? 4096);
    this.outflow = new Outflow(this.outbox, this.wire, report, this.subscriptions);
    this.inbound = new Inbound(this.wire, report, this.subscriptions, this.parser.buffer, options.maxInboundQos2 ?? 64);
  }

  /** Where the session is; changed only by the lifecycle's transition function. */
  get state(): ClientState {
    return this.life.state;
  }

  /** PUBLISH packets written (resends included), each in one socket write. */
  get published(): number {
    return this.wire.published;
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
    this.life.to("paused");
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
  publish(
    topic: string | Uint8Array,
    payload: string | Uint8Array,
    qos: QoS = 0,
    retain = false,
    kind: MessageKind = "data",
  ): boolean {
    if (this.state === "closed") return false;
    const name = typeof topic === "string" ? this.topics.bytes(topic, kind === "data") : topic;
    if (!name) return false;
    const outflow = this.outflow;
    if (outflow.direct(name, payload, qos, retain, kind, this.connected)) return true;
    if (!outflow.store(name, payload, qos, retain, kind)) return false;
    outflow.flush(this.carrying, this.connected);
    return true;
  }

  /** Subscribes now if connected, and again after every reconnect without a session. */
  subscribe(filter: string, qos: QoS = 1): boolean {
    const subscription = this.subscriptions.add(filter, qos);
    if (!subscription) return false;
    if (this.state === "connected") this.sendSubscribe([subscription]);
    return true;
  }

  unsubscribe(filter: string): void {
    const subscription = this.subscriptions.remove(filter);
    if (!subscription || this.state !== "connected") return;
    this.subscriptions.unsubscribe(this.wire, this.outflow.nextId(), subscription);
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
    this.life.to("closing");
    this.clock.clear(this.timer);
    this.timer = this.clock.set(() => this.finish(), timeout);
    this.flush();
    this.maybeFinish();
  }

  // ---- connection lifecycle ------------------------------------------------

  private open(): void {
    this.life.to("connecting");
    this.wire.writable = 0;
    this.parser.reset();
    this.keepalive.start(this.clock.now());
    this.timer = this.clock.set(() => this.fail("connect timeout"), this.options.connectTimeout ?? 10000);
    try {
      this.wire.socket = this.options.socket(new Link(this, this.options, this.wire, this.parser));
    } catch (error) {
      this.wire.socket = undefined;
      this.fail(errorText(error));
    }
  }

  writableNow(count: number): void {
    this.wire.writable = count;
    if (this.state === "connecting") {
      this.life.to("handshake");
      this.keepalive.start(this.clock.now());
      this.wire.connect(connectOptions(this.options, this.keepalive.period / 1000));
    } else {
      this.flush();
      this.maybeFinish();
    }
  }

  private get cleanSession(): boolean {
    return this.options.cleanSession ?? true;
  }

  private connack(packet: Packet): void {
    const code = packet.returnCode;
    if (code !== 0) {
      const reason = CONNACK_REASONS[code] ?? `code ${code}`;
      this.teardown(`connection refused: ${reason}`, true);
      this.schedule(this.life.retryDelay(this.life.lasting(code)));
      return;
    }
    this.clock.clear(this.timer);
    this.timer = undefined;
    this.life.to("connected");
    this.life.accepted(this.clock.now());
    // A session is trusted only when one can exist: never after asking for a
    // clean one [MQTT-3.2.2-1], and not on the first connection after a
    // (re)boot, when this process cannot know what the broker kept.
    const session = packet.sessionPresent && !this.cleanSession && this.everConnected;
    if (this.everConnected) this.reconnects++;
    this.everConnected = true;
    if (this.keepalive.tick > 0) this.ticker = this.clock.repeat(() => this.tick(), this.keepalive.tick);
    if (!session) {
      this.inbound.exactlyOnce.clear();
      if (this.subscriptions.list.length) this.sendSubscribe(this.subscriptions.list.slice());
    }
    // Nothing written while onConnect runs, so that what it announces goes ahead of readings queued offline.
    this.outflow.hold = this.options.announceFirst ?? true;
    this.report.connected(session);
    this.outflow.hold = false;
    this.flush();
  }

  /**
   * Closes the connection with a reason and, unless ending, retries after a
   * backoff: the longest one when retrying soon cannot help (`lasting`). A
   * connection ended by the broker's fault (`brokers`: a protocol error, or
   * silence) soon after it was accepted does not count as accepted (see
   * Lifecycle.brokerFault), so a broker that accepts and then sends garbage,
   * or nothing, is retried ever more slowly.
   */
  fail(reason: string, lasting = false, brokers = false): void {
    if (this.state === "closing") {
      this.life.to("waiting"); // the connection is gone: finish without writing DISCONNECT to it
      this.finish();
      return;
    }
    if (this.state === "idle" || this.state === "closed" || this.state === "waiting" || this.state === "paused") return;
    if (brokers) this.life.brokerFault(this.clock.now());
    this.teardown(reason, true);
    this.schedule(this.life.retryDelay(lasting));
  }

  protocolError(fault: string): void {
    this.fail(`protocol error: ${fault}`, false, true);
  }

  /** Closes the connection and moves to `waiting`; QoS 1/2 messages not acknowledged stay to be sent again. */
  private teardown(reason: string, report: boolean): void {
    this.clock.clear(this.timer);
    this.clock.clear(this.ticker);
    this.timer = this.ticker = undefined;
    this.wire.close();
    this.parser.reset();
    this.subscriptions.forgetPending();
    this.outbox.connectionLost();
    this.lastError = reason;
    this.life.to("waiting");
    if (report) this.report.disconnected(reason);
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
      const out = this.wire.shared.tx;
      this.wire.send(out, writeDisconnect(out, 0));
    }
    this.teardown("ended", false);
    this.life.to("closed");
    const done = this.closed;
    this.closed = undefined;
    if (done) this.report.ended(done);
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
      const out = this.wire.shared.tx;
      this.wire.send(out, writePingreq(out, 0));
      this.keepalive.pinged(now);
    }
  }

  // ---- receiving -----------------------------------------------------------

  receive(packet: Packet): void {
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
        this.inbound.publish(packet);
        break;
      case PUBACK:
      case PUBCOMP:
        this.acknowledged(packet.packetId, packet.type === PUBACK ? 1 : 2);
        break;
      case PUBREC:
        this.outbox.released(packet.packetId);
        this.wire.ack(PUBREL, packet.packetId);
        break;
      case PUBREL:
        this.inbound.release(packet.packetId);
        break;
      case SUBACK:
      case UNSUBACK:
        this.inbound.settled(packet);
        break;
      case PINGRESP:
        break;
    }
  }

  private acknowledged(packetId: number, qos: QoS): void {
    this.outflow.acknowledged(packetId, qos, this.carrying, this.connected);
    this.maybeFinish();
  }

  // ---- sending -------------------------------------------------------------

  private flush(): void {
    this.outflow.flush(this.carrying, this.connected);
  }

  /** Whether the connection carries messages: connected, or closing while the outbox drains. */
  private get carrying(): boolean {
    return this.state === "connected" || this.state === "closing";
  }

  private sendSubscribe(subscriptions: Subscription[]): void {
    this.subscriptions.subscribe(this.wire, this.outflow.nextId(), subscriptions);
  }
}
