/**
 * The simulator's stand-ins for the hardware the Moddable simulator lacks:
 * an LED that traces its state, and a DHT that answers a capture with the
 * pulse train a real sensor would send (slow drift plus a little noise), so
 * the same decoder runs as on the ESP32.
 */
import type { DigitalOut, Log } from "../ports";
import type { PulseCapture } from "../dht/sensor";
import { encodeBytes, encodeFrame } from "../dht/encode";
import { EDGE_TIMEOUT_US, FRAME_BYTES, pulse, type DhtModel } from "../dht/frame";

export function virtualLed(pin: number, log: Log): DigitalOut {
  let state: number | undefined;
  return {
    write(value: 0 | 1): void {
      if (value !== state) log(`led: GPIO ${pin} ${value ? "on" : "off"}`);
      state = value;
    },
  };
}

export function virtualDht(model: DhtModel, now: () => number): PulseCapture {
  const bytes = new Uint8Array(FRAME_BYTES);
  const phase = Math.random() * 2 * Math.PI;
  const jitter = (): number => Math.round((Math.random() * 2 - 1) * 3);
  return {
    capture(startLowUs: number, out: Uint16Array): number {
      if (startLowUs < (model === "dht11" ? 18000 : 800)) return 0;
      const a = phase + (now() / 1200000) * 2 * Math.PI;
      const temp = 24 + 1.8 * Math.sin(a) + (Math.random() - 0.5) * 0.2;
      const hum = 50 - 8 * Math.sin(a + 0.5) + (Math.random() - 0.5);
      encodeBytes(model, temp, hum, bytes, true);
      let n = encodeFrame(bytes, out, jitter);
      if (n < out.length) out[n++] = pulse(1, EDGE_TIMEOUT_US);
      return n;
    },
  };
}
