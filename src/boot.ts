/**
 * The one boot path: configuration → store → Wi-Fi supervisor → MQTT session
 * → app → web. The ESP32, the Moddable simulator and every virtual device of
 * the Node simulator call it; only the ports and the platform's few facts
 * differ.
 *
 * Settings kept in the store (config/set, the web page) win over the
 * build-time ones. The LED (restored as `ledRestore` says) and sampling start
 * at once; MQTT starts when Wi-Fi first has an address, is held while Wi-Fi
 * is down, and resumes as soon as the link is back. With no Wi-Fi network
 * configured, or none joined for 2 minutes, the device opens its set-up
 * access point and blinks the LED; the web page is served throughout.
 * Settings that were refused are traced at once and published as `config`
 * errors after the first connect.
 */

import { App, VERSION } from "./app/app";
import { type BrokerAddress, type Config, parseBroker } from "./app/config";
import { applyKept, keptKeys } from "./app/settings";
import type { DhtModel } from "./dht/frame";
import { createDhtSensor, type PulseCapture } from "./dht/sensor";
import { Backoff } from "./mqtt/backoff";
import type {
  Clock,
  DigitalOut,
  Flash,
  Hash,
  HttpClient,
  HttpServerFactory,
  Log,
  SocketFactory,
  Store,
  UpdatePort,
  WiFiPort,
} from "./ports";
import { blocksFor } from "./store/readings";
import { addDeviceRoutes, type WebPage } from "./web/routes";
import { WebServer } from "./web/server";
import { addUpdateRoute } from "./web/update";
import { IndicatorLed, SETUP_PATTERN } from "./wifi/indicator";
import { WiFiSupervisor, type WiFiSupervisorOptions } from "./wifi/supervisor";

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
  httpClient?: HttpClient;
  /** The platform's SHA-256 (default: the core's own, ./update/sha256). */
  sha256?(): Hash;
  /** Starts an HTTP server (the device's page and JSON API, on port `web`). */
  http?: HttpServerFactory;
  /** The page, as page/build.ts builds it (in flash on the device). */
  page?: WebPage;
  /** Announces `<name>.local` with `_http._tcp` on `port` over mDNS; called each time the station gets an address. */
  announce?(name: string, port: number): void;
}

/** The erase unit the offline buffer is laid out for (the ESP32's flash sector). */
export const FLASH_BLOCK = 4096;

/** The few facts that differ between platforms. */
export interface Platform {
  /** For the start line, e.g. "ESP32". */
  board: string;
  /** The id when `id` is not configured. */
  defaultId(): string;
  /** Whether `ssid` must be configured (a real radio): without one the device starts in set-up mode. */
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
  /** The web server, unless `web=off` or the platform has none: more routes can be added (e.g. POST /update). */
  web: WebServer | undefined;
  /** Publishes `offline`, disconnects cleanly, and lets go of Wi-Fi. */
  stop(done?: () => void): void;
}

/**
 * Composes and starts a device. `errors`: settings refused while building
 * `config` (which is not changed). Without a broker, MQTT stays off until one
 * is set (on the web page); without a Wi-Fi network where one is needed, the
 * device starts in set-up mode.
 */
