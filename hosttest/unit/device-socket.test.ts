/**
 * The device's socket adapter (src/device/stream-socket.ts) over fake SDK
 * classes shaped like the Moddable SDK's: an ECMA-419 TCP socket that throws
 * "would block" past its room, a TLS socket that opens its TCP socket with
 * `new options.TCP.io(…)` and handshakes inside its callbacks, Net.resolve,
 * Timer and Resource. DNS, the TLS choice, the write margins and the errors.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type SocketSdk, type Stream, type StreamCallbacks, StreamSocket } from "../../src/device/stream-socket";
import type { SocketOptions } from "../../src/ports";
import { FakeClock } from "./fakes";

type TcpOptions = StreamCallbacks & { address: string; port: number; nodelay?: boolean };

/** An ECMA-419 TCP socket: `write` returns the room left and throws past it; `read` fills the view. */
class FakeTcp implements Stream {
  room = 1000;
  written: number[][] = [];
  inbound: number[] = [];
  closed = false;
  constructor(readonly options: TcpOptions) {}
  write(bytes: Uint8Array): number {
    if (bytes.length > this.room) throw new Error("would block");
    this.room -= bytes.length;
    this.written.push([...bytes]);
    return this.room;
  }
  read(view: Uint8Array): undefined {
    if (view.length > this.inbound.length) throw new Error("read beyond what was announced");
    view.set(this.inbound.splice(0, view.length));
    return undefined;
  }
  close(): void {
    this.closed = true;
  }
}

type TlsOptions = ConstructorParameters<SocketSdk["TLSSocket"]>[0];

/** Moddable's TLS socket, reduced: the handshake ends at the first room, records are kept as written. */
class FakeTls implements Stream {
  readonly tcp: FakeTcp;
  ready = false;
  /** Thrown from inside the next TCP callback, as a failed certificate check is. */
  failure: Error | undefined;
  plain: number[] = [];
  records: number[][] = [];
  constructor(readonly options: TlsOptions) {
    const io = options.TCP.io as new (o: TcpOptions) => FakeTcp;
    this.tcp = new io({
      ...options,
      onReadable: () => this.step(() => options.onReadable(this.plain.length)),
      onWritable: (count) => this.step(() => options.onWritable(count - 96)),
      onError: () => options.onError(),
    });
  }
  private step(then: () => void): void {
    if (this.failure) throw this.failure;
    this.ready = true;
    then();
  }
  write(bytes: Uint8Array): number {
    this.records.push([...bytes]);
    this.tcp.room -= bytes.length + 37;
    return this.tcp.room - 32;
  }
  read(view: Uint8Array): number {
    const n = Math.min(view.length, this.plain.length);
    view.set(this.plain.splice(0, n));
    return n;
  }
  close(): void {
    this.tcp.close();
  }
}

function setUp(options: Partial<SocketOptions> = {}, dns: Record<string, string | Error> = {}) {
  const clock = new FakeClock();
  const made: { tcp: FakeTcp[]; tls: FakeTls[]; resolved: string[] } = { tcp: [], tls: [], resolved: [] };
  const pending: Array<() => void> = [];
  const sdk: SocketSdk = {
    // biome-ignore lint/complexity/useArrowFunction: called with `new`, as the SDK's class is
    TCP: function (o: TcpOptions) {
      const tcp = new FakeTcp(o);
      made.tcp.push(tcp);
      return tcp;
    } as unknown as SocketSdk["TCP"],
    // biome-ignore lint/complexity/useArrowFunction: called with `new`, as the SDK's class is
    TLSSocket: function (o: TlsOptions) {
      const tls = new FakeTls(o);
      made.tls.push(tls);
      return tls;
    } as unknown as SocketSdk["TLSSocket"],
    resolve(host, callback) {
      const answer = dns[host];
      if (answer instanceof Error) throw answer;
      made.resolved.push(host);
      pending.push(() => callback(host, answer));
    },
    setTimer: (callback, ms) => clock.set(callback, ms),
    clearTimer: (id) => clock.clear(id as never),
    resource: (name) => `resource:${name}`,
  };
  const events: string[] = [];
  const socket = new StreamSocket(
    {
      host: "192.0.2.7",
      port: 1883,
      nodelay: true,
      onReadable: (n) => events.push(`readable ${n}`),
      onWritable: (n) => events.push(`writable ${n}`),
      onError: (message, lasting) => events.push(`error ${message}${lasting ? " (lasting)" : ""}`),
      ...options,
    },
    sdk,
  );
  /** Answers the DNS queries asked so far. */
  const answerDns = () => {
    for (const f of pending.splice(0)) f();
  };
  return { socket, made, events, clock, answerDns };
}

