/** Listening with errors a user can act on: a busy port names the flag that moves it. */
import type net from "node:net";

export function listen(server: net.Server, port: number, host: string, what: string, flag: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        new Error(
          error.code === "EADDRINUSE"
            ? `${what} port ${port} on ${host} is already in use (choose another with ${flag})`
            : error.code === "EADDRNOTAVAIL"
              ? `cannot listen on ${host}:${port} for ${what}: ${host} is not an address of this machine`
              : `cannot listen on ${host}:${port} for ${what}: ${error.message}`,
        ),
      );
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

/** Whether `host` is a loopback address (only this machine can connect). */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

/** How to reach a server listening on `host` from this machine, for URLs. */
export function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}