export function boot(built: Config, errors: string[], ports: BootPorts, platform: Platform): Device {
  const log = ports.log;
  for (const error of errors) log(`config: ${error}`);
  // A copy only when kept settings change it: else a fleet's devices share one configuration.
  const config: Config = keptKeys(ports.store).length > 0 ? { ...built } : built;
  applyKept(config, ports.store, log);
  const broker = config.broker ? parseBroker(config.broker) : platform.defaultBroker;
  const id = config.id || platform.defaultId();
  const where = broker ? `${broker.tls ? "mqtts" : "mqtt"}://${broker.host}:${broker.port}` : "none";
  log(`device: ${platform.board}, id ${id}, version ${platform.version ?? VERSION}, broker ${where}`);
  if (!broker)
    log(
      "config: no broker: MQTT stays off until one is set, on the web page or with broker=mqtt://192.168.1.10 (or mqtts://host:8883)",
    );
  if (!config.ssid && platform.needsSsid)
    log(
      "config: no Wi-Fi network: set ssid (and password) on the web page, through the set-up access point, or with ssid=MyWiFi password=secret",
    );

  const clock = ports.clock;
  const led = new IndicatorLed(ports.led(config.ledPin), clock);
  const port = config.web === "off" ? undefined : config.web;
  const device = new Booted(id, port, led, log, ports.announce, broker !== undefined);
  const wifi = new WiFiSupervisor(
    new LinkOptions(device, {
      wifi: ports.wifi,
      clock,
      ssid: config.ssid,
      password: config.password,
      requireSsid: platform.needsSsid,
      log,
      backoff: new Backoff(1000, 60000, ports.random),
      setup: { name: `${id}-setup`, password: config.apPassword },
    }),
  );
  device.wifi = wifi;
  const app = new App(
    config,
    {
      clock,
      socket: ports.socket,
      led,
      sensor: createDhtSensor(ports.capture(config.dhtPin, config.sensor), config.sensor),
      log,
      store: ports.store,
      heap: ports.heap,
      rssi: () => wifi.rssi(),
      random: ports.random,
      flash: config.buffer > 0 ? ports.flash?.(blocksFor(config.buffer, FLASH_BLOCK) * FLASH_BLOCK) : undefined,
      wallClock: ports.wallClock,
      update: ports.update,
      http: ports.httpClient,
      hash: ports.sha256,
      restart: ports.restart,
    },
    // Without a broker the client is never started.
    {
      id,
      broker: broker ?? { tls: false, host: "", port: 1883 },
      model: platform.model,
      version: platform.version,
      updateWindow: platform.updateWindow,
    },
  );
  device.app = app;
  app.reportConfigErrors(errors);
  // The LED and the sensor start now; MQTT when Wi-Fi has an address.
  app.start(false);
  if (port !== undefined && ports.http) {
    const web = new WebServer({ log, password: config.webPassword, realm: id, setup: () => wifi.setup });
    addDeviceRoutes(web, {
      app,
      clock,
      log,
      store: ports.store,
      page: ports.page,
      setup: () => wifi.setup,
      restart: ports.restart,
    });
    addUpdateRoute(web, app.updater);
    if (web.listen(ports.http, port))
      log(`web: serving on port ${port}${config.webPassword ? " (changes need the web password)" : ""}`);
    device.web = web;
  }
  wifi.start();
  return device;
}

/**
 * A composed device: what it does as its Wi-Fi link comes and goes and as
 * set-up mode opens, and how it stops. An object with methods rather than
 * closures over boot's scope, since a fleet of virtual devices has thousands.
 */
class Booted implements Device {
  app!: App;
  wifi!: WiFiSupervisor;
  web: WebServer | undefined;

  constructor(
    private readonly id: string,
    /** The web page's port (undefined: `web=off`). */
    private readonly port: number | undefined,
    private readonly led: IndicatorLed,
    private readonly log: Log,
    private readonly announce: BootPorts["announce"],
    private readonly hasBroker: boolean,
  ) {}

  /** The link has an address: the page is announced there, and MQTT resumes. */
  linkUp(): void {
    const port = this.port;
    if (port !== undefined && this.web) {
      const address = this.wifi.address();
      if (address) this.log(`web: the page is at ${this.page(address)}`);
      this.announce?.(this.id, port);
    }
    if (this.hasBroker) this.app.resume();
  }

  /** The link is lost: MQTT holds. */
  linkDown(): void {
    this.app.hold();
  }

  /** Set-up mode began (the LED blinks its pattern; `address`: the access point's) or ended. */
  setupMode(active: boolean, address?: string): void {
    this.led.blink(active ? SETUP_PATTERN : undefined);
    if (active && address && this.web)
      this.log(`web: the page is at ${this.page(address)} (any address works while the access point is open)`);
  }

  /** Publishes `offline`, disconnects cleanly, and lets go of Wi-Fi. */
  stop(done?: () => void): void {
    this.web?.close();
    this.app.stop(() => {
      this.wifi.stop();
      this.led.blink(undefined);
      done?.();
    });
  }

  private page(address: string): string {
    return `http://${address}${this.port === 80 ? "" : `:${this.port}`}/`;
  }
}

/** The Wi-Fi supervisor's options, its events passed on to the device (methods, not closures: see Booted). */
class LinkOptions implements WiFiSupervisorOptions {
  readonly wifi: WiFiPort;
  readonly clock: Clock;
  readonly ssid: string;
  readonly password: string;
  readonly requireSsid: boolean | undefined;
  readonly log: Log | undefined;
  readonly backoff: Backoff | undefined;
  readonly setup: WiFiSupervisorOptions["setup"];
  readonly connectTimeout: number | undefined;
  readonly minDelay: number | undefined;

  constructor(
    private readonly device: Booted,
    options: Omit<WiFiSupervisorOptions, "onUp" | "onDown" | "onSetup">,
  ) {
    this.wifi = options.wifi;
    this.clock = options.clock;
    this.ssid = options.ssid;
    this.password = options.password;
    this.requireSsid = options.requireSsid;
    this.log = options.log;
    this.backoff = options.backoff;
    this.setup = options.setup;
    this.connectTimeout = options.connectTimeout;
    this.minDelay = options.minDelay;
  }

  onUp(): void {
    this.device.linkUp();
  }

  onDown(): void {
    this.device.linkDown();
  }

  onSetup(active: boolean, address?: string): void {
    this.device.setupMode(active, address);
  }
}
