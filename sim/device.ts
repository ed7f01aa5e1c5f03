/**
 * One virtual device: the core's boot path with Node ports, a virtual DHT
 * that produces pulse trains, a virtual LED, a virtual Wi-Fi link that
 * `--faults wifi=…` drops (and a set-up access point), a store kept in a file
 * under `--data`, and its own web page over node:http with `--web`.
 */
import fs from "node:fs";
import path from "node:path";
import v8 from "node:v8";
import type { App } from "../src/app/app";
import type { BrokerAddress, Config } from "../src/app/config";
import { boot, type Device, FLASH_BLOCK } from "../src/boot";
import type { HttpServerFactory, WiFiEvent, WiFiPort } from "../src/ports";
import { blocksFor, ReadingLog } from "../src/store/readings";
import { useStringPort } from "../src/utf8";
import { VERSION } from "../src/version";
import { VirtualLed } from "../src/virtual";
import type { WebPage } from "../src/web/routes";
import type { Faults } from "./cli";
import { nodeHttpClient } from "./http-client";
import { eraseFile, type FlashFileState, fileFlash, fileStore, nodeClock, nodeSocket, nodeStrings } from "./node-ports";
import { faultySocket, firmwareFiles, nodeSha256, SimBootLoader, windowFromEnvironment } from "./ota";
import { VirtualDht } from "./virtual-dht";

// The core encodes strings (topics, payloads) with Node's own UTF-8 where V8 is faster than the portable loops.
useStringPort(nodeStrings);

/** The offline buffer's file in a device's data folder. */
const BUFFER_FILE = "buffer.bin";
/** The settings' and LED state's file in a device's data folder. */
const STORE_FILE = "store.json";
/** The files a device keeps in its data folder. */
const OUR_FILES = new Set([STORE_FILE, BUFFER_FILE, ...firmwareFiles("").map((f) => path.basename(f))]);
/** How long a Wi-Fi drop injected by `--faults wifi=…` lasts, ms. */
export const WIFI_OUTAGE_MS = 5000;
/** How long the virtual radio takes to associate and get an address, ms. */
const ASSOCIATE_MS = 50;

export { VirtualLed };

/** A station link whose access point can be taken away and given back. */
export class VirtualWiFi implements WiFiPort {
  onEvent: ((event: WiFiEvent) => void) | undefined;
  /** The link has an address. */
  up = false;
  /** The access point is in range. */
  available = true;
  /** The set-up access point, while open. */
  accessPoint: string | undefined;
  private signal = -52 - Math.round(Math.random() * 12);
  private pending: NodeJS.Timeout | undefined;

  connect(): void {
    clearTimeout(this.pending);
    this.pending = setTimeout(() => {
      this.pending = undefined;
      if (!this.available) {
        this.emit("disconnected"); // no access point found
        return;
      }
      this.up = true;
      this.emit("connected");
      this.emit("gotIP");
    }, ASSOCIATE_MS);
  }

  disconnect(): void {
    clearTimeout(this.pending);
    this.pending = undefined;
    this.up = false;
  }

  /** Opens the set-up access point; the virtual device's page is reached on this machine. */
  openAccessPoint(ssid: string): string {
    this.accessPoint = ssid;
    return "127.0.0.1";
  }

  closeAccessPoint(): void {
    this.accessPoint = undefined;
  }

  address(): string | undefined {
    return this.up ? "127.0.0.1" : undefined;
  }

  rssi(): number | undefined {
    if (!this.up) return undefined;
    this.signal = Math.max(-90, Math.min(-30, this.signal + Math.round(Math.random() * 2 - 1)));
    return this.signal;
  }

  /** The access point goes away: the link drops. */
  drop(): void {
    this.available = false;
    if (this.up) {
      this.up = false;
      this.emit("disconnected");
    }
  }

  /** The access point is back: the supervisor's next attempt succeeds. */
  restore(): void {
    this.available = true;
  }

  private emit(event: WiFiEvent): void {
    this.onEvent?.(event);
  }
}

export interface DeviceOptions {
  /** Folder for what a real device keeps in flash; undefined: nothing is kept. */
  dataDir?: string;
  /** Start from nothing: what was kept in `dataDir` is deleted first. */
  fresh?: boolean;
  /** Whether `dataDir` exists, when the caller knows (a fleet lists its data folder once); else it is looked at. */
  folderExists?: boolean;
  /** Readings that count up (see virtual-dht's `sequenceReading`). */
  sequence?: boolean;
  faults: Faults;
  /** Test-only: the window a new firmware has to reach the broker, ms (default 2 minutes, or SIM_UPDATE_WINDOW_MS). */
  updateWindow?: number;
  /** Serves the device's page (on the config's `web` port). */
  http?: HttpServerFactory;
  page?: WebPage;
  /** Starts unprovisioned, in set-up mode: no Wi-Fi network (a kept one is forgotten) until one is set on the page. */
  setup?: boolean;
}

