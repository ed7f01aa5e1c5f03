/**
 * ports.ts `WiFiPort` over Moddable's `wifi` module (ESP32 station, or the
 * simulator's stand-in). `connect` and `gotIP` pass through; `disconnect`
 * and `lostIP` both mean "no network". RSSI comes from `Net`.
 */
import WiFi from "wifi";
import Net from "net";
import type { WiFiEvent, WiFiPort } from "../ports";

/** `fallbackRssi`: what to report while up when the platform has no RSSI (the simulator). */
export function moddableWiFi(fallbackRssi?: number): WiFiPort {
  let monitor: WiFi | undefined;
  const port: WiFiPort = {
    onEvent: undefined,
    connect(ssid: string, password: string): void {
      WiFi.mode = WiFi.Mode.station;
      const options = password ? { ssid, password } : { ssid };
      if (monitor) {
        WiFi.connect(options);
      } else {
        // The instance delivers the driver's messages and starts the connection.
        monitor = new WiFi(options, (message) => {
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
      return typeof value === "number" ? value : fallbackRssi;
    },
  };
  return port;
}
