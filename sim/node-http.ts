/**
 * ports.ts `HttpServerFactory` over node:http, for the virtual devices'
 * pages: the same bounds as on the device (connections, head size, idle
 * time), request bodies handed to the core as they arrive, one request per
 * connection.
 */
import http from "node:http";
import type { HttpReply, HttpServerFactory } from "../src/ports";

/** Serves on `host` (loopback by default: the simulator's devices are reached from this machine). */
export function nodeHttpServer(host = "127.0.0.1"): HttpServerFactory {
  return (options) => {
    const server = http.createServer({
      maxHeaderSize: options.maxHead,
      headersTimeout: options.idleTimeout,
      requestTimeout: 0,
      keepAliveTimeout: 5000,
    });
    server.maxConnections = options.maxConnections;
    // Inactivity of a connection: nothing received or sent for this long.
    server.timeout = options.idleTimeout;
    server.on("request", (req, res) => {
      const exchange = options.onRequest({
        method: req.method ?? "GET",
        target: req.url ?? "/",
        headerCount: req.rawHeaders.length / 2,
        header: (name) => {
          const value = req.headers[name];
          return Array.isArray(value) ? value.join(", ") : value;
        },
      });
      let finished = false;
      const send = (reply: HttpReply) => {
        if (finished || res.destroyed) return;
        finished = true;
        const body =
          typeof reply.body === "string"
            ? Buffer.from(reply.body, "utf8")
            : Buffer.from(reply.body.buffer, reply.body.byteOffset, reply.body.byteLength);
        // One request per connection, as the device's server does: a browser's idle connections never hold the few slots.
        res.writeHead(reply.status, { ...reply.headers, "content-length": String(body.length), connection: "close" });
        res.end(body);
      };
      req.on("data", (chunk: Buffer) => {
        if (finished) return;
        if (!exchange.body(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
          finished = true;
          exchange.abort();
          req.socket.destroy();
        }
      });
      req.on("end", () => {
        if (!finished) exchange.end(send);
      });
      res.on("close", () => {
        if (!finished) {
          finished = true;
          exchange.abort();
        }
      });
    });
    server.on("clientError", (error: NodeJS.ErrnoException, socket) => {
      // A head over maxHead, a malformed request, a timeout: answer when possible, then close.
      if (socket.writable && !socket.writableEnded) {
        const status =
          error.code === "HPE_HEADER_OVERFLOW"
            ? "431 Request Header Fields Too Large"
            : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
              ? "408 Request Timeout"
              : "400 Bad Request";
        socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      }
      socket.destroy();
    });
    server.on("error", (error: NodeJS.ErrnoException) => {
      options.onError(
        error.code === "EADDRINUSE"
          ? `port ${options.port} on ${host} is already in use`
          : `cannot serve on ${host}:${options.port} (${error.message})`,
      );
    });
    server.listen(options.port, host);
    return {
      close() {
        server.close();
        server.closeAllConnections();
      },
    };
  };
}
