/**
 * The offline buffer: an append-only log of readings in NOR flash, kept
 * across reboots and power cuts, read back oldest first.
 *
 * Layout: the region is a ring of blocks (the flash's erase unit). Slot 0 of
 * a block is its header (magic, the block's sequence number, CRC); the other
 * slots hold 8-byte records:
 *
 *   bytes 0–3  capture time, Unix seconds (0: the clock was unknown)
 *   bytes 4–6  temperature × 10 + 1024 (11 bits) · humidity × 10 (10 bits) · 3 flags
 *              (`pending`; `timed`: send it with its capture time; a marker bit, always 1)
 *   byte  7    CRC-8 of bytes 0–6, with the `pending` flag counted as set
 *
 * `pending` (the lowest flag bit) is written as 1 and cleared in place when
 * the broker acknowledged the reading: NOR flash turns bits from 1 to 0
 * without an erase, so the cursor costs no extra block and no rewrite. The
 * oldest record still pending is where replay starts.
 *
 * Power-safety: a record is valid only if its CRC matches, so a torn write
 * leaves a slot that recovery skips (it is never reused until its block is
 * erased) and earlier records untouched. A block counts only once its header
 * is written, after its erase: a torn erase or header leaves a block that
 * recovery treats as free. A torn acknowledgement leaves the reading pending:
 * it is sent once more (QoS 1 allows it).
 *
 * No allocation per reading: appends and acknowledgements write from buffers
 * kept here.
 */
import type { Flash } from "../ports";

export const RECORD_BYTES = 8;
const MAGIC_0 = 0x52; // "R"
const MAGIC_1 = 0x44; // "D"
const PENDING = 0x01;
const TIMED = 0x02;
const MARKER = 0x04;

/** A reading as kept in the log. */
export interface LoggedReading {
  /** Capture time, Unix seconds; 0 when the clock was unknown. */
  time: number;
  temp: number;
  hum: number;
  /** It waited (the broker was unreachable, or a backlog was ahead of it): it is sent with its capture time. */
  timed?: boolean;
}

