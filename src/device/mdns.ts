/**
 * The page announced over mDNS (ESP32): `<id>.local`, and the service
 * `_http._tcp` on the web port, claimed again each time the station gets an
 * address. A name another device holds is claimed with "-2", "-3" … (the SDK's
 * MDNS does that), and the trace says which name it got.
 */
import MDNS from "mdns";
import type { Log } from "../ports";

let current: MDNS | undefined;

/** A host name from a device id: lower case, letters, digits and "-" only. */
export function hostName(id: string): string {
  return (
    id
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 63) || "device"
  );
}

export function announce(id: string, port: number, log: Log): void {
  try {
    (current as unknown as { close?(): void } | undefined)?.close?.();
  } catch {
    // already closed
  }
  current = undefined;
  const name = hostName(id);
  try {
    const mdns: MDNS = new MDNS({ hostName: name }, (message: number, value?: string) => {
      if (message === 1 && value) {
        log(`mdns: the page is at http://${value}.local${port === 80 ? "" : `:${port}`}/`);
        mdns.add({ name: "http", protocol: "tcp", port, txt: {} });
      } else if (message < 0) log(`mdns: cannot claim ${name}.local`);
    });
    current = mdns;
  } catch (error) {
    log(`mdns: not started (${String(error)})`);
  }
}
