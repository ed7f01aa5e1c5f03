/**
 * ports.ts `SocketFactory` on the device: ./stream-socket.ts over the SDK's
 * ECMA-419 TCP socket (`embedded:io/socket/tcp`), Moddable's TLS socket
 * (`embedded:io/socket/tcp/tls`), `Net.resolve`, `Timer` and `Resource`.
 */

import Resource from "Resource";
import TCP from "embedded:io/socket/tcp";
import TLSSocket from "embedded:io/socket/tcp/tls";
import Net from "net";
import Timer from "timer";
import type { SocketFactory } from "../ports";
import { type SocketSdk, StreamSocket } from "./stream-socket";

const sdk: SocketSdk = {
  TCP,
  // Its typing has read(count | ArrayBuffer); the socket reads into any view (tlssocket.js: ArrayBuffer.isView).
  TLSSocket: TLSSocket as unknown as SocketSdk["TLSSocket"],
  resolve: (host, callback) => Net.resolve(host, callback),
  setTimer: (callback, ms) => Timer.set(callback, ms),
  clearTimer: (id) => Timer.clear(id as Timer),
  resource: (name) => new Resource(name),
};

export const deviceSocket: SocketFactory = (options) => new StreamSocket(options, sdk);
