/** Test servers listen on loopback only, on a free port. */
import type net from "node:net";

/** Starts `server` on 127.0.0.1 at a free port; resolves with the port. Later errors are ignored. */
export function listenOnLoopback(server: net.Server): Promise<number> {
  server.on("error", () => {}); // after listen, nothing to report
  return new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}
