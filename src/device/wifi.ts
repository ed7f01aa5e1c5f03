/**
 * ports.ts `WiFiPort` over Moddable's `wifi` module (ESP32 station, or the
 * simulator's stand-in). `connect` and `gotIP` pass through; `disconnect`
 * and `lostIP` both mean "no network". RSSI and addresses come from `Net`.
 *
 * Set-up mode opens an access point beside the station (`WiFi.accessPoint`
 * with `station: true`, so the station keeps trying), and, on the ESP32, a
 * DNS server that answers every name with the access point's own address
 * (`portal`), so that a phone's captive-portal check opens the device's page.
 */

import Net from "net";
import WiFi from "wifi";
import type { WiFiEvent, WiFiPort } from "../ports";

/** Something to close: the captive portal's DNS server. */
export interface Closable {
  close(): void;
}

export interface WiFiOptions {
  /** What to report while up when the platform has no RSSI (the simulator). */
  fallbackRssi?: number;
  /** Starts the captive portal's DNS server for the access point at `address` (ESP32). */
  portal?: (address: () => string | undefined) => Closable | undefined;
}

const STATION_AND_ACCESS_POINT = 3; // WiFi.Mode.station | WiFi.Mode.accessPoint

export function moddableWiFi(options: WiFiOptions = {}): WiFiPort {
  let monitor: WiFi | undefined;
  let accessPoint = false;
  let dns: Closable | undefined;
  const port: WiFiPort = {
    onEvent: undefined,
    connect(ssid: string, password: string): void {
      // With the set-up access point open, the station joins beside it.
      WiFi.mode = accessPoint ? STATION_AND_ACCESS_POINT : WiFi.Mode.station;
      const credentials = password ? { ssid, password } : { ssid };
      if (monitor) {
        WiFi.connect(credentials);
      } else {
        // The instance delivers the driver's messages and starts the connection.
        monitor = new WiFi(credentials, (message) => {
          let event: WiFiEvent | undefined;
          if (message === WiFi.connected) event = "connected";
          else if (message === WiFi.gotIP) event = "gotIP";
          else if (message === WiFi.disconnected || message === WiFi.lostIP) event = "disconnected";
          if (event) port.onEvent?.(event);
        });
      }
    },
    disconnect(): void {
      WiFi.disconnect();
    },
    rssi(): number | undefined {
      const value = Net.get("RSSI") as number | undefined;
      return typeof value === "number" ? value : options.fallbackRssi;
    },
    address(): string | undefined {
      const value = (Net.get("IP", "station") ?? Net.get("IP")) as string | undefined;
      return typeof value === "string" && value ? value : undefined;
    },
    openAccessPoint(ssid: string, password: string): string | undefined {
      // No password property at all for an open access point (the driver refuses one shorter than 8);
      // `station` (keep the station running beside it) is missing from the SDK's typings.
      const settings: Record<string, unknown> = password ? { ssid, password, station: true } : { ssid, station: true };
      WiFi.accessPoint(settings as never);
      accessPoint = true;
      const address = (): string | undefined => {
        const value = Net.get("IP", "ap") as string | undefined;
        return typeof value === "string" && value ? value : undefined;
      };
      dns?.close();
      dns = options.portal?.(address);
      return address();
    },
    closeAccessPoint(): void {
      dns?.close();
      dns = undefined;
      accessPoint = false;
      WiFi.mode = WiFi.Mode.station;
    },
  };
  return port;
}
