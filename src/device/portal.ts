/**
 * The captive portal's DNS server (ESP32, set-up mode): every name a phone
 * asks for resolves to the access point's own address, so its captive-portal
 * check (e.g. connectivitycheck.gstatic.com/generate_204) reaches the
 * device's page, which answers any other path with a redirect to "/".
 */
import DNSServer from "dns/server";
import type { Closable } from "./wifi";

/** The ESP32's soft-AP address unless configured otherwise. */
const DEFAULT_AP_ADDRESS = "192.168.4.1";

export function captivePortal(address: () => string | undefined): Closable {
  return new DNSServer((message: number) => (message === 1 ? (address() ?? DEFAULT_AP_ADDRESS) : ""));
}
