/**
 * Handler isolation: the client's events handed to the application's
 * handler, with nothing it throws escaping into the socket callbacks (it
 * goes to `onHandlerError`, and if that throws too, nowhere). Methods rather
 * than closures made per call: on XS a closure costs heap slots. (Inbound
 * calls onMessage itself, with `failed()`: one frame less on a small stack.)
 */
import { decodeUtf8 } from "../utf8";
import type { ClientHandler } from "./options";
import type { QoS } from "./packet";

export class Reporter {
  constructor(readonly handler: ClientHandler) {}

  connected(sessionPresent: boolean): void {
    try {
      this.handler.onConnect?.(sessionPresent);
    } catch (error) {
      this.failed(error);
    }
  }

  disconnected(reason: string): void {
    try {
      this.handler.onDisconnect?.(reason);
    } catch (error) {
      this.failed(error);
    }
  }

  tooLarge(topic: string, size: number, retain: boolean): void {
    try {
      this.handler.onTooLarge?.(topic, size, retain);
    } catch (error) {
      this.failed(error);
    }
  }

  /** A reading was dropped; `topic` as stored (encoded by us, so valid UTF-8). */
  dropped(topic: Uint8Array, qos: QoS): void {
    try {
      this.handler.onDrop?.(decodeUtf8(topic) ?? "", qos);
    } catch (error) {
      this.failed(error);
    }
  }

  delivered(): void {
    try {
      this.handler.onDelivered?.();
    } catch (error) {
      this.failed(error);
    }
  }

  drained(): void {
    try {
      this.handler.onDrain?.();
    } catch (error) {
      this.failed(error);
    }
  }

  subscribeFailed(filter: string): void {
    try {
      this.handler.onSubscribeFailed?.(filter);
    } catch (error) {
      this.failed(error);
    }
  }

  /** Calls `done` (the callback of `end()`), isolated like a handler. */
  ended(done: () => void): void {
    try {
      done();
    } catch (error) {
      this.failed(error);
    }
  }

  /** A handler threw `error`. */
  failed(error: unknown): void {
    try {
      this.handler.onHandlerError?.(error);
    } catch {
      // nothing more to do
    }
  }
}
