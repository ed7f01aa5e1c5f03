/**
 * One virtual device: the core's App with Node ports, a virtual DHT that
 * produces pulse trains, a virtual LED and a virtual Wi-Fi link.
 */
import type { DigitalOut } from "../src/ports";
import { App } from "../src/app/app";
import type { BrokerAddress, Config } from "../src/app/config";
import { createDhtSensor } from "../src/dht/sensor";
import { fileStore, nodeClock, nodeSocket } from "./node-ports";
import { VirtualDht } from "./virtual-dht";
import type { Faults } from "./cli";

/** How long a Wi-Fi drop injected by `--faults wifi=…` lasts, ms. */
const WIFI_OUTAGE_MS = 5000;

export class VirtualLed implements DigitalOut {
  value: 0 | 1 = 0;
  writes = 0;
  write(value: 0 | 1): void {
    this.value = value;
    this.writes++;
  }
}

export interface VirtualDevice {
  app: App;
  led: VirtualLed;
  wifiUp(): boolean;
  stop(): Promise<void>;
}

export function createDevice(config: Config, id: string, broker: BrokerAddress, faults: Faults, log: (line: string) => void): VirtualDevice {
  const led = new VirtualLed();
  const dht = new VirtualDht({ model: config.sensor, faultRate: faults.sensor });
  let rssi = -52 - Math.round(Math.random() * 12);
  let wifi = true;
  const app = new App(
    config,
    {
      clock: nodeClock,
      socket: nodeSocket,
      led,
      sensor: createDhtSensor(dht, config.sensor),
      log: (line) => log(`${id}: ${line}`),
      store: fileStore(undefined),
      heap: () => process.memoryUsage().heapUsed,
      rssi: () => (wifi ? (rssi += Math.round(Math.random() * 2 - 1)) : undefined),
    },
    { id, broker, model: `ESP32 + ${config.sensor.toUpperCase()} (simulated)` },
  );

  const timers: NodeJS.Timeout[] = [];
  if (faults.wifi > 0) {
    timers.push(
      setInterval(() => {
        wifi = false;
        log(`${id}: wifi: dropped (fault injection)`);
        app.hold();
        timers.push(
          setTimeout(() => {
            wifi = true;
            log(`${id}: wifi: back`);
            app.resume();
          }, WIFI_OUTAGE_MS),
        );
      }, faults.wifi),
    );
  }
  app.start();
  return {
    app,
    led,
    wifiUp: () => wifi,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        app.stop(resolve);
      }),
  };
}
