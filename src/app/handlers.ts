/**
 * What the session, the sampler and the updater report to the app: prototype
 * methods of small objects, not closures made per app. The simulator runs
 * thousands of apps, and on XS every closure costs heap slots of its own.
 * Each method forwards to the part of the app that owns the event, with no
 * frame between: the update's report and a message's answers are published
 * from deep inside socket callbacks (a 512-slot stack in the Moddable simulator).
 */

import type { SamplerOptions } from "../dht/sampler";
import type { ClientHandler } from "../mqtt/client";
import type { QoS } from "../mqtt/packet";
import type { Clock, Hash, HttpClient, Log, Sensor, Store, UpdatePort } from "../ports";
import { Sha256 } from "../update/sha256";
import type { UpdateAnswer, UpdaterPorts } from "../update/updater";
import type { App, AppPorts } from "./app";

/** Largest PUBLISH the device takes in, bytes; larger ones are read through and reported. */
export const PACKET_LIMIT = 4096;

export class ClientEvents implements ClientHandler {
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
    this.app.telemetry.dropped();
  }
  onDelivered(): void {
    this.app.telemetry.delivered();
  }
  onDrain(): void {
    this.app.telemetry.reportDrops();
  }
  onSubscribeFailed(filter: string): void {
    this.app.error("subscribe", `broker refused subscription to ${filter}`);
  }
  onHandlerError(error: unknown): void {
    this.app.ports.log(`app: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export class Sampling implements SamplerOptions {
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
    this.app.telemetry.reading(temp, hum);
  }
  onError(code: string, detail: string): void {
    this.app.error(code, detail);
  }
  onWarning(text: string): void {
    this.app.ports.log(`sensor: ${text}`);
  }
}

/** The updater's ports, and its answers published on `ota` (QoS 1, not retained). */
export class UpdateLink implements UpdaterPorts {
  readonly clock: Clock;
  readonly log: Log;
  readonly store: Store | undefined;
  readonly update: UpdatePort | undefined;
  readonly http: HttpClient | undefined;
  readonly hash: Hash;
  readonly restart: (() => void) | undefined;
  constructor(
    private readonly app: App,
    ports: AppPorts,
  ) {
    this.clock = ports.clock;
    this.log = ports.log;
    this.store = ports.store;
    this.update = ports.update;
    this.http = ports.http;
    this.hash = new LazyHash(ports.hash ?? newSha256);
    this.restart = ports.restart;
  }
  report(answer: UpdateAnswer): void {
    // Called deep in the download's callbacks: no extra frame (send()) on the simulator's 512-slot stack.
    const app = this.app;
    const topic = app.topics.ota;
    if (topic && !app.client.publish(topic, JSON.stringify(answer), 1, false, "event")) app.refusedMessage(topic);
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
