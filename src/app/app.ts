/**
 * The device application: configuration → topics → behaviour.
 *
 * Samples the sensor and publishes `{"data":{"temp":…,"hum":…}}`, drives the
 * LED from commands and reports its state, announces availability with a
 * Last Will, publishes diagnostics and Home Assistant discovery, and applies
 * `config/set`. The same code runs on the ESP32, in the Moddable simulator
 * and in the Node simulator; only the ports differ.
 */

import { Sampler, type SamplerOptions } from "../dht/sampler";
import { type ClientHandler, MqttClient } from "../mqtt/client";
import type { MessageKind } from "../mqtt/outbox";
import type { QoS } from "../mqtt/packet";
import { checkTopicFilter, checkTopicName } from "../mqtt/topic";
import { Views } from "../mqtt/views";
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
import { type LoggedReading, ReadingLog } from "../store/readings";
import { Sha256 } from "../update/sha256";
import { Updater, updateOutcomeKept } from "../update/updater";
import { decodeUtf8 } from "../utf8";
import { VERSION } from "../version";
import { type LedCommand, MAX_COMMAND, parseLedCommand, parseLosantCommand } from "./command";
import { type BrokerAddress, type Config, parseValue } from "./config";
import { keep as keepSettings } from "./settings";
import { STATE_MAX, writeState } from "./state";
import { discoveryMessages, round1, type Topics, topicsFor } from "./topics";

export { VERSION };

const DIAG_MS = 60000;
let sharedStateViews: Views | undefined;
/** Keys `config/set` may change. */
const SETTABLE = ["interval", "qos"];
/** Largest PUBLISH the device takes in, bytes; larger ones are read through and reported. */
export const PACKET_LIMIT = 4096;
/** Where the last accepted LED state is kept (`ledRestore` `last`). */
const LED_KEY = "led";
/** Buffered readings sent and not yet acknowledged, at most: commands are never starved by a replay. */
const REPLAY_WINDOW = 4;
/** Before this (2017-07-14), a wall clock has not been set. */
const CLOCK_SET_MS = 1.5e12;
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
 * The application. Methods named like events (`reading`, `delivered`, `message`, …)
 * are called by the small handler classes at the end of this file, not by users.
 */
export class App {
  readonly config: Config;
  readonly id: string;
  readonly topics: Topics;
  readonly client: MqttClient;
  readonly sampler: Sampler;
  /** The running firmware's version. */
  readonly version: string;
  /** The update window of a new firmware, ms (see AppOptions). */
  private readonly updateWindow: number | undefined;
  private madeUpdater: Updater | undefined;
  led = false;
  lastReading: { temp: number; hum: number } | undefined;
  /** Clock time (ms) of the last reading. */
  lastReadingAt: number | undefined;
  /** The last few errors (sensor, bad commands, refused settings …), oldest first. */
  readonly recentErrors: RecentError[] = [];
  readings = 0;
  commands = 0;
  badCommands = 0;
  /** Announcements and errors the client refused (a bad topic, or their lane of the outbound store full); each is logged. */
  refused = 0;
  /** Called after anything a status display shows has changed. */
  onChange: (() => void) | undefined;

  readonly ports: AppPorts;
  private readonly model: string;
  private readonly startedAt: number;
  private diagTimer: TimerId | undefined;
  private readonly losant: boolean;
  private dropsUnreported = 0;
  /** Refused settings, reported on the error topic after the next connect. */
  private configErrors: string[] = [];
  /** Where a state payload is written before the client copies it: shared by the process's apps, made at first use. */
  private readonly stateViews = (sharedStateViews ??= new Views(new Uint8Array(STATE_MAX), 8));
  /** The offline buffer, when the platform has flash for it and `buffer` is not 0. */
  private readonly log: ReadingLog | undefined;
  private readonly taken: LoggedReading = { time: 0, temp: 0, hum: 0, timed: false };
  private pumping = false;

