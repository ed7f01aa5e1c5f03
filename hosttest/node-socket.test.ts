/**
 * The simulator's socket port (sim/node-ports.ts `nodeSocket`): plain TCP
 * sockets read into one receive buffer of the process, so bytes a reader
 * leaves for later must survive the next read of another socket.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { it } from "node:test";
import { nodeSocket } from "../sim/node-ports";
import type { Socket } from "../src/ports";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Bytes 0..n-1 of a stream unlike any other (`seed`). */
function pattern(seed: number, n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = (seed * 31 + i * 7) & 0xff;
  return bytes;
}

it("bytes a reader leaves are kept while other sockets receive, in order, in full", async () => {
  const CHUNKS = 20;
  const CHUNK = 300;
  const server = net.createServer((peer) => {
    peer.setNoDelay(true);
    peer.once("data", async (hello) => {
      const seed = hello[0];
      const all = pattern(seed, CHUNKS * CHUNK);
      for (let i = 0; i < CHUNKS; i++) {
        peer.write(all.subarray(i * CHUNK, (i + 1) * CHUNK));
        await sleep(5);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  const sockets: Socket[] = [];
  try {
    const clients = [1, 2, 3].map((seed) => {
      const received: number[] = [];
      const scratch = new Uint8Array(7);
      let socket: Socket | undefined;
      let greeted = false;
      const done = new Promise<void>((resolve, reject) => {
        socket = nodeSocket({
          host: "127.0.0.1",
          port,
          nodelay: true,
          // Reads 7 bytes of what is there each time it is told, and leaves the rest for the next time.
          onReadable() {
            const n = socket!.read(scratch);
            for (let i = 0; i < n; i++) received.push(scratch[i]);
            if (received.length >= CHUNKS * CHUNK) resolve();
          },
          onWritable() {
            if (greeted) return;
            greeted = true;
            socket!.write(Uint8Array.of(seed));
          },
          onError: (message) => reject(new Error(message)),
        });
        sockets.push(socket);
      });
      return { seed, received, socket: () => socket!, done };
    });
    // The server sends for about 0.1 s; each notice took 7 bytes and left the rest. Then what is left is read.
    await Promise.race([Promise.all(clients.map((c) => c.done)), sleep(1000)]);
    for (const client of clients) {
      let n: number;
      const rest = new Uint8Array(256);
      while ((n = client.socket().read(rest)) > 0) for (let i = 0; i < n; i++) client.received.push(rest[i]);
      assert.deepEqual(Uint8Array.from(client.received), pattern(client.seed, CHUNKS * CHUNK), `socket ${client.seed}`);
    }
  } finally {
    for (const socket of sockets) socket.close();
    server.close();
  }
});