describe("device socket: DNS", () => {
  it("a dotted address opens TCP at once, with the port and nodelay, and asks no DNS", () => {
    const { made } = setUp();
    assert.equal(made.resolved.length, 0);
    assert.deepEqual(
      [made.tcp[0].options.address, made.tcp[0].options.port, made.tcp[0].options.nodelay],
      ["192.0.2.7", 1883, true],
    );
  });

  it("a host name is resolved first, and the socket opens at the address", () => {
    const t = setUp({ host: "broker.example" }, { "broker.example": "198.51.100.4" });
    assert.deepEqual([t.made.resolved, t.made.tcp.length], [["broker.example"], 0]);
    t.answerDns();
    assert.equal(t.made.tcp[0].options.address, "198.51.100.4");
  });

  it("a name that does not resolve, or a resolver that throws, is reported through onError, never thrown", () => {
    const t = setUp({ host: "nowhere.example" });
    t.answerDns();
    assert.deepEqual(t.events, ["error cannot resolve host nowhere.example"]);
    const u = setUp({ host: "busy.example" }, { "busy.example": new Error("DNS queue full") });
    assert.deepEqual(u.events, [], "not from inside the constructor");
    u.clock.advance(0);
    assert.deepEqual(u.events, ["error cannot resolve host busy.example (Error: DNS queue full)"]);
  });

  it("closed while resolving: the answer opens nothing", () => {
    const t = setUp({ host: "broker.example" }, { "broker.example": "198.51.100.4" });
    t.socket.close();
    t.answerDns();
    assert.deepEqual([t.made.tcp.length, t.events], [0, []]);
  });
});

describe("device socket: TCP", () => {
  it("connects at the first room, writes what fits at once and queues the rest in order, never past the room", () => {
    const { socket, made, events } = setUp();
    const tcp = made.tcp[0];
    tcp.room = 10;
    tcp.options.onWritable(10);
    assert.deepEqual(events, ["writable 10"]);
    socket.write(Uint8Array.of(1, 2, 3, 4));
    socket.write(Uint8Array.of(5, 6, 7, 8, 9, 10, 11, 12));
    assert.deepEqual(
      tcp.written,
      [
        [1, 2, 3, 4],
        [5, 6, 7, 8, 9, 10],
      ],
      "split at the room",
    );
    tcp.room = 100;
    tcp.options.onWritable(100);
    assert.deepEqual(tcp.written.at(-1), [11, 12]);
    assert.deepEqual(events.at(-1), "writable 98", "the room after the queue");
  });

  it("the caller's buffer may be reused at once: queued bytes are copies", () => {
    const { socket, made } = setUp();
    const tcp = made.tcp[0];
    tcp.room = 0;
    tcp.options.onWritable(0);
    const buffer = Uint8Array.of(1, 2);
    socket.write(buffer);
    buffer.fill(9);
    tcp.room = 10;
    tcp.options.onWritable(10);
    assert.deepEqual(tcp.written, [[1, 2]]);
  });

  it("reads never ask for more than was announced", () => {
    const { socket, made, events } = setUp();
    const tcp = made.tcp[0];
    tcp.inbound.push(1, 2, 3);
    tcp.options.onReadable(3);
    assert.deepEqual(events, ["readable 3"]);
    const into = new Uint8Array(8);
    assert.equal(socket.read(into), 3);
    assert.deepEqual([...into.subarray(0, 3)], [1, 2, 3]);
    assert.equal(socket.read(into), 0);
  });

  it("an error before the first room is a failed connection; after it, a closed one; then nothing more", () => {
    const a = setUp();
    a.made.tcp[0].options.onError();
    assert.deepEqual(a.events, ["error cannot connect to 192.0.2.7:1883"]);
    const b = setUp();
    b.made.tcp[0].options.onWritable(100);
    b.made.tcp[0].options.onError();
    b.made.tcp[0].options.onReadable(5);
    assert.deepEqual(b.events, ["writable 100", "error connection closed"]);
    assert.ok(b.made.tcp[0].closed);
  });

  it("a write the socket refuses closes the connection with the reason", () => {
    const { socket, made, events } = setUp();
    made.tcp[0].options.onWritable(100); // reports more room than it has
    made.tcp[0].room = 1;
    socket.write(Uint8Array.of(1, 2, 3));
    assert.deepEqual(events, ["writable 100", "error write failed (Error: would block)"]);
  });
});

