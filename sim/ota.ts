/**
 * Firmware updates in the Node simulator: two slots as files in the device's
 * data folder (`ota_0.bin`, `ota_1.bin`), and a tiny boot loader whose state
 * (`otadata.json`: the active slot, the previous one, and the active slot's
 * state) follows ESP-IDF's app rollback:
 *
 *   new ──boot──▶ pending-verify ──confirm()──▶ valid
 *                       │
 *                       └──restart before confirm(), or rollback()──▶ back to the previous slot
 *
 * A slot without a file holds the firmware the simulator was started with
 * (slot 0, version VERSION), as a freshly flashed board runs from ota_0.
 * The images are those of `npm run image` (./image-format.ts); a virtual
 * device runs the version named in its slot's image, and an image built with
 * `--fault boot` never reaches the broker.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Hash, Socket, SocketFactory, UpdatePort, UpdateTarget } from "../src/ports";
import { type ImageInfo, inspectImageFile } from "./image-format";

/** The spare partition's size: as on the ESP32 (src/device/partitions.csv). */
export const SLOT_BYTES = 0x1e0000;
const OTADATA = "otadata.json";
/** Test-only: a shorter trial window, ms (the contract's is 2 minutes). */
export const WINDOW_ENV = "SIM_UPDATE_WINDOW_MS";

type Slot = 0 | 1;
type SlotState = "new" | "pending-verify" | "valid" | "aborted";

interface OtaData {
  active: Slot;
  previous: Slot;
  state: SlotState;
}

/** What one boot runs. */
export interface Firmware {
  slot: Slot;
  version: string;
  /** The image was built with `--fault boot`: it never reaches the broker. */
  faultBoot: boolean;
  /** Just switched to: it must confirm itself, else the boot loader returns to the previous slot. */
  trial: boolean;
}

/** The files a device's firmware updates keep in its data folder. */
export function firmwareFiles(dir: string): string[] {
  return [OTADATA, "ota_0.bin", "ota_1.bin", "ota_0.bin.part", "ota_1.bin.part"].map((f) => path.join(dir, f));
}

/** The trial window set for tests through SIM_UPDATE_WINDOW_MS, if any. */
export function windowFromEnvironment(): number | undefined {
  const text = process.env[WINDOW_ENV];
  if (text === undefined || text === "") return undefined;
  const ms = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(ms >= 1000)) throw new Error(`${WINDOW_ENV}=${text}: expected a number of ms, at least 1000`);
  return ms;
}

/** The update port of one boot: an object with methods rather than closures (a fleet has one per device). */
class SimUpdatePort implements UpdatePort {
  readonly capacity = SLOT_BYTES;
  readonly installable = true;
  readonly trial: boolean;

  constructor(
    private readonly loader: SimBootLoader,
    private readonly running: Firmware,
    private readonly restart: () => void,
  ) {
    this.trial = running.trial;
  }

  open(options: { byteLength?: number; version: string }): UpdateTarget {
    return this.loader.openSpare(this.running, options.version);
  }

  confirm(): void {
    const data = this.loader.read();
    if (data.active === this.running.slot && data.state === "pending-verify")
      this.loader.write({ ...data, state: "valid" });
  }

  rollback(): void {
    const data = this.loader.read();
    this.loader.write({ ...data, state: "aborted" });
    this.restart();
  }
}

const factoryBoots = new Map<string, Firmware>();

/** A first boot's firmware (the factory slot): one object per version for a whole fleet (it is never changed). */
function factoryBoot(version: string): Firmware {
  let firmware = factoryBoots.get(version);
  if (!firmware) factoryBoots.set(version, (firmware = { slot: 0, version, faultBoot: false, trial: false }));
  return firmware;
}

export class SimBootLoader {
  private readonly dir: string;
  private readonly factory: string;
  private readonly log: (line: string) => void;

  constructor(dir: string, factoryVersion: string, log: (line: string) => void) {
    this.dir = dir;
    this.factory = factoryVersion;
    this.log = log;
  }

