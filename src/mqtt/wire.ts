/**
 * One connection's socket: its write budget (what `onWritable` allowed, less
 * what was written since), every packet built in a buffer and handed to the
 * socket in one write, so that it leaves in one TCP segment, and what the
 * socket has read handed to the parser.
 *
 * Packets are built in a transmit buffer every client of the process shares
 * (see Shared), exactly sized through views made once, so that writing a
 * packet allocates nothing.
 */
import type { Clock, Socket } from "../ports";
import { connectLength, publishHeaderLength, writeAck, writeConnect, writePublishHeader } from "./codec";
import type { Keepalive } from "./keepalive";
import type { ConnectOptions, QoS } from "./packet";
import type { Parser } from "./parser";
import { Views } from "./views";

/** Bytes of the transmit and receive buffers every client of the process shares (see Shared). */
export const TX_BYTES = 256;
export const RX_BYTES = 512;

/**
 * Buffers every client of the process shares, made at first use (not while
 * preloading, which would put them in flash). Safe because a packet is built
 * and handed to `socket.write`, which copies it before returning (ports.ts),
 * with no other code running in between; and because received bytes are
 * copied into the connection's parser before any handler runs. A client that
 * receives while another is inside its handler (only a test's synchronous
 * fake can do that) reads into a buffer of its own. So the simulator's
 * thousands of devices pay for one transmit and one receive buffer in all.
 */
export class Shared {
  readonly tx = new Uint8Array(TX_BYTES);
  /** Exact-length views of `tx`: one per packet length in use. */
  readonly txViews = new Views(this.tx, 64);
  readonly rx = new Uint8Array(RX_BYTES);
  receiving = false;
}
let shared: Shared | undefined;

/** The process's shared buffers, made at first use. */
export function sharedBuffers(): Shared {
  return (shared ??= new Shared());
}

/** Told when a write throws: the connection is lost. */
export interface WriteFailure {
  writeFailed(reason: string): void;
}

export class Wire {
  /** The current connection's socket, if any. */
  socket: Socket | undefined;
  /** Bytes the socket still takes without queueing. */
  writable = 0;
  /** PUBLISH packets written (resends included). */
  published = 0;
  readonly shared = sharedBuffers();

  constructor(
    private readonly clock: Clock,
    private readonly keepalive: Keepalive,
    private readonly failure: WriteFailure,
  ) {}

  /** Whether a PUBLISH of this topic, payload length and QoS fits the write budget. */
  fits(topicLength: number, length: number, qos: QoS): boolean {
    return publishHeaderLength(topicLength, length, qos) + length <= this.writable;
  }

  /**
   * Writes a PUBLISH (the first `length` bytes of `payload`) in one socket
   * write: header and payload built together in the shared transmit buffer,
   * exactly sized, or, for the rare packet larger than that, in a buffer of
   * its own.
   */
  publish(
    topic: Uint8Array,
    payload: Uint8Array,
    length: number,
    qos: QoS,
    retain: boolean,
    dup: boolean,
    packetId: number,
  ): void {
    const size = publishHeaderLength(topic.length, length, qos) + length;
    const out = this.packet(size);
    let at = writePublishHeader(out, 0, topic, length, qos, retain, dup, packetId);
    // A loop rather than out.set(payload.subarray(…)), which would allocate a view on XS.
    for (let i = 0; i < length; i++) out[at++] = payload[i];
    this.published++;
    this.send(out, size);
  }

  /**
   * Reads what the socket announced into the shared receive buffer and hands
   * it to the parser, while this socket is still the connection's (a packet's
   * handler may close it).
   */
  read(count: number, parser: Parser): void {
    const socket = this.socket;
    const common = this.shared;
    const own = common.receiving; // nested inside another client's handler: see Shared
    const rx = own ? new Uint8Array(RX_BYTES) : common.rx;
    common.receiving = true;
    try {
      while (count > 0 && socket === this.socket && socket) {
        const n = socket.read(rx);
        if (n <= 0) break;
        count -= n;
        this.keepalive.received(this.clock.now());
        parser.push(rx, 0, n);
      }
    } finally {
      if (!own) common.receiving = false;
    }
  }

  /** CONNECT. */
  connect(options: ConnectOptions): void {
    const size = connectLength(options);
    const out = this.packet(size);
    writeConnect(out, 0, options);
    this.send(out, size);
  }

  /** PUBACK, PUBREC, PUBREL or PUBCOMP. */
  ack(type: number, packetId: number): void {
    const out = this.shared.tx;
    this.send(out, writeAck(out, 0, type, packetId));
  }

  /** Where to build a packet of `size` bytes: the shared transmit buffer, or a new one when it is larger. */
  packet(size: number): Uint8Array {
    return size <= TX_BYTES ? this.shared.tx : new Uint8Array(size);
  }

  /** Sends the first `size` bytes of `out`, built in `packet()`'s buffer, as one write. */
  send(out: Uint8Array, size: number): void {
    const socket = this.socket;
    if (!socket) return;
    const bytes = out === this.shared.tx ? this.shared.txViews.get(0, size) : out;
    this.writable -= bytes.length;
    this.keepalive.sent(this.clock.now());
    try {
      socket.write(bytes);
    } catch (error) {
      this.failure.writeFailed(errorText(error));
    }
  }

  /** Closes the socket, if any; the wire has none afterwards. */
  close(): void {
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      try {
        socket.close();
      } catch {
        // already closed
      }
    }
  }
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
