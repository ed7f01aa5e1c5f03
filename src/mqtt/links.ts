/**
 * The callbacks of the socket, the parser and the write path into the
 * client: prototype methods of small objects rather than closures made per
 * client and per connection, since the simulator runs thousands of clients
 * and on XS a closure costs heap slots of its own. They reach the client's
 * internal methods (marked @internal).
 */
import type { SocketOptions } from "../ports";
import type { MqttClient } from "./client";
import type { ClientOptions } from "./options";
import type { Packet } from "./packet";
import type { Parser, ParserHandler } from "./parser";
import type { Wire, WriteFailure } from "./wire";

/** What the parser and the write path report, handed to the client. */
export class Events implements ParserHandler, WriteFailure {
  constructor(private readonly client: MqttClient) {}
  onPacket(packet: Packet): void {
    this.client.receive(packet);
  }
  onError(fault: string): void {
    this.client.protocolError(fault);
  }
  /** A write threw: the connection is lost. */
  writeFailed(reason: string): void {
    this.client.fail(reason);
  }
}

/** The options of one connection's socket, reporting to the client. */
export class Link implements SocketOptions {
  readonly host: string;
  readonly port: number;
  readonly nodelay = true;
  readonly tls: SocketOptions["tls"];
  constructor(
    private readonly client: MqttClient,
    options: ClientOptions,
    private readonly wire: Wire,
    private readonly parser: Parser,
  ) {
    this.host = options.host;
    this.port = options.port;
    this.tls = options.tls;
  }
  onReadable(count: number): void {
    this.wire.read(count, this.parser);
  }
  onWritable(count: number): void {
    this.client.writableNow(count);
  }
  onError(message: string, lasting?: boolean): void {
    this.client.fail(message || "connection closed", lasting);
  }
}