export interface VirtualDevice {
  /** The running app (a new one after each restart). */
  readonly app: App;
  led: VirtualLed;
  dht: VirtualDht;
  wifi: VirtualWiFi;
  /** Restarts done so far. */
  readonly restarts: number;
  /** Stops cleanly (`offline`, disconnect) and boots again, like a rebooted ESP32 keeping its flash. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** The file that holds a virtual device's store. */
export function storeFile(dataDir: string): string {
  return flatJoin(dataDir, STORE_FILE);
}

/**
 * `name` in folder `dir`, as one flat string: V8 keeps a string made with `+`
 * or a template as a tree of its pieces (a 32-byte node per join), and
 * `path.join` allocates a string per character it looks at; a fleet keeps
 * a few paths per device, and makes them while it starts. `dir` is a path
 * as `path.join` gives it (normalized), `name` a plain file or folder name.
 */
export function flatJoin(dir: string, name: string): string {
  return [dir, name].join(path.sep);
}

/** Readings waiting in the offline buffer a device keeps in `dataDir` (0 when there is none). */
export function bufferedReadings(dataDir: string, config: Config): number {
  const file = path.join(dataDir, BUFFER_FILE);
  if (config.buffer === 0 || !fs.existsSync(file)) return 0;
  const flash = fileFlash(file, blocksFor(config.buffer, FLASH_BLOCK) * FLASH_BLOCK, FLASH_BLOCK);
  try {
    return new ReadingLog(flash).pending;
  } catch {
    return 0;
  } finally {
    flash.dispose();
  }
}

export function createDevice(
  config: Config,
  id: string,
  broker: BrokerAddress,
  options: DeviceOptions,
  log: (line: string) => void,
): VirtualDevice {
  return new SimDevice(config, id, broker, options, log);
}

/**
 * One virtual device: an object with methods rather than a set of closures,
 * since a fleet has thousands.
 */
class SimDevice implements VirtualDevice {
  readonly led = new VirtualLed();
  readonly dht: VirtualDht;
  readonly wifi = new VirtualWiFi();
  restarts = 0;
  private readonly config: Config;
  /** The data folder (none: nothing is kept), and the store's file in it. */
  private readonly dir: string | undefined;
  private readonly file: string | undefined;
  private readonly http: HttpServerFactory | undefined;
  private readonly page: WebPage | undefined;
  private readonly unprovisioned: boolean;
  /** Firmware updates: two slots and a boot loader in the data folder (none without one). */
  private readonly loader: SimBootLoader | undefined;
  private readonly updateWindow: number | undefined;
  private device: Device;
  private halted = false;
  private stopped = false;
  private restarting: Promise<void> | undefined;
  /** The running boot's offline-buffer file, let go when it stops. */
  private flashFile: ReturnType<typeof fileFlash> | undefined;
  private timers: NodeJS.Timeout[] | undefined;
  /** Nothing of this device is on disk yet: its first boot need not read its files (a restart reads them). */
  private blank = false;
  /** What the first boot knows of the offline buffer's file (later boots look). */
  private bufferFile: FlashFileState = "look";