  constructor(config: Config, ports: AppPorts, options: AppOptions) {
    this.ports = ports;
    this.config = { ...config };
    this.id = options.id;
    this.model = options.model ?? `ESP32 + ${config.sensor.toUpperCase()}`;
    this.losant = config.profile === "losant";
    this.topics = topicsFor(this.config, this.id);
    this.version = options.version ?? VERSION;
    this.startedAt = ports.clock.now();
    this.led = this.restoreLed();
    this.log = ports.flash && this.config.buffer > 0 ? new ReadingLog(ports.flash) : undefined;
    if (this.log?.pending)
      ports.log(`buffer: ${this.log.pending} readings kept from before the restart, to be sent first`);
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

  /**
   * Firmware updates: `ota/set`, and images pushed by the web page
   * (`begin`/`write`/`end`). Made at first use (an update, a trial, an
   * update's outcome to report), so an idle device keeps none.
   */
  get updater(): Updater {
    return (this.madeUpdater ??= this.makeUpdater());
  }

  private makeUpdater(): Updater {
    const ports = this.ports;
    return new Updater(
      {
        clock: ports.clock,
        log: ports.log,
        store: ports.store,
        update: ports.update,
        http: ports.http,
        hash: new LazyHash(ports.hash ?? newSha256),
        restart: ports.restart,
        report: (answer) => {
          // Called deep in the download's callbacks: no extra frame (send()) on the simulator's 512-slot stack.
          const topic = this.topics.ota;
          if (topic && !this.client.publish(topic, JSON.stringify(answer), 1, false, "event"))
            this.refusedMessage(topic);
        },
      },
      { version: this.version, window: this.updateWindow },
    );
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
    if (led !== this.led && this.config.ledRestore === "last") this.keep(LED_KEY, led ? "ON" : "OFF");
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
    return this.client.dropped + (this.log?.dropped ?? 0);
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
      buffered: this.log?.pending ?? 0,
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
    this.reportDrops();
    this.publishConfigErrors();
    if (this.madeUpdater || updateOutcomeKept(this.ports.store)) this.updater.connected();
    this.pump();
    this.changed();
  }

  private publishConfigErrors(): void {
    const errors = this.configErrors;
    this.configErrors = [];
    for (const detail of errors)
      if (this.topics.error)
        this.send(this.topics.error, JSON.stringify({ error: "config", detail }), 0, false, "event");
  }

  /**
   * A reading was dropped from the full outbound queue. Counted, and reported
   * as one `queue-full` error; errors have their own lane, so the report never
   * displaces a reading.
   */
  dropped(): void {
    this.dropsUnreported++;
  }

  reportDrops(): void {
    const n = this.dropsUnreported;
    if (n === 0 || !this.topics.error || !this.client.connected) return;
    const detail = `outbound queue full: dropped ${n} reading${n === 1 ? "" : "s"}`;
    if (this.send(this.topics.error, JSON.stringify({ error: "queue-full", detail }), 0, false, "event")) {
      this.dropsUnreported = 0;
      this.ports.log(`error: queue-full: ${detail}`);
      this.remember("queue-full", detail);
    }
  }

  /**
   * A fresh reading: published without building an object or a string. With
   * the offline buffer, every reading is written to flash first and leaves
   * it in capture order; it is live (`{"data":…}`) when it was taken while
   * connected with nothing waiting, else it carries its capture time.
   */
  reading(temp: number, hum: number): void {
    const last = (this.lastReading ??= { temp: 0, hum: 0 });
    last.temp = round1(temp);
    last.hum = round1(hum);
    this.lastReadingAt = this.ports.clock.now();
    this.readings++;
    const log = this.log;
    if (log) {
      const dropped = log.dropped;
      const live = this.client.connected && log.pending === 0;
      log.append(this.wallSeconds(), temp, hum, !live);
      this.dropsUnreported += log.dropped - dropped;
      this.reportDrops();
      this.pump();
    } else {
      this.reportDrops();
      const length = writeState(this.stateViews.buffer, temp, hum, this.losant ? this.led : undefined);
      this.send(this.topics.state, this.stateViews.get(0, length), this.config.qos);
    }
    this.changed();
  }

  /** Sends buffered readings, oldest first, while fewer than REPLAY_WINDOW wait for the broker. */
  private pump(): void {
    const log = this.log;
    if (!log || this.pumping) return;
    this.pumping = true;
    try {
      const r = this.taken;
      while (this.client.connected && log.inFlight < REPLAY_WINDOW && log.take(r)) {
        const time = r.timed && r.time > 0 ? r.time * 1000 : undefined;
        const length = writeState(this.stateViews.buffer, r.temp, r.hum, this.losant ? this.led : undefined, time);
        if (!this.send(this.topics.state, this.stateViews.get(0, length), this.config.qos)) {
          log.untake();
          break;
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  /** The broker has the oldest reading sent: it leaves the buffer. */
  delivered(): void {
    if (!this.log) return;
    this.log.acknowledge();
    this.pump();
  }

  /** Unix seconds, or 0 while the wall clock is unknown. */
  private wallSeconds(): number {
    const ms = this.ports.wallClock?.() ?? 0;
    return ms > CLOCK_SET_MS ? Math.floor(ms / 1000) : 0;
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
      this.configure(text);
    } else if (topic === this.topics.otaSet) {
      this.updater.request(text, retain);
      this.changed();
    }
  }

  /** Applies `config/set`: all keys valid, or nothing changes. */
  private configure(text: string): void {
    let object: unknown;
    try {
      object = JSON.parse(text);
    } catch {
      object = undefined;
    }
    if (object === null || typeof object !== "object" || Array.isArray(object)) {
      this.badCommand(`config/set expects a JSON object with ${SETTABLE.join(" and/or ")}`);
      return;
    }
    const input = object as Record<string, unknown>;
    const keys = Object.keys(input);
    if (keys.length === 0) {
      this.badCommand(`config/set expects at least one of ${SETTABLE.join(", ")}`);
      return;
    }
    const values: Record<string, unknown> = {};
    for (const key of keys) {
      if (SETTABLE.indexOf(key) < 0) {
        this.badCommand(`config/set: "${key}" cannot be set at run time (settable: ${SETTABLE.join(", ")})`);
        return;
      }
      const result = parseValue(key, input[key]);
      if ("error" in result) {
        this.badCommand(`config/set: ${result.error}`);
        return;
      }
      values[key] = result.value;
    }
    this.apply(values);
    const refused = keepSettings(this.ports.store, values);
    if (refused && this.ports.store) this.ports.log(`store: ${refused}`);
    this.send(
      this.topics.config,
      JSON.stringify({ interval: this.config.interval, qos: this.config.qos }),
      1,
      this.config.retain,
      "latest",
    );
    this.changed();
  }

  private apply(values: Record<string, unknown>): void {
    if (values.qos !== undefined) this.config.qos = values.qos as QoS;
    if (values.interval !== undefined) {
      this.config.interval = values.interval as number;
      this.sampler?.changeInterval(this.config.interval);
    }
  }

  /** The LED state at power-up, as `ledRestore` says. */
  private restoreLed(): boolean {
    const mode = this.config.ledRestore;
    if (mode !== "last") return mode === "on";
    const saved = this.read(LED_KEY);
    if (saved === "ON" || saved === "OFF") this.ports.log(`store: restored led ${saved}`);
    return saved === "ON";
  }

  private read(key: string): string | undefined {
    try {
      return this.ports.store?.get(key);
    } catch {
      return undefined;
    }
  }

  /** Writes a value to the store; a store that fails is logged, never fatal. */
  private keep(key: string, value: string): void {
    try {
      this.ports.store?.set(key, value);
    } catch (error) {
      this.ports.log(`store: cannot keep ${key} (${error instanceof Error ? error.message : String(error)})`);
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
  private send(
    topic: string,
    payload: string | Uint8Array,
    qos: QoS,
    retain = false,
    kind: MessageKind = "data",
  ): boolean {
    if (this.client.publish(topic, payload, qos, retain, kind)) return true;
    if (kind !== "data") this.refusedMessage(topic);
    return false;
  }

  private refusedMessage(topic: string): void {
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

  /** Keeps an error for the web page; the oldest goes. */
  private remember(code: string, detail: string): void {
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

// The session's and the sampler's events as prototype methods of small
// objects, not closures made per app: the simulator runs thousands of apps,
// and on XS every closure costs heap slots. They call the app's event methods.

class ClientEvents implements ClientHandler {
  constructor(private readonly app: App) {}
  onConnect(): void {
    this.app.connected();
  }
  onDisconnect(reason: string): void {
    this.app.ports.log(`mqtt: disconnected (${reason}); retrying`);
    this.app.changed();
  }
  onMessage(topic: string, payload: Uint8Array, _qos: QoS, retain: boolean): void {
    this.app.message(topic, payload, retain);
  }
  onTooLarge(topic: string, size: number): void {
    this.app.badCommand(
      `message of ${size} bytes on ${topic} is over the device's limit of ${PACKET_LIMIT} bytes; ignored`,
    );
  }
  onDrop(): void {
    this.app.dropped();
  }
  onDelivered(): void {
    this.app.delivered();
  }
  onDrain(): void {
    this.app.reportDrops();
  }
  onSubscribeFailed(filter: string): void {
    this.app.error("subscribe", `broker refused subscription to ${filter}`);
  }
  onHandlerError(error: unknown): void {
    this.app.ports.log(`app: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The core's SHA-256, for platforms without their own. */
function newSha256(): Hash {
  return new Sha256();
}

/** A digest made when first used (the first update), so that a device that never updates keeps none. */
class LazyHash implements Hash {
  private hash: Hash | undefined;
  constructor(private readonly make: () => Hash) {}
  reset(): void {
    (this.hash ??= this.make()).reset();
  }
  write(bytes: Uint8Array): void {
    (this.hash ??= this.make()).write(bytes);
  }
  digest(out: Uint8Array): void {
    (this.hash ??= this.make()).digest(out);
  }
}

class Sampling implements SamplerOptions {
  readonly clock: Clock;
  readonly sensor: Sensor;
  constructor(
    private readonly app: App,
    ports: AppPorts,
    readonly interval: number,
  ) {
    this.clock = ports.clock;
    this.sensor = ports.sensor;
  }
  onReading(temp: number, hum: number): void {
    this.app.reading(temp, hum);
  }
  onError(code: string, detail: string): void {
    this.app.error(code, detail);
  }
  onWarning(text: string): void {
    this.app.ports.log(`sensor: ${text}`);
  }
}
