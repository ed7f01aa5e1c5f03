/**
 * The device application: configuration → topics → behaviour.
 *
 * This file composes the parts and owns what is announced: availability
 * (with a Last Will), the LED's state, Home Assistant discovery, diag and
 * errors, in the order they go out after each connect; it routes incoming
 * messages (LED commands here, `config/set` to ./config-set, `ota/set` to
 * the updater). Readings and the offline buffer are ./telemetry's, the LED's
 * state across restarts ./led's, the handlers the session, sampler and
 * updater call ./handlers'. The same code runs on the ESP32, in the Moddable
 * simulator and in the Node simulator; only the ports differ.
 */

import { Sampler } from "../dht/sampler";
import { MqttClient } from "../mqtt/client";
import type { MessageKind } from "../mqtt/outbox";
import type { QoS } from "../mqtt/packet";
import { checkTopicFilter, checkTopicName } from "../mqtt/topic";
import type {
  Clock,
  DigitalOut,
  Flash,
  Hash,
  HttpClient,
  Log,
  Sensor,
  SocketFactory,
  Store,
  TimerId,
  UpdatePort,
} from "../ports";
import { readRecord } from "../update/record";
import { Updater } from "../update/updater";
import { decodeUtf8 } from "../utf8";
import { VERSION } from "../version";
import { type LedCommand, MAX_COMMAND, parseLedCommand, parseLosantCommand } from "./command";
import type { BrokerAddress, Config } from "./config";
import { configure } from "./config-set";
import { ClientEvents, PACKET_LIMIT, Sampling, UpdateLink } from "./handlers";
import { keepLed, ledAtPowerUp } from "./led";
import { Telemetry } from "./telemetry";
import { discoveryMessages, type Topics, topicsFor } from "./topics";

export { PACKET_LIMIT, VERSION };

const DIAG_MS = 60000;
/** Errors kept for the web page, newest last. */
const RECENT_ERRORS = 5;

/** One error as the web page lists it. */
export interface RecentError {
  code: string;
  detail: string;
  /** Clock time (ms) it happened. */
  at: number;
}

export interface AppPorts {
  clock: Clock;
  socket: SocketFactory;
  led: DigitalOut;
  sensor: Sensor;
  log: Log;
  /** What survives a restart: `config/set` settings (applied at boot, see ./settings) and the LED state. */
  store?: Store;
  /** Free heap in bytes, for diag. */
  heap?: () => number;
  /** Wi-Fi signal in dBm, for diag. */
  rssi?: () => number | undefined;
  random?: () => number;
  /** Flash for the offline buffer (see ../store/readings); none: readings wait in RAM only. */
  flash?: Flash;
  /** Unix time in ms, once known (SNTP on the device, the host clock in the simulator). */
  wallClock?: () => number;
  /** Firmware updates (see ../update/updater): the spare partition, the download client, the platform's SHA-256, the restart. */
  update?: UpdatePort;
  http?: HttpClient;
  hash?: () => Hash;
  restart?: () => void;
}

export interface AppOptions {
  /** The device id to use (config `id`, or the platform's default). */
  id: string;
  /** Where to connect (config `broker`, or the platform's default). */
  broker: BrokerAddress;
  /** Model name for discovery, e.g. "ESP32 + DHT11". */
  model?: string;
  /** The running firmware's version (default VERSION, from package.json). */
  version?: string;
  /** The window a new firmware has to reach the broker, ms (default 2 minutes; tests shorten it). */
  updateWindow?: number;
}

/**
 * The application. Methods named like events (`connected`, `message`, …)
 * are called by the small handler classes of ./handlers, not by users.
 */
export class App {
  /** The configuration in effect: the caller's own object (a fleet's devices share one) until config/set changes it. */
  config: Config;
  private ownsConfig = false;
  readonly id: string;
  readonly topics: Topics;
  readonly client: MqttClient;
  readonly sampler: Sampler;
  /** The running firmware's version. */
  readonly version: string;
  /** Readings, published live or through the offline buffer. */
  readonly telemetry: Telemetry;
  led = false;
  /** The last few errors (sensor, bad commands, refused settings …), oldest first. */
  readonly recentErrors: RecentError[] = [];
  commands = 0;
  badCommands = 0;
  /** Announcements and errors the client refused (a bad topic, or their lane of the outbound store full); each is logged. */
  refused = 0;
  /** Called after anything a status display shows has changed. */
  onChange: (() => void) | undefined;

  readonly ports: AppPorts;
  /** The Losant profile: commands in its JSON, the LED's state inside `state`. @internal */
  readonly losant: boolean;
  private readonly model: string;
  private readonly startedAt: number;
  private diagTimer: TimerId | undefined;
  /** The update window of a new firmware, ms (see AppOptions). */
  private readonly updateWindow: number | undefined;
  private madeUpdater: Updater | undefined;
  /** Refused settings, reported on the error topic after the next connect. */
  private configErrors: string[] = [];

