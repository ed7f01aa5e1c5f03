/**
 * A TCP fault-injection proxy for chaos tests: the device connects to
 * 127.0.0.1:port, the proxy connects on to the real broker, and the current
 * mode decides what happens to the bytes in between (pass, stall, blackhole,
 * bit flips, truncation). The mode applies to every connection, old and new.
 *
 * Choices made here:
 * - The upstream is opened as soon as a client connects, whatever the mode;
 *   in `stall` its bytes are then held (the broker sees a silent client).
 * - Held bytes are released, in order, when the mode leaves `stall`, and go
 *   through the new mode (so `pass` delivers them as they were).
 * - A client closing always closes its upstream (bytes still held for the
 *   broker are dropped). The broker closing is passed on to the client only
 *   when the mode forwards broker bytes: it waits in `stall`, and is never
 *   passed on in `blackhole` (until the mode changes) or after a truncation.
 *   Once the broker has closed, bytes still held for it are lost.
 * - `truncate` silences a connection for good, even after a return to `pass`.
 *   A one-byte chunk cannot be cut, so it is forwarded and the next one is cut.
 */
import net from "node:net";
import { listenOnLoopback } from "./listen";

export type ProxyMode = "pass" | "stall" | "blackhole" | "flip" | "truncate";

export interface FaultProxy {
  /** The proxy listens on 127.0.0.1:port. */
  port: number;
  /** Client connections accepted so far. */
  connections: number;
  /** Client connections open now. */
  open: number;
  setMode(mode: ProxyMode): void;
  /** Destroys every open connection pair (both sides), like a reset. */
  cutAll(): void;
  /** Stops listening, destroys everything. */
  close(): Promise<void>;
}

const HOLD_LIMIT = 1024 * 1024; // bytes held per direction in `stall`; the rest is dropped

/** One direction of a pair: bytes from `from`, to be written to `to`. */
interface Flow {
  from: net.Socket;
  to: net.Socket;
  held: Buffer[];
  heldBytes: number;
  ended: boolean; // `from` has sent FIN
}

interface Pair {
  id: number;
  up: Flow; // client -> broker
  down: Flow; // broker -> client
  silent: boolean; // after a truncation: nothing more is forwarded
}

/** Sees every chunk as it arrives, before any fault: `up` is client → broker. */
export type Tap = (connection: number, direction: "up" | "down", chunk: Buffer) => void;

export async function startProxy(
  target: { host: string; port: number },
  options: { flipEvery?: number; random?: () => number; tap?: Tap } = {},
): Promise<FaultProxy> {
  const flipEvery = Math.max(1, options.flipEvery ?? 50);
  const random = options.random ?? Math.random;
  const pairs = new Set<Pair>();
  let mode: ProxyMode = "pass";

  const destroyPair = (pair: Pair) => {
    for (const socket of [pair.up.from, pair.down.from]) {
      if (socket.destroyed) continue;
      try {
        if (socket.connecting) socket.destroy();
        else socket.resetAndDestroy(); // RST, like a real reset
      } catch {
        socket.destroy();
      }
    }
    pairs.delete(pair);
  };

  /** Flips one random bit in roughly every `flipEvery`-th byte (each byte with probability 1/flipEvery). */
  const flip = (chunk: Buffer): Buffer => {
    const out = Buffer.from(chunk);
    for (let i = 0; i < out.length; i++) {
      if (random() < 1 / flipEvery) out[i] ^= 1 << Math.floor(random() * 8);
    }
    return out;
  };

  /** Sends one chunk on according to the current mode (anything but `stall`). */
  const forward = (pair: Pair, flow: Flow, chunk: Buffer) => {
    if (pair.silent || mode === "blackhole" || flow.to.destroyed || flow.to.writableEnded) return;
    if (flow === pair.down && mode === "flip") chunk = flip(chunk);
    if (flow === pair.down && mode === "truncate" && chunk.length > 1) {
      chunk = chunk.subarray(0, chunk.length >> 1); // at least 1 byte, less than all
      pair.silent = true;
    }
    flow.to.write(chunk);
  };

  /** Passes a FIN on once it may be: see the choices at the top. */
  const settleEnd = (pair: Pair, flow: Flow) => {
    if (!flow.ended || flow.to.destroyed || flow.to.writableEnded) return;
    if (flow === pair.down && (mode === "stall" || mode === "blackhole" || pair.silent || flow.held.length)) return;
    flow.to.end(() => flow.to.destroy());
  };

  const onData = (pair: Pair, flow: Flow, chunk: Buffer) => {
    if (mode !== "stall") return forward(pair, flow, chunk);
    const room = HOLD_LIMIT - flow.heldBytes;
    if (room <= 0) return;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    flow.held.push(kept);
    flow.heldBytes += kept.length;
  };

  const release = (pair: Pair, flow: Flow) => {
    const held = flow.held;
    flow.held = [];
    flow.heldBytes = 0;
    for (const chunk of held) forward(pair, flow, chunk);
    settleEnd(pair, flow);
  };

  const server = net.createServer((client) => {
    proxy.connections++;
    proxy.open++;
    const upstream = net.connect({ host: target.host, port: target.port });
    const pair: Pair = {
      id: proxy.connections,
      up: { from: client, to: upstream, held: [], heldBytes: 0, ended: false },
      down: { from: upstream, to: client, held: [], heldBytes: 0, ended: false },
      silent: false,
    };
    pairs.add(pair);
    for (const flow of [pair.up, pair.down]) {
      flow.from.setNoDelay(true);
      flow.from.on("error", () => destroyPair(pair));
      flow.from.on("data", (chunk: Buffer) => {
        options.tap?.(pair.id, flow === pair.up ? "up" : "down", chunk);
        onData(pair, flow, chunk);
      });
    }
    client.on("end", () => {
      pair.up.ended = true;
      pair.up.held = [];
      pair.up.heldBytes = 0;
      settleEnd(pair, pair.up);
    });
    upstream.on("end", () => {
      pair.down.ended = true;
      settleEnd(pair, pair.down);
    });
    client.on("close", () => {
      proxy.open--;
      if (upstream.destroyed) pairs.delete(pair);
    });
    upstream.on("close", () => {
      if (client.destroyed) pairs.delete(pair);
    });
  });
  const port = await listenOnLoopback(server);

  const proxy: FaultProxy = {
    port,
    connections: 0,
    open: 0,
    setMode(next) {
      mode = next;
      if (mode === "stall") return;
      for (const pair of [...pairs]) {
        release(pair, pair.up);
        release(pair, pair.down);
      }
    },
    cutAll() {
      for (const pair of [...pairs]) destroyPair(pair);
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        proxy.cutAll();
      });
    },
  };
  return proxy;
}