  /** A boot: applies the boot loader's rules, then says which firmware runs (`blank`: the folder holds none of its files, known without looking). */
  boot(blank = false): Firmware {
    if (blank) return factoryBoot(this.factory);
    let data = this.read();
    if (data.state === "pending-verify" || data.state === "aborted") {
      this.log(`bootloader: the firmware in slot ${data.active} was not confirmed; back to slot ${data.previous}`);
      data = { active: data.previous, previous: data.previous, state: "valid" };
      this.write(data);
    }
    let trial = false;
    if (data.state === "new") {
      data = { ...data, state: "pending-verify" };
      this.write(data);
      trial = true;
    }
    let image = this.inspect(data.active);
    if (typeof image === "string") {
      const other: Slot = data.active === 0 ? 1 : 0;
      const fallback = this.inspect(other);
      this.log(`bootloader: slot ${data.active} cannot boot (${image}); booting slot ${other}`);
      if (typeof fallback === "string")
        throw new Error(`no bootable firmware in ${this.dir} (slot ${other}: ${fallback}); start with --fresh`);
      data = { active: other, previous: other, state: "valid" };
      this.write(data);
      image = fallback;
      trial = false;
    }
    return { slot: data.active, version: image.version, faultBoot: image.faultBoot, trial };
  }

  /** The update port of the firmware `running`; `restart` reboots the device. */
  port(running: Firmware, restart: () => void): UpdatePort {
    return new SimUpdatePort(this, running, restart);
  }

  /** Writes into the slot not running, under a temporary name until the image checks out. */
  openSpare(running: Firmware, version: string): UpdateTarget {
    const spare: Slot = running.slot === 0 ? 1 : 0;
    const file = this.slotFile(spare);
    const part = `${file}.part`;
    fs.mkdirSync(this.dir, { recursive: true });
    let fd: number | undefined = fs.openSync(part, "w");
    let written = 0;
    const closeFile = () => {
      if (fd === undefined) return;
      fs.closeSync(fd);
      fd = undefined;
    };
    let completed = false;
    return {
      write: (bytes) => {
        if (fd === undefined) throw new Error("the spare partition is closed");
        if (written + bytes.length > SLOT_BYTES) throw new Error(`the spare partition holds ${SLOT_BYTES} bytes`);
        fs.writeSync(fd, bytes, 0, bytes.length, written);
        written += bytes.length;
      },
      complete: () => {
        closeFile();
        const info = inspectImageFile(part);
        if (typeof info === "string") throw new Error(info);
        if (version && info.version !== version)
          throw new Error(`the image is version ${info.version}, not the requested ${version}`);
        fs.renameSync(part, file);
        this.write({ active: spare, previous: running.slot, state: "new" });
        completed = true;
        this.log(
          `bootloader: slot ${spare} holds version ${info.version}${info.faultBoot ? " (fault: never reaches the broker)" : ""}; it boots next, on trial`,
        );
        return info.version;
      },
      close: () => {
        closeFile();
        if (!completed) fs.rmSync(part, { force: true });
      },
    };
  }

  private inspect(slot: Slot): ImageInfo | string {
    const file = this.slotFile(slot);
    if (!fs.existsSync(file)) return slot === 0 ? { version: this.factory, faultBoot: false, byteLength: 0 } : "empty";
    return inspectImageFile(file);
  }

  private slotFile(slot: Slot): string {
    return path.join(this.dir, `ota_${slot}.bin`);
  }

  read(): OtaData {
    try {
      const data = JSON.parse(fs.readFileSync(path.join(this.dir, OTADATA), "utf8")) as OtaData;
      if (
        (data.active === 0 || data.active === 1) &&
        (data.previous === 0 || data.previous === 1) &&
        ["new", "pending-verify", "valid", "aborted"].indexOf(data.state) >= 0
      )
        return data;
    } catch {
      // none yet, or damaged: as erased otadata, the first slot
    }
    return { active: 0, previous: 0, state: "valid" };
  }

  /** Written to a temporary file and renamed over the old one, so that a killed process leaves one or the other. */
  write(data: OtaData): void {
    fs.mkdirSync(this.dir, { recursive: true });
    const file = path.join(this.dir, OTADATA);
    const temporary = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, `${JSON.stringify(data)}\n`);
    fs.renameSync(temporary, file);
  }
}

/** The platform's SHA-256: node:crypto behind the core's Hash port. */
export function nodeSha256(): Hash {
  let hash = crypto.createHash("sha256");
  return {
    reset: () => void (hash = crypto.createHash("sha256")),
    write: (bytes) => void hash.update(bytes),
    digest: (out) => void out.set(hash.digest()),
  };
}

/** The sockets of a firmware built with `--fault boot`: every connection fails, so it never reaches the broker. */
export const faultySocket: SocketFactory = (options): Socket => {
  let closed = false;
  setTimeout(() => {
    if (!closed)
      options.onError(
        `connection to ${options.host}:${options.port} refused by the firmware itself (an image built with --fault boot)`,
      );
  }, 50);
  return {
    read: () => 0,
    write: () => {},
    close: () => void (closed = true),
  };
};