  constructor(config: Config, ports: AppPorts, options: AppOptions) {
    this.ports = ports;
    this.config = config;
    this.id = options.id;
    this.model = options.model ?? `ESP32 + ${config.sensor.toUpperCase()}`;
    this.losant = config.profile === "losant";
    this.topics = topicsFor(this.config, this.id);
    this.version = options.version ?? VERSION;
    this.startedAt = ports.clock.now();
    this.led = ledAtPowerUp(this.config.ledRestore, ports.store, ports.log);
    this.telemetry = new Telemetry(this, ports.flash);
    const broker = options.broker;
    const retain = this.config.retain;
    this.client = new MqttClient(
      {
        host: broker.host,
        port: broker.port,
        tls: broker.tls ? { ca: config.ca || undefined, serverName: broker.host } : undefined,
        clientId: this.id,
        username: config.mqttUser || undefined,
        password: config.mqttPassword || undefined,
        keepalive: config.keepalive,
        cleanSession: config.session === "clean",
        maxPacketSize: PACKET_LIMIT,
        will: this.topics.status ? { topic: this.topics.status, payload: "offline", qos: 1, retain } : undefined,
        socket: ports.socket,
        clock: ports.clock,
        random: ports.random,
      },
      new ClientEvents(this),
    );
    this.sampler = new Sampler(new Sampling(this, ports, this.config.interval));
    this.updateWindow = options.updateWindow;
    // A firmware on trial is watched from the start; otherwise the updater is made when first needed.
    if (ports.update?.trial) this.madeUpdater = this.makeUpdater();
  }

  /** Firmware updates (`ota/set`, images pushed by the page), made at first use: an idle device keeps none. */
  get updater(): Updater {
    return (this.madeUpdater ??= this.makeUpdater());
  }

  private makeUpdater(): Updater {
    return new Updater(new UpdateLink(this, this.ports), { version: this.version, window: this.updateWindow });
  }

  /** The configuration, made the app's own first (config/set changes it at run time). @internal */
  ownConfig(): Config {
    if (!this.ownsConfig) {
      this.config = { ...this.config };
      this.ownsConfig = true;
    }
    return this.config;
  }

  /**
   * Drives the LED to its restored state and starts sampling; connects at
   * once unless `connect` is false (then `resume()` connects, when the
   * network is up).
   */
  start(connect = true): void {
    this.ports.led.write(this.led ? 1 : 0);
    // The client sends these again whenever the broker has no session for us
    // (with bad topics, it would refuse them for the fault already reported).
    if (this.checkTopics()) {
      this.subscribe(this.topics.command);
      if (this.topics.configSet) this.subscribe(this.topics.configSet);
      if (this.topics.otaSet) this.subscribe(this.topics.otaSet);
    }
    if (connect) this.client.start();
    this.sampler.start();
    if (this.topics.diag) this.diagTimer = this.ports.clock.repeat(() => this.diag(), DIAG_MS);
  }

  /** Publishes `offline`, disconnects cleanly and stops. */
  stop(done?: () => void): void {
    this.sampler.stop();
    this.madeUpdater?.stop();
    this.ports.clock.clear(this.diagTimer);
    this.diagTimer = undefined;
    if (this.client.connected && this.topics.status)
      this.send(this.topics.status, "offline", 1, this.config.retain, "latest");
    this.client.end(() => {
      this.changed();
      done?.();
    });
  }

  /** Wi-Fi is down: hold MQTT. */
  hold(): void {
    this.client.pause("network down");
    this.changed();
  }

  /** The network is up (again): connect at once. */
  resume(): void {
    if (this.client.state === "idle") this.client.start();
    else this.client.resume();
  }

  /** Applies an LED command, drives the pin, keeps the state (for `ledRestore` `last`) and reports it. */
  command(command: LedCommand): void {
    const led = command === "TOGGLE" ? !this.led : command === "ON";
    this.commands++;
    this.ports.led.write(led ? 1 : 0);
    if (led !== this.led && this.config.ledRestore === "last") keepLed(this.ports.store, this.ports.log, led);
    this.led = led;
    this.reportLed();
    this.changed();
  }

  /** Settings that were refused at start: each is published once as a `config` error after connecting. */
  reportConfigErrors(errors: string[]): void {
    for (const detail of errors) this.remember("config", detail);
    this.configErrors = this.configErrors.concat(errors);
    if (this.client.connected) this.publishConfigErrors();
  }

  /** Readings that never left the device: dropped from the full outbound queue or the full offline buffer. */
  get readingsDropped(): number {
    return this.client.dropped + (this.telemetry.log?.dropped ?? 0);
  }

  diagnostics(): Record<string, number | string> {
    return {
      version: this.version,
      uptime: Math.floor((this.ports.clock.now() - this.startedAt) / 1000),
      rssi: this.ports.rssi?.() ?? 0,
      heap: this.ports.heap?.() ?? 0,
      reconnects: this.client.reconnects,
      sensorErrors: this.sampler.sensorErrors,
      dropped: this.readingsDropped,
      queued: this.client.queued,
      buffered: this.telemetry.log?.pending ?? 0,
      refused: this.refused,
    };
  }

  // ---- events ---------------------------------------------------------------