describe("device socket: TLS", () => {
  it("mqtts:// opens the TLS socket with SNI, the CA resource and nodelay on its TCP socket", () => {
    const { made } = setUp({ tls: { ca: "ca.der" }, host: "192.0.2.9" });
    const tls = made.tls[0];
    assert.deepEqual(
      [tls.options.host, tls.options.secure],
      ["192.0.2.9", { serverName: "192.0.2.9", certificate: "resource:ca.der" }],
    );
    assert.equal(made.tcp[0].options.nodelay, true);
    const named = setUp({ tls: { serverName: "broker.example" } }).made.tls[0];
    assert.deepEqual(named.options.secure, { serverName: "broker.example" });
  });

  it("writes leave from a fresh stack as one record, keeping the 96-byte margin of each record", () => {
    const { socket, made, events, clock } = setUp({ tls: {} });
    const tls = made.tls[0];
    tls.tcp.room = 1000;
    tls.tcp.options.onWritable(1000);
    assert.deepEqual(events, ["writable 904"]);
    socket.write(Uint8Array.of(1, 2, 3));
    socket.write(Uint8Array.of(4, 5));
    assert.equal(tls.records.length, 0, "not from the caller's stack");
    clock.advance(0);
    assert.deepEqual(tls.records, [[1, 2, 3, 4, 5]]);
    // 1000 - (5 + 37) = 958 left in TCP; the TLS socket reports 926; the adapter counts 862.
    socket.write(new Uint8Array(900));
    clock.advance(0);
    assert.deepEqual(
      tls.records.slice(1).map((r) => r.length),
      [862],
      "the rest waits for room",
    );
    tls.tcp.room = 20000;
    tls.tcp.options.onWritable(20000);
    assert.deepEqual(
      tls.records.slice(2).map((r) => r.length),
      [38],
    );
  });

  it("no record is larger than 16 KiB", () => {
    const { socket, made, clock } = setUp({ tls: {} });
    const tls = made.tls[0];
    tls.tcp.room = 100000;
    tls.tcp.options.onWritable(100000);
    socket.write(new Uint8Array(20000));
    clock.advance(0);
    assert.deepEqual(
      tls.records.map((r) => r.length),
      [16384, 3616],
    );
  });

  it("decrypted data reaches the reader from a fresh stack, and is read by the count the TLS socket copies", () => {
    const { socket, made, events, clock } = setUp({ tls: {} });
    const tls = made.tls[0];
    tls.plain.push(7, 8, 9);
    tls.tcp.options.onReadable(40);
    assert.deepEqual(events, []);
    clock.advance(0);
    assert.deepEqual(events, ["readable 3"]);
    const into = new Uint8Array(2);
    assert.equal(socket.read(into), 2);
    assert.equal(socket.read(into), 1);
    assert.equal(socket.read(into), 0);
  });

  it("a failed handshake thrown inside a TCP callback is caught, closes the socket and waits the longest", () => {
    const { made, events } = setUp({ tls: {} });
    made.tls[0].failure = new Error("certificate not trusted");
    made.tls[0].tcp.options.onWritable(1000);
    assert.deepEqual(events, [
      "error TLS handshake with 192.0.2.7:1883 failed (Error: certificate not trusted) (lasting)",
    ]);
    assert.ok(made.tcp[0].closed);
  });

  it("a TLS error after the handshake is a closed connection, not a lasting refusal", () => {
    const { made, events } = setUp({ tls: {} });
    made.tls[0].tcp.options.onWritable(1000);
    made.tls[0].failure = new Error("bad record MAC");
    made.tls[0].tcp.options.onReadable(30);
    assert.deepEqual(events, ["writable 904", "error connection closed (Error: bad record MAC)"]);
  });
});
