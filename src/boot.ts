/**
 * The one boot path: configuration → store → Wi-Fi supervisor → MQTT session
 * → app. The ESP32, the Moddable simulator and every virtual device of the
 * Node simulator call it; only the ports and the platform's few facts differ.
 *
 * The LED (restored as `ledRestore` says) and sampling start at once; MQTT
 * starts when Wi-Fi first has an address, is held while Wi-Fi is down, and
 * resumes as soon as the link is back. Settings that were
 * refused are traced at once and published as `config` errors after the
 * first connect.
 */
import type { Clock, DigitalOut, Flash, Hash, HttpClient, Log, SocketFactory, Store, UpdatePort, WiFiPort } from "./ports";
import { blocksFor } from "./store/readings";
import { App, VERSION } from "./app/app";
import { parseBroker, type BrokerAddress, type Config } from "./app/config";
import { createDhtSensor, type PulseCapture } from "./dht/sensor";
import type { DhtModel } from "./dht/frame";
import { WiFiSupervisor } from "./wifi/supervisor";
import { Backoff } from "./mqtt/backoff";

/** What a platform hands the core. */
export interface BootPorts {
  clock: Clock;
  socket: SocketFactory;
  wifi: WiFiPort;
  log: Log;
  /** What survives a restart: settings and the LED state. */
  store?: Store;
  led(pin: number): DigitalOut;
  capture(pin: number, model: DhtModel): PulseCapture;
  /** Free heap in bytes, for diag. */
  heap?(): number;
  random?(): number;
  /** A flash region of `byteLength` bytes in blocks of FLASH_BLOCK, kept across restarts, for the offline buffer. */
  flash?(byteLength: number): Flash | undefined;
  /** Unix time in ms, once known. */
  wallClock?(): number;
  /**
   * Restarts the device: the ESP32 reboots; a virtual device is stopped
   * cleanly and booted again with what it keeps. Settings changed over the
   * web and a new firmware take effect this way.
   */
  restart?(): void;
  /** Firmware updates: the spare partition and the boot loader's trial (none: updates are answered `unsupported`). */
  update?: UpdatePort;
  /** HTTP(S) downloads of firmware images. */
  http?: HttpClient;
  /** The platform's SHA-256 (default: the core's own, ./update/sha256). */
  sha256?(): Hash;
}

/** The erase unit the offline buffer is laid out for (the ESP32's flash sector). */
export const FLASH_BLOCK = 4096;

/** The few facts that differ between platforms. */
export interface Platform {
  /** For the start line, e.g. "ESP32". */
  board: string;
  /** The id when `id` is not configured. */
  defaultId(): string;
  /** Whether `ssid` must be configured (a real radio). */
  needsSsid: boolean;
  /** Where to connect when `broker` is not configured. */
  defaultBroker?: BrokerAddress;
  /** Model name for Home Assistant discovery. */
  model?: string;
  /** The running firmware's version (default VERSION, package.json's at build time; the simulator's installed image). */
  version?: string;
  /** Test-only: the window a new firmware has to reach the broker, ms (default 2 minutes). */
  updateWindow?: number;
}

export interface Device {
  app: App;
  wifi: WiFiSupervisor;
  /** Publishes `offline`, disconnects cleanly, and lets go of Wi-Fi. */
  stop(done?: () => void): void;
}

/**
 * Composes and starts a device. `errors`: settings refused while building
 * `config`. Returns undefined, after tracing why, when the configuration
 * cannot run at all (no broker, or no ssid where one is needed).
 */
export function boot(config: Config, errors: string[], ports: BootPorts, platform: Platform): Device | undefined {
  const log = ports.log;
  for (const error of errors) log(`config: ${error}`);
  const broker = config.broker ? parseBroker(config.broker) : platform.defaultBroker;
  if (!broker) {
    log("config: broker is required, e.g. broker=mqtt://192.168.1.10 (or mqtts://host:8883)");
    return undefined;
  }
  if (!config.ssid && platform.needsSsid) {
    log("config: ssid is required, e.g. ssid=MyWiFi password=secret");
    return undefined;
  }
  const id = config.id || platform.defaultId();
  log(`device: ${platform.board}, id ${id}, version ${platform.version ?? VERSION}, broker ${broker.tls ? "mqtts" : "mqtt"}://${broker.host}:${broker.port}`);

  let app: App | undefined;
  const wifi = new WiFiSupervisor({
    wifi: ports.wifi,
    clock: ports.clock,
    ssid: config.ssid,
    password: config.password,
    log,
    backoff: new Backoff(1000, 60000, ports.random),
    onUp: () => app?.resume(),
    onDown: () => app?.hold(),
  });
  app = new App(
    config,
    {
      clock: ports.clock,
      socket: ports.socket,
      led: ports.led(config.ledPin),
      sensor: createDhtSensor(ports.capture(config.dhtPin, config.sensor), config.sensor),
      log,
      store: ports.store,
      heap: ports.heap,
      rssi: () => wifi.rssi(),
      random: ports.random,
      flash: config.buffer > 0 ? ports.flash?.(blocksFor(config.buffer, FLASH_BLOCK) * FLASH_BLOCK) : undefined,
      wallClock: ports.wallClock,
      update: ports.update,
      http: ports.http,
      hash: ports.sha256,
      restart: ports.restart,
    },
    { id, broker, model: platform.model, version: platform.version, updateWindow: platform.updateWindow },
  );
  app.reportConfigErrors(errors);
  // The LED and the sensor start now; MQTT when Wi-Fi has an address.
  app.start(false);
  wifi.start();
  const running = app;
  return {
    app: running,
    wifi,
    stop(done?: () => void): void {
      running.stop(() => {
        wifi.stop();
        done?.();
      });
    },
  };
}