  connected(): void {
    const { topics, config } = this;
    this.ports.log(`mqtt: connected as ${this.id}`);
    if (topics.status) this.send(topics.status, "online", 1, config.retain, "latest");
    this.reportLed();
    for (const m of discoveryMessages(config, topics, { id: this.id, model: this.model, version: this.version })) {
      this.send(m.topic, m.payload, 1, true, "latest");
    }
    this.diag();
    this.telemetry.reportDrops();
    this.publishConfigErrors();
    if (this.madeUpdater || readRecord(this.ports.store) !== undefined) this.updater.connected();
    this.telemetry.pump();
    this.changed();
  }

  private publishConfigErrors(): void {
    const errors = this.configErrors;
    this.configErrors = [];
    for (const detail of errors)
      if (this.topics.error)
        this.send(this.topics.error, JSON.stringify({ error: "config", detail }), 0, false, "event");
  }

  message(topic: string, payload: Uint8Array, retain: boolean): void {
    if (payload.length > MAX_COMMAND * 4) {
      this.badCommand(`command too long (${payload.length} bytes)`);
      return;
    }
    const text = decodeUtf8(payload);
    if (text === undefined) {
      this.badCommand("command is not valid UTF-8");
    } else if (topic === this.topics.command) {
      const parsed = this.losant ? parseLosantCommand(text) : parseLedCommand(text);
      if ("error" in parsed) this.badCommand(parsed.error);
      // Retained commands come again at every connect: only idempotent ones apply.
      else if (retain && parsed.command === "TOGGLE")
        this.badCommand(
          "a retained TOGGLE is ignored (it would flip the LED at every connect): send it without retain, or retain ON or OFF",
        );
      else this.command(parsed.command);
    } else if (topic === this.topics.configSet) {
      configure(this, text);
    } else if (topic === this.topics.otaSet) {
      this.updater.request(text, retain);
      this.changed();
    }
  }

  private reportLed(): void {
    const state = this.led ? "ON" : "OFF";
    if (this.topics.led) this.send(this.topics.led, state, 1, this.config.retain, "latest");
    else this.send(this.topics.state, `{"data":{"led":"${state}"}}`, 1, false, "latest");
  }

  /**
   * Publishes through the client, which refuses a message with a bad topic or
   * no room in its lane. A reading refused for want of room is counted by
   * the client as dropped (and reported as `queue-full`), a bad state topic
   * at start (`checkTopics`), so the hot path stays allocation-free; any
   * other refused message is counted (`refused` in diag) and logged: an
   * error cannot be sent about it on the lane that is full.
   */
  send(topic: string, payload: string | Uint8Array, qos: QoS, retain = false, kind: MessageKind = "data"): boolean {
    if (this.client.publish(topic, payload, qos, retain, kind)) return true;
    if (kind !== "data") this.refusedMessage(topic);
    return false;
  }

  /** @internal */
  refusedMessage(topic: string): void {
    this.refused++;
    this.ports.log(`mqtt: refused a message to ${topic}: ${checkTopicName(topic) ?? "no room in the outbound store"}`);
  }

  /**
   * The device's topics, made of the id and the prefix: a bad one (an id
   * given by the platform, which the configuration did not check) would have
   * every message refused. Reported once, as a configuration error; false then.
   */
  private checkTopics(): boolean {
    const topics = this.topics as unknown as Record<string, string>;
    for (const key of Object.keys(topics)) {
      const fault = topics[key] ? checkTopicName(topics[key]) : null;
      if (fault) {
        this.configError(`topic ${JSON.stringify(topics[key])} (from id ${JSON.stringify(this.id)}): ${fault}`);
        return false;
      }
    }
    return true;
  }

  private configError(detail: string): void {
    this.ports.log(`error: config: ${detail}`);
    this.reportConfigErrors([detail]);
  }

  /** Subscribes (again after every reconnect without a session); a filter the client refuses is a configuration error. */
  private subscribe(filter: string): void {
    if (!this.client.subscribe(filter, 1))
      this.configError(`cannot subscribe to ${JSON.stringify(filter)}: ${checkTopicFilter(filter)}`);
  }

  badCommand(detail: string): void {
    this.badCommands++;
    this.error("bad-command", detail);
    this.changed();
  }

  error(code: string, detail: string): void {
    this.ports.log(`error: ${code}: ${detail}`);
    this.remember(code, detail);
    if (this.topics.error) this.send(this.topics.error, JSON.stringify({ error: code, detail }), 0, false, "event");
  }

  /** Keeps an error for the web page; the oldest goes. @internal */
  remember(code: string, detail: string): void {
    const list = this.recentErrors;
    if (list.length >= RECENT_ERRORS) list.shift();
    list.push({ code, detail, at: this.ports.clock.now() });
  }

  private diag(): void {
    if (this.topics.diag && this.client.connected)
      this.send(this.topics.diag, JSON.stringify(this.diagnostics()), 0, false, "latest");
  }

  changed(): void {
    const onChange = this.onChange;
    if (!onChange) return;
    try {
      onChange();
    } catch {
      // a display must not stop the device
    }
  }
}
