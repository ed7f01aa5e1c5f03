/**
 * ports.ts `Flash` over ECMA-419 `embedded:storage/flash`: the `buffer` data
 * partition (src/device/partitions.csv) on the ESP32. Reads go into the
 * caller's bytes, so reading allocates nothing either.
 */
import FlashStorage from "embedded:storage/flash";
import type { Flash, Log } from "../ports";

/** The partition as a Flash of `byteLength` bytes, or undefined (traced) if it is missing or too small. */
export function partitionFlash(path: string, byteLength: number, log: Log): Flash | undefined {
  try {
    const partition = FlashStorage.open({ path, mode: "r+" });
    const { size, blockLength } = partition.status();
    if (size < byteLength) {
      log(`buffer: partition "${path}" holds ${size} bytes, ${byteLength} needed: readings wait in RAM only`);
      return undefined;
    }
    return {
      byteLength,
      blockLength,
      read: (offset, into) => void partition.read(into, offset),
      write: (offset, bytes) => partition.write(bytes, offset),
      eraseBlock: (block) => partition.eraseBlock(block),
    };
  } catch (e) {
    log(`buffer: no flash partition "${path}" (${String(e)}): readings wait in RAM only`);
    return undefined;
  }
}
