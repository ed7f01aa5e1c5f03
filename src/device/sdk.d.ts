/**
 * What @moddable/typings 5.6 (npm) lags behind the Moddable SDK 8.2.3 this
 * firmware is built with: only the modules and members src/device/ uses,
 * written from the SDK's sources (modules/, examples/io/). npm test
 * type-checks src/device/ with these and the npm package
 * (src/device/tsconfig.json); `npm run check:device` checks it again with
 * the SDK's own typings/ when the SDK is installed.
 *
 * Not in 5.6 at all: crypt, embedded:storage/flash, embedded:update,
 * embedded:network/http/server. Older in 5.6 (so declared here in full
 * instead of the package's file): net (`Net.get` takes the interface,
 * "station" or "ap", since SDK 5.x) and embedded:network/http/client
 * (`headersMask`, `dns` and `socket` optional, header names as `string`).
 */

declare module "crypt" {
  /** Native message digest (modules/crypt/digest). */
  export class Digest {
    constructor(type: "MD5" | "SHA1" | "SHA224" | "SHA256" | "SHA384" | "SHA512");
    write(message: string | ArrayBuffer): void;
    close(): ArrayBuffer;
    reset(): void;
  }
}

declare module "embedded:storage/flash" {
  export interface FlashStatus {
    size: number;
    blockLength: number;
    blocks: number;
    writeAlign: number;
    eraseValue: number;
  }
  /** One flash partition (modules/io/flash). */
  export interface Flash {
    read(byteLength: number, byteOffset: number): ArrayBuffer;
    read(buffer: ArrayBuffer | ArrayBufferView, byteOffset: number): number;
    write(buffer: ArrayBuffer | ArrayBufferView, byteOffset: number): void;
    eraseBlock(start: number, end?: number): void;
    status(): FlashStatus;
    close(): void;
  }
  const FlashStorage: {
    open(options: { path: string; mode?: "r" | "r+" }): Flash;
  };
  export default FlashStorage;
}

declare module "embedded:update" {
  import type { Flash } from "embedded:storage/flash";
  /** Writes a firmware image into a spare app partition (modules/io/update). */
  export interface Updater {
    write(bytes: ArrayBuffer | ArrayBufferView, byteOffset?: number): void;
    complete(): void;
    close(): void;
  }
  const Update: {
    open(options: { partition: Flash; mode?: "a" | "w"; byteLength?: number }): Updater;
  };
  export default Update;
}

declare module "embedded:network/http/server" {
  import type Listener from "embedded:io/socket/listener";
  import type TCP from "embedded:io/socket/tcp";

  export interface HTTPRequest {
    method: string;
    path: string;
    headers: Map<string, string>;
  }
  export interface HTTPResponse {
    status: number;
    headers: Map<string, string | number>;
  }
  export interface HTTPConnectionHandlers {
    onRequest?(this: HTTPConnection, request: HTTPRequest): void;
    onReadable?(this: HTTPConnection, count: number): void;
    onResponse?(this: HTTPConnection, response: HTTPResponse): void;
    onWritable?(this: HTTPConnection, count: number): void;
    onDone?(this: HTTPConnection): void;
    onError?(this: HTTPConnection): void;
  }
  /** One connection of the server (examples/io/listener/httpserver). */
  export interface HTTPConnection {
    accept(handlers: HTTPConnectionHandlers): void;
    respond(response: HTTPResponse): void;
    read(count?: number): ArrayBuffer | undefined;
    write(bytes?: ArrayBuffer | ArrayBufferView): number;
    detach(): TCP;
    close(): void;
  }
  export default class HTTPServer {
    constructor(options: {
      io: typeof Listener;
      port?: number;
      onConnect(this: HTTPServer, connection: HTTPConnection): void;
    });
    close(): void;
    readonly port: number;
  }
}

declare module "embedded:network/http/client" {
  export interface RequestOptions {
    method?: string;
    path?: string;
    headers?: Map<string, string | string[]>;
    /** Header names (lower case) to keep from the response; the others are dropped as they arrive. */
    headersMask?: string[];
    onHeaders?: (this: HTTPRequest, status: number, headers: Map<string, string>, statusText: string) => void;
    onReadable?: (this: HTTPRequest, count: number) => void;
    onWritable?: (this: HTTPRequest, count: number) => void;
    onDone?: (this: HTTPRequest, error: Error | null) => void;
  }
  export interface HTTPRequest {
    read(byteLength?: number): ArrayBuffer | undefined;
    read(buffer: ArrayBuffer | ArrayBufferView): void;
    write(value: ArrayBuffer | ArrayBufferView | undefined): void;
  }
  /** The ECMA-419 HTTP client (examples/io/tcp/httpclient). */
  export default class HTTPClient {
    constructor(options: {
      host: string;
      port?: number;
      socket?: unknown;
      dns?: unknown;
      onError?: (error: unknown) => void;
    });
    request(options: RequestOptions): HTTPRequest;
    close(): void;
  }
}

declare module "net" {
  type Interface = "station" | "ap" | "ethernet";
  /** Network status and DNS (modules/network/net). */
  const Net: {
    get(what: "IP", interfaceName?: Interface): string | undefined;
    get(what: "MAC", interfaceName?: Interface): string | undefined;
    get(what: "SSID" | "BSSID"): string | undefined;
    get(what: "RSSI"): number | undefined;
    get(what: "DNS"): string[];
    resolve(name: string, callback: (name: string, address?: string) => void): void;
  };
  export default Net;
}
