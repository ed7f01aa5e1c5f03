/**
 * The simulators' firmware image (docs/firmware-image.md): a 64-byte header
 * (magic, format, flags, payload length, version), the payload, and the
 * SHA-256 of everything before it, as an ESP32 app image ends with its own.
 * `npm run image` builds one; a virtual device's update port accepts only
 * an image that checks out, and its boot loader checks the slot again at
 * every boot.
 */
import crypto from "node:crypto";
import fs from "node:fs";

export const MAGIC = "DHTMQOTA";
export const FORMAT = 1;
export const HEADER_BYTES = 64;
export const DIGEST_BYTES = 32;
/** Flag: the firmware never reaches the broker (for rollback drills). */
export const FAULT_BOOT = 1;
const KNOWN_FLAGS = FAULT_BOOT;
const VERSION_AT = 16;
const VERSION_BYTES = 32;

export interface ImageInfo {
  version: string;
  /** Built with `--fault boot`. */
  faultBoot: boolean;
  /** The whole image, bytes. */
  byteLength: number;
}

export interface BuildOptions {
  version: string;
  faultBoot?: boolean;
  /** The whole image, bytes (at least HEADER_BYTES + DIGEST_BYTES + the description). */
  size?: number;
}

/** A default image is about as large as the firmware is on an ESP32. */
export const DEFAULT_SIZE = 1 << 20;

/** Undefined when `version` can be an image's version, else why not. */
export function checkImageVersion(version: string): string | undefined {
  if (!/^[\x21-\x7e]{1,32}$/.test(version))
    return `the version must be 1-${VERSION_BYTES} printable ASCII characters without spaces`;
  return undefined;
}

/** Builds an image: the payload is a line describing it, then filler that differs per version. */
export function buildImage(options: BuildOptions): Buffer {
  const bad = checkImageVersion(options.version);
  if (bad) throw new Error(bad);
  const description = Buffer.from(
    `dht-mqtt-esp32 simulated firmware ${options.version}${options.faultBoot ? " (fault: never reaches the broker)" : ""}\n`,
  );
  const size = options.size ?? DEFAULT_SIZE;
  const payloadBytes = size - HEADER_BYTES - DIGEST_BYTES;
  if (payloadBytes < description.length)
    throw new Error(`an image is at least ${HEADER_BYTES + DIGEST_BYTES + description.length} bytes`);
  if (size > 0xffffffff) throw new Error("an image is at most 4 GiB");
  const image = Buffer.alloc(size);
  image.write(MAGIC, 0, "latin1");
  image.writeUInt16BE(FORMAT, 8);
  image.writeUInt16BE(options.faultBoot ? FAULT_BOOT : 0, 10);
  image.writeUInt32BE(payloadBytes, 12);
  image.write(options.version, VERSION_AT, "latin1");
  description.copy(image, HEADER_BYTES);
  // Filler: xorshift32 seeded from the version, so that images of two versions differ throughout.
  let x = crypto.createHash("sha256").update(options.version).digest().readUInt32BE(0) || 1;
  for (let i = HEADER_BYTES + description.length; i < HEADER_BYTES + payloadBytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    image[i] = x & 0xff;
  }
  crypto
    .createHash("sha256")
    .update(image.subarray(0, size - DIGEST_BYTES))
    .digest()
    .copy(image, size - DIGEST_BYTES);
  return image;
}

/** Reads the header; a sentence saying what is wrong when it is not an image's. */
export function parseHeader(header: Uint8Array, byteLength: number): ImageInfo | string {
  if (byteLength < HEADER_BYTES + DIGEST_BYTES || header.length < HEADER_BYTES)
    return `not a firmware image: ${byteLength} bytes is too short`;
  const b = Buffer.from(header.buffer, header.byteOffset, HEADER_BYTES);
  if (b.toString("latin1", 0, 8) !== MAGIC)
    return `not a firmware image for this device (no "${MAGIC}" magic; build one with npm run image)`;
  const format = b.readUInt16BE(8);
  if (format !== FORMAT) return `image format ${format} is not understood (this simulator reads format ${FORMAT})`;
  const flags = b.readUInt16BE(10);
  if (flags & ~KNOWN_FLAGS) return `image flags 0x${flags.toString(16)} are not understood`;
  const payload = b.readUInt32BE(12);
  if (HEADER_BYTES + payload + DIGEST_BYTES !== byteLength)
    return `the image is ${byteLength} bytes but its header says ${HEADER_BYTES + payload + DIGEST_BYTES}`;
  const raw = b.subarray(VERSION_AT, VERSION_AT + VERSION_BYTES);
  const end = raw.indexOf(0);
  const version = raw.toString("latin1", 0, end < 0 ? VERSION_BYTES : end);
  if (checkImageVersion(version)) return "the image's header has no valid version";
  return { version, faultBoot: (flags & FAULT_BOOT) !== 0, byteLength };
}

/** Checks a whole image in a file (header and digest), reading it in pieces; a sentence when it is bad. */
export function inspectImageFile(file: string): ImageInfo | string {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    return "no image";
  }
  try {
    const size = fs.fstatSync(fd).size;
    const header = Buffer.alloc(HEADER_BYTES);
    fs.readSync(fd, header, 0, HEADER_BYTES, 0);
    const info = parseHeader(header, size);
    if (typeof info === "string") return info;
    const hash = crypto.createHash("sha256");
    const piece = Buffer.alloc(65536);
    const end = size - DIGEST_BYTES;
    for (let at = 0; at < end; ) {
      const n = fs.readSync(fd, piece, 0, Math.min(piece.length, end - at), at);
      if (n <= 0) return "the image could not be read whole";
      hash.update(piece.subarray(0, n));
      at += n;
    }
    const trailer = Buffer.alloc(DIGEST_BYTES);
    fs.readSync(fd, trailer, 0, DIGEST_BYTES, end);
    if (!hash.digest().equals(trailer)) return "the image's own SHA-256 does not match its contents (damaged)";
    return info;
  } finally {
    fs.closeSync(fd);
  }
}
