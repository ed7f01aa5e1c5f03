/**
 * ports.ts `DigitalOut` over ECMA-419 `embedded:io/digital` (ESP32).
 */
import Digital from "embedded:io/digital";
import type { DigitalOut } from "../ports";

export function digitalLed(pin: number): DigitalOut {
  const io = new Digital({ pin, mode: Digital.Output });
  return {
    write(value: 0 | 1): void {
      io.write(value);
    },
  };
}