  constructor(
    config: Config,
    readonly id: string,
    private readonly broker: BrokerAddress,
    options: DeviceOptions,
    private readonly log: (line: string) => void,
  ) {
    // What later boots need of the options, as fields: a fleet's options objects are one per device.
    this.dir = options.dataDir;
    this.http = options.http;
    this.page = options.page;
    this.unprovisioned = options.setup === true;
    this.dht = new VirtualDht({ model: config.sensor, faultRate: options.faults.sensor, sequence: options.sequence });
    let file: string | undefined;
    if (options.dataDir) {
      file = storeFile(options.dataDir);
      // One look at the folder (none for a new device) rather than a check per file: a fleet boots thousands.
      const dir = options.dataDir;
      const folder = options.folderExists ?? fs.existsSync(dir);
      const found = folder ? fs.readdirSync(dir).filter((n) => OUR_FILES.has(n)) : [];
      // --fresh erases the offline buffer's file in place rather than deleting it (see eraseFile).
      if (options.fresh)
        for (const name of found)
          if (name === BUFFER_FILE) eraseFile(path.join(dir, name));
          else fs.rmSync(path.join(dir, name), { force: true });
      const kept = !options.fresh && found.length > 0;
      this.blank = !kept;
      this.bufferFile = kept || found.includes(BUFFER_FILE) ? "look" : "new-in-folder";
      // A new device's folder is made now, in this thread: about 40 µs on ext4. Made by libuv's threads instead,
      // a fleet's thousands of folders had those threads spinning on their parent's lock: 0.5 s more CPU at 10,000.
      if (!folder) fs.mkdirSync(dir, { recursive: true });
      this.say(kept ? `data: resuming from ${dir}` : `data: starting fresh in ${dir}`);
    }
    this.file = file;
    if (options.setup) {
      // Unprovisioned: like a board fresh from the flasher, or one whose Wi-Fi was reset.
      config = { ...config, ssid: "" };
      const store = fileStore(file, !this.blank);
      if (store.get("ssid") !== undefined) store.delete?.("ssid");
    }
    // The device's id in its configuration (as an ESP32 flashed with one), unless the configuration has none:
    // the boot path then takes this id as the platform's, and a fleet's devices share one configuration.
    this.config = config.id && config.id !== id ? { ...config, id } : config;
    this.loader = this.dir ? new SimBootLoader(this.dir, VERSION, this.say) : undefined;
    this.updateWindow = options.updateWindow ?? windowFromEnvironment();
    this.device = this.start();
    if (options.faults.wifi > 0) {
      const timers: NodeJS.Timeout[] = (this.timers = []);
      timers.push(
        setInterval(() => {
          this.say("wifi: access point gone (fault injection)");
          this.wifi.drop();
          timers.push(setTimeout(() => this.wifi.restore(), WIFI_OUTAGE_MS));
        }, options.faults.wifi),
      );
    }
  }

  /** The running app (a new one after each restart). */
  get app(): App {
    return this.device.app;
  }

  /** One line of this device's log. */
  readonly say = (line: string): void => this.log(`${this.id}: ${line}`);

  /** The restart port (the firmware asks, e.g. after an update or a settings change): a field, so no boot's scope stays alive with it. */
  private readonly restartSoon = (): void => void this.restart();

  private start(): Device {
    const { dir, loader, led, dht, blank, bufferFile } = this;
    this.blank = false;
    this.bufferFile = "look";
    const firmware = loader?.boot(blank);
    const restart = this.restartSoon;
    return boot(
      this.config,
      [],
      {
        clock: nodeClock,
        socket: firmware?.faultBoot ? faultySocket : nodeSocket,
        wifi: this.wifi,
        log: this.say,
        store: fileStore(this.file, !blank),
        led: () => led,
        capture: () => dht,
        heap: processHeap,
        flash: (byteLength) => {
          if (!dir) return undefined;
          this.flashFile?.dispose();
          this.flashFile = fileFlash(flatJoin(dir, BUFFER_FILE), byteLength, FLASH_BLOCK, bufferFile);
          return this.flashFile;
        },
        wallClock: Date.now,
        restart,
        update: firmware && loader ? loader.port(firmware, restart) : undefined,
        httpClient: nodeHttpClient,
        sha256: nodeSha256,
        http: this.http,
        page: this.page,
      },
      {
        board: "Node simulator",
        defaultId: () => this.id,
        needsSsid: this.unprovisioned,
        defaultBroker: this.broker,
        model: modelName(this.config.sensor),
        version: firmware?.version,
        updateWindow: this.updateWindow,
      },
    );
  }

  private halt(): Promise<void> {
    if (this.halted) return Promise.resolve();
    this.halted = true;
    return new Promise<void>((resolve) => {
      this.device.stop(() => {
        this.flashFile?.dispose();
        this.flashFile = undefined;
        resolve();
      });
    });
  }

  /** Stops cleanly (`offline`, disconnect) and boots again, like a rebooted ESP32 keeping its flash. */
  restart(): Promise<void> {
    this.restarting ??= (async () => {
      this.say("restarting");
      await this.halt();
      if (this.stopped) return;
      this.wifi.disconnect(); // the radio starts over
      this.led.write(0); // the GPIO resets; the boot path restores the LED
      this.restarts++;
      this.device = this.start();
      this.halted = false;
    })().finally(() => {
      this.restarting = undefined;
    });
    return this.restarting;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers ?? []) clearTimeout(timer);
    await this.restarting;
    await this.halt();
  }
}

const modelNames = new Map<string, string>();

/** What a device calls its model (one string per sensor type for the whole fleet). */
function modelName(sensor: string): string {
  let name = modelNames.get(sensor);
  if (name === undefined) modelNames.set(sensor, (name = `ESP32 + ${sensor.toUpperCase()} (simulated)`));
  return name;
}

/** The process's V8 heap in use (process.memoryUsage() reads /proc too: 10–50 µs, at each connect of each device's diag). */
function processHeap(): number {
  return v8.getHeapStatistics().used_heap_size;
}
