/**
 * Node implementations of the core's ports: clock, ECMA-419-shaped TCP/TLS
 * socket, and a JSON-file store.
 */
import net from "node:net";
import tls from "node:tls";
import fs from "node:fs";
import path from "node:path";
import type { Clock, Flash, Socket, SocketFactory, SocketOptions, Store } from "../src/ports";

export const nodeClock: Clock = {
  now: () => performance.now(),
  set: (callback, ms) => setTimeout(callback, ms),
  repeat: (callback, ms) => setInterval(callback, ms),
  clear: (id) => {
    if (id !== undefined) clearTimeout(id as NodeJS.Timeout);
  },
};

/** How many bytes the adapter reports as writable at a time. */
const WRITE_BUDGET = 16384;

/**
 * A stream socket in the ECMA-419 shape over node:net (or node:tls when
 * `options.tls` is set). Received bytes wait in a small list until `read()`.
 */
export const nodeSocket: SocketFactory = (options: SocketOptions): Socket => {
  const chunks: Uint8Array[] = [];
  let available = 0;
  let closed = false;
  let connected = false;
  let writablePending = false;

  const tlsOptions = options.tls;
  const stream: net.Socket = tlsOptions
    ? tls.connect({
        host: options.host,
        port: options.port,
        servername: net.isIP(options.host) ? undefined : (tlsOptions.serverName ?? options.host),
        ca: tlsOptions.ca ? fs.readFileSync(tlsOptions.ca) : undefined,
      })
    : net.connect({ host: options.host, port: options.port });
  if (options.nodelay) stream.setNoDelay(true);

  const fail = (message: string, lasting = false) => {
    if (closed) return;
    closed = true;
    stream.destroy();
    options.onError(message, lasting);
  };
  const signalWritable = () => {
    if (writablePending || closed) return;
    writablePending = true;
    setImmediate(() => {
      writablePending = false;
      if (!closed) options.onWritable(Math.max(0, WRITE_BUDGET - stream.writableLength));
    });
  };

  stream.once(tlsOptions ? "secureConnect" : "connect", () => {
    connected = true;
    signalWritable();
  });
  stream.on("data", (data: Buffer) => {
    if (closed) return;
    chunks.push(data);
    available += data.length;
    options.onReadable(available);
  });
  stream.on("drain", signalWritable);
  stream.on("error", (error: NodeJS.ErrnoException) => fail(describe(error, options), UNTRUSTED.indexOf(error.code ?? "") >= 0));
  stream.on("end", () => fail(connected ? "connection closed by the broker" : "connection refused"));
  stream.on("close", () => fail("connection closed"));

  return {
    read(into: Uint8Array): number {
      let n = 0;
      while (n < into.length && chunks.length) {
        const chunk = chunks[0];
        const take = Math.min(chunk.length, into.length - n);
        into.set(chunk.subarray(0, take), n);
        n += take;
        if (take === chunk.length) chunks.shift();
        else chunks[0] = chunk.subarray(take);
      }
      available -= n;
      return n;
    },
    write(bytes: Uint8Array): void {
      if (closed) return;
      stream.write(Buffer.from(bytes), () => signalWritable());
    },
    close(): void {
      if (closed) return;
      closed = true;
      stream.end();
      stream.destroySoon?.();
    },
  };
};

/** Certificate errors: retrying soon cannot cure them. */
const UNTRUSTED = [
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
];

function describe(error: NodeJS.ErrnoException, options: SocketOptions): string {
  const where = `${options.host}:${options.port}`;
  switch (error.code) {
    case "ECONNREFUSED":
      return `connection refused by ${where}`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `cannot resolve host ${options.host}`;
    case "ETIMEDOUT":
      return `connection to ${where} timed out`;
    case "ECONNRESET":
      return `connection reset by ${where}`;
    default:
      if (UNTRUSTED.indexOf(error.code ?? "") < 0) return error.message;
      return `TLS: the certificate of ${where} is not trusted (${error.code}: ${error.message}); check the ca setting`;
  }
}

/**
 * A flash region in a file (the simulator's stand-in for a flash partition):
 * `byteLength` bytes in blocks of `blockLength`; a new or resized file starts
 * erased (0xFF). Writes go straight to the file, so a killed process keeps
 * everything written before it died.
 */
export function fileFlash(file: string, byteLength: number, blockLength: number): Flash {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let size = -1;
  try {
    size = fs.statSync(file).size;
  } catch {
    size = -1;
  }
  if (size !== byteLength) fs.writeFileSync(file, new Uint8Array(byteLength).fill(0xff));
  const fd = fs.openSync(file, "r+");
  const erased = new Uint8Array(blockLength).fill(0xff);
  return {
    byteLength,
    blockLength,
    read: (offset, into) => void fs.readSync(fd, into, 0, into.length, offset),
    write: (offset, bytes) => void fs.writeSync(fd, bytes, 0, bytes.length, offset),
    eraseBlock: (block) => void fs.writeSync(fd, erased, 0, blockLength, block * blockLength),
  };
}

/**
 * What a device keeps in flash (settings, LED state), in a JSON file. Each
 * change is written to a temporary file and renamed over the old one, so a
 * killed process leaves the old or the new contents, never a torn file.
 */
export function fileStore(file: string | undefined): Store {
  let values: Record<string, string> = {};
  if (file) {
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) values = parsed as Record<string, string>;
    } catch {
      values = {};
    }
  }
  const save = () => {
    if (!file) return;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify(values, null, 2) + "\n");
    fs.renameSync(temporary, file);
  };
  return {
    get: (key) => (Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : undefined),
    set: (key, value) => {
      if (values[key] === value) return;
      values[key] = value;
      save();
    },
    delete: (key) => {
      if (!Object.prototype.hasOwnProperty.call(values, key)) return;
      delete values[key];
      save();
    },
  };
}