/** CRC-8 (polynomial 0x07) of b[start, end). */
export function crc8(b: Uint8Array, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc ^= b[i];
    for (let k = 0; k < 8; k++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

/** The record bytes for a reading, pending. Values out of range are clamped. */
export function encodeRecord(into: Uint8Array, time: number, temp: number, hum: number, timed = true): void {
  const t = Math.max(0, Math.min(2047, Math.round(temp * 10) + 1024));
  const h = Math.max(0, Math.min(1023, Math.round(hum * 10)));
  const seconds = time > 0 && time < 0xffffffff ? Math.floor(time) : 0;
  into[0] = (seconds >>> 24) & 0xff;
  into[1] = (seconds >>> 16) & 0xff;
  into[2] = (seconds >>> 8) & 0xff;
  into[3] = seconds & 0xff;
  const v = (t << 13) | (h << 3) | MARKER | (timed ? TIMED : 0) | PENDING;
  into[4] = (v >>> 16) & 0xff;
  into[5] = (v >>> 8) & 0xff;
  into[6] = v & 0xff;
  into[7] = recordCrc(into);
}

function recordCrc(b: Uint8Array): number {
  const flags = b[6];
  b[6] = flags | PENDING;
  const crc = crc8(b, 0, 7);
  b[6] = flags;
  return crc;
}

/** Decodes a record; false if the slot does not hold a valid one. */
function decodeRecord(b: Uint8Array, out: LoggedReading): boolean {
  if (recordCrc(b) !== b[7] || !(b[6] & MARKER)) return false;
  out.time = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  const v = (b[4] << 16) | (b[5] << 8) | b[6];
  out.temp = ((v >>> 13) - 1024) / 10;
  out.hum = ((v >>> 3) & 0x3ff) / 10;
  out.timed = (b[6] & TIMED) !== 0;
  return true;
}

function erased(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0xff) return false;
  return true;
}

/** The number of blocks a log of `capacity` readings needs: one more than holds them, so that the oldest block can be erased while the rest is kept. */
export function blocksFor(capacity: number, blockLength: number): number {
  return Math.ceil(capacity / (blockLength / RECORD_BYTES - 1)) + 1;
}

/** Scratch for one record and one flag byte, shared by every log of the process: used only within a call. Made at first use (never in a preloaded module's flash). */
let sharedRecord: Uint8Array | undefined;
let sharedFlag: Uint8Array | undefined;
/** A record's reading decoded, where only its flags matter: shared the same way. */
let sharedSeen: LoggedReading | undefined;

export class ReadingLog {
  /** Readings appended and not yet acknowledged (a slot left torn by a power cut counts until it is passed). */
  pending = 0;
  /** Readings lost because the log was full (the oldest went first). */
  dropped = 0;
  private readonly flash: Flash;
  private readonly blocks: number;
  private readonly slots: number;
  private readonly record = (sharedRecord ??= new Uint8Array(RECORD_BYTES));
  private readonly flag = (sharedFlag ??= new Uint8Array(1));
  private readonly seen = (sharedSeen ??= { time: 0, temp: 0, hum: 0 });
  /** Physical block and slot of the next write; the block's sequence number. */
  private tailBlock = 0;
  private tailSlot = 0;
  private tailSeq = 0;
  /** Physical block and slot of the oldest pending reading (meaningless when pending is 0). */
  private headBlock = 0;
  private headSlot = 1;
  /** The next reading `take` hands out, and how many are handed out and not yet acknowledged. */
  private sendBlock = 0;
  private sendSlot = 1;
  private handed = 0;
  /**
   * The record written last and where (-1: none), as three small integers:
   * a live reading is taken and acknowledged right after it was written, and
   * reads it from here rather than from flash. Flash stays the truth: a
   * restart reads it all back.
   */
  private lastAt = -1;
  /** A fresh region whose first block is erased and headed at the first append, not at start: a device that never buffers never writes. */
  private unformatted = false;
  private last0 = 0;
  private last1 = 0;
  private last2 = 0;

  constructor(flash: Flash) {
    this.flash = flash;
    this.blocks = Math.floor(flash.byteLength / flash.blockLength);
    this.slots = flash.blockLength / RECORD_BYTES;
    if (this.blocks < 2 || !Number.isInteger(this.slots))
      throw new RangeError("the offline buffer needs at least 2 flash blocks of a multiple of 8 bytes");
    this.recover();
  }

  /** How many readings the log keeps at least (up to one block more until the ring wraps). */
  get capacity(): number {
    return (this.blocks - 1) * (this.slots - 1);
  }

  /** Readings handed out by `take` and not yet acknowledged. */
  get inFlight(): number {
    return this.handed;
  }

  /** Appends a reading as pending; when full, the oldest block of readings is dropped. */
  append(time: number, temp: number, hum: number, timed = true): void {
    if (this.unformatted) {
      this.unformatted = false;
      this.flash.eraseBlock(0);
      this.writeHeader(0, 1);
    } else if (this.tailSlot >= this.slots) this.openBlock();
    const b = this.record;
    encodeRecord(b, time, temp, hum, timed);
    const at = this.offset(this.tailBlock, this.tailSlot);
    this.flash.write(at, b);
    this.lastAt = at;
    this.last0 = b[0] | (b[1] << 8) | (b[2] << 16);
    this.last1 = b[3] | (b[4] << 8) | (b[5] << 16);
    this.last2 = b[6] | (b[7] << 8);
    if (this.pending === 0) {
      this.headBlock = this.sendBlock = this.tailBlock;
      this.headSlot = this.sendSlot = this.tailSlot;
      this.handed = 0;
    }
    this.tailSlot++;
    this.pending++;
  }

  /**
   * The next pending reading not yet handed out, into `out` (reused); false
   * when all are. Readings are acknowledged in the order they are taken.
   */
  take(out: LoggedReading): boolean {
    while (this.handed < this.pending) {
      const block = this.sendBlock;
      const slot = this.sendSlot;
      this.sendSlot++;
      if (this.sendSlot >= this.slots) {
        this.sendBlock = (this.sendBlock + 1) % this.blocks;
        this.sendSlot = 1;
      }
      this.handed++;
      this.readRecord(this.offset(block, slot));
      if (decodeRecord(this.record, out) && this.record[6] & PENDING) return true;
      // A torn slot: nothing to send. At the head it is passed now; else
      // when the readings ahead of it are acknowledged (skipTorn).
      if (this.handed === 1) this.advanceHead();
    }
    return false;
  }

  /** The oldest pending reading, into `out` (reused); false when none. */
  peek(out: LoggedReading): boolean {
    while (this.pending > 0) {
      this.readRecord(this.offset(this.headBlock, this.headSlot));
      if (decodeRecord(this.record, out) && this.record[6] & PENDING) return true;
      this.advanceHead(); // a torn slot, or one acknowledged by a write that recovery could not see
    }
    return false;
  }

  /** Takes back the reading `take` handed out last (it could not be sent now). */
  untake(): void {
    if (this.handed === 0) return;
    this.handed--;
    this.sendSlot--;
    if (this.sendSlot < 1) {
      this.sendBlock = (this.sendBlock - 1 + this.blocks) % this.blocks;
      this.sendSlot = this.slots - 1;
    }
  }

  /** The oldest reading handed out reached the broker: it is marked, in flash, and the next becomes the oldest. */
  acknowledge(): void {
    if (this.pending === 0) return;
    const at = this.offset(this.headBlock, this.headSlot);
    this.readRecord(at);
    if (this.record[6] & PENDING && this.record[6] !== 0xff) {
      this.flag[0] = this.record[6] & ~PENDING;
      this.flash.write(at + 6, this.flag);
      if (at === this.lastAt) this.lastAt = -1;
    }
    this.advanceHead();
    this.skipTorn();
  }

  /** Passes torn slots that were handed out and now stand at the head. */
  private skipTorn(): void {
    while (this.pending > 0 && this.handed > 0) {
      this.readRecord(this.offset(this.headBlock, this.headSlot));
      if (decodeRecord(this.record, this.seen) && this.record[6] & PENDING) return;
      this.advanceHead();
    }
  }

  private advanceHead(): void {
    if (this.handed > 0) this.handed--;
    else {
      // Passed without being taken (peek): the send cursor moves along.
      this.sendBlock = this.headBlock;
      this.sendSlot = this.headSlot + 1;
      if (this.sendSlot >= this.slots) {
        this.sendBlock = (this.sendBlock + 1) % this.blocks;
        this.sendSlot = 1;
      }
    }
    this.pending--;
    this.headSlot++;
    if (this.headSlot >= this.slots && this.pending > 0) {
      this.headBlock = (this.headBlock + 1) % this.blocks;
      this.headSlot = 1;
    }
  }

  /** Moves the tail to the next block: erases it (dropping what it still held), then writes its header. */
  private openBlock(): void {
    const next = (this.tailBlock + 1) % this.blocks;
    if (this.pending > 0 && this.headBlock === next) {
      // The ring is full: the oldest block's readings go.
      const lost = this.slots - this.headSlot;
      const n = Math.min(lost, this.pending);
      this.dropped += n;
      this.pending -= n;
      this.headBlock = (next + 1) % this.blocks;
      this.headSlot = 1;
      if (this.handed >= n) this.handed -= n;
      else {
        this.handed = 0;
        this.sendBlock = this.headBlock;
        this.sendSlot = 1;
      }
    }
    this.flash.eraseBlock(next);
    if (this.lastAt >= 0 && Math.floor(this.lastAt / this.flash.blockLength) === next) this.lastAt = -1;
    this.tailSeq = (this.tailSeq + 1) >>> 0;
    this.writeHeader(next, this.tailSeq);
    this.tailBlock = next;
    this.tailSlot = 1;
  }

  /** The record at `at` into `record`: the one written last from memory, else from flash. */
  private readRecord(at: number): void {
    const b = this.record;
    if (at !== this.lastAt) {
      this.flash.read(at, b);
      return;
    }
    const x = this.last0;
    const y = this.last1;
    b[0] = x & 0xff;
    b[1] = (x >> 8) & 0xff;
    b[2] = x >> 16;
    b[3] = y & 0xff;
    b[4] = (y >> 8) & 0xff;
    b[5] = y >> 16;
    b[6] = this.last2 & 0xff;
    b[7] = this.last2 >> 8;
  }

  private writeHeader(block: number, seq: number): void {
    const b = this.record;
    b[0] = MAGIC_0;
    b[1] = MAGIC_1;
    b[2] = (seq >>> 24) & 0xff;
    b[3] = (seq >>> 16) & 0xff;
    b[4] = (seq >>> 8) & 0xff;
    b[5] = seq & 0xff;
    b[6] = 0xff;
    b[7] = crc8(b, 0, 7);
    this.flash.write(this.offset(block, 0), b);
  }

  /** The block's sequence number, or -1 if its header is not valid. */
  private readHeader(block: number): number {
    const b = this.record;
    this.flash.read(this.offset(block, 0), b);
    if (b[0] !== MAGIC_0 || b[1] !== MAGIC_1 || b[6] !== 0xff || crc8(b, 0, 7) !== b[7]) return -1;
    return ((b[2] << 24) | (b[3] << 16) | (b[4] << 8) | b[5]) >>> 0;
  }

  /**
   * Rebuilds the state from flash: the newest block is the one with the
   * highest sequence number; the chain goes back through blocks whose numbers
   * decrease by one. The tail is after the last slot written in the newest
   * block; the head is the first pending record along the chain.
   */
  private recover(): void {
    let newest = -1;
    let newestSeq = -1;
    for (let block = 0; block < this.blocks; block++) {
      const seq = this.readHeader(block);
      if (seq >= 0 && seq > newestSeq) {
        newest = block;
        newestSeq = seq;
      }
    }
    if (newest < 0) {
      // A fresh (or wholly torn) region: block 0 is erased and headed at the first append.
      this.unformatted = true;
      this.tailSeq = 1;
      this.tailBlock = 0;
      this.tailSlot = 1;
      this.pending = 0;
      return;
    }
    this.tailBlock = newest;
    this.tailSeq = newestSeq;
    this.tailSlot = this.slots;
    while (this.tailSlot > 1) {
      this.flash.read(this.offset(newest, this.tailSlot - 1), this.record);
      if (!erased(this.record)) break;
      this.tailSlot--;
    }
    // Oldest block of the chain.
    let oldest = newest;
    for (let n = 1; n < this.blocks; n++) {
      const block = (newest - n + this.blocks) % this.blocks;
      if (this.readHeader(block) !== newestSeq - n) break;
      oldest = block;
    }
    // The head: the first valid record still pending. Acknowledgements go in
    // order, so every slot from there to the tail is pending (a torn slot
    // among them is skipped when reached).
    this.pending = 0;
    for (let block = oldest; ; block = (block + 1) % this.blocks) {
      const end = block === newest ? this.tailSlot : this.slots;
      for (let slot = 1; slot < end; slot++) {
        this.flash.read(this.offset(block, slot), this.record);
        if (!decodeRecord(this.record, this.seen) || !(this.record[6] & PENDING)) continue;
        this.headBlock = this.sendBlock = block;
        this.headSlot = this.sendSlot = slot;
        this.handed = 0;
        this.pending = this.slotsBetween(block, slot);
        return;
      }
      if (block === newest) return;
    }
  }

  /** Slots from (block, slot) up to the tail. */
  private slotsBetween(block: number, slot: number): number {
    if (block === this.tailBlock) return this.tailSlot - slot;
    const between = (this.tailBlock - block - 1 + this.blocks) % this.blocks;
    return this.slots - slot + between * (this.slots - 1) + this.tailSlot - 1;
  }

  private offset(block: number, slot: number): number {
    return block * this.flash.blockLength + slot * RECORD_BYTES;
  }
}
