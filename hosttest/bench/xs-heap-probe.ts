/**
 * Runs inside XS: one connected App (the device's whole core) over fake
 * ports, its announcements written and acknowledged, a reading published.
 * `handleCommand("make <n>")` builds n of them and keeps them; the host
 * reads currentHeapCount before and after (./xs.ts) to get the heap slots a
 * device keeps (chunks, i.e. buffer bytes, are not counted in slots).
 */
import { App } from "../../src/app/app";
import { buildConfig } from "../../src/app/config";
import type { Socket, SocketOptions } from "../../src/ports";
import { connack, FakeClock, RamFlash } from "../unit/fakes";

const clock = new FakeClock(1000);
const kept: unknown[] = [];

class QuietSocket implements Socket {
  constructor(readonly options: SocketOptions) {}
  inbox: Uint8Array = new Uint8Array(0);
  at = 0;
  read(into: Uint8Array): number {
    let n = 0;
    while (n < into.length && this.at < this.inbox.length) into[n++] = this.inbox[this.at++];
    return n;
  }
  written: number[] = [];
  write(bytes: Uint8Array): void {
    // Acknowledge every QoS 1 PUBLISH at once (packet id after the topic).
    if (bytes[0] >> 4 === 3 && ((bytes[0] >> 1) & 3) === 1) {
      let i = 1;
      while (bytes[i] & 0x80) i++;
      const t = (bytes[i + 1] << 8) | bytes[i + 2];
      const idAt = i + 3 + t;
      this.written.push(bytes[idAt], bytes[idAt + 1]);
    }
  }
  close(): void {}
  flush(): void {
    while (this.written.length) {
      const hi = this.written.shift()!;
      const lo = this.written.shift()!;
      this.inbox = new Uint8Array([0x40, 2, hi, lo]);
      this.at = 0;
      this.options.onReadable(4);
    }
  }
}

function make(): App {
  let socket: QuietSocket | undefined;
  const app = new App(
    buildConfig({ qos: 1 }).config,
    {
      clock,
      socket: (o) => (socket = new QuietSocket(o)),
      led: { write() {} },
      sensor: { minInterval: 2000, read: () => ({ ok: true, temp: 23.5, hum: 41 }) },
      log: () => {},
      flash: new RamFlash(4096, 18),
      wallClock: () => 1764547200000,
    },
    { id: "esp32-0a1b2c", broker: { tls: false, host: "192.168.1.10", port: 1883 } },
  );
  app.start();
  const s = socket!;
  s.options.onWritable(1 << 20);
  s.inbox = connack(false, 0);
  s.at = 0;
  s.options.onReadable(s.inbox.length);
  s.flush();
  s.inbox = new Uint8Array([0x90, 5, 0, 1, 1, 1, 1]); // SUBACK
  s.at = 0;
  s.options.onReadable(7);
  app.telemetry.reading(23.5, 41);
  s.flush();
  if (!app.client.connected || app.client.queued !== 0) throw new Error("probe: app not connected and drained");
  return app;
}

(globalThis as { handleCommand?: (ab: ArrayBuffer) => ArrayBuffer }).handleCommand = (ab: ArrayBuffer): ArrayBuffer => {
  const text = String.fromCharCode.apply(null, Array.from(new Uint8Array(ab)));
  const n = Number(text.slice(text.indexOf(" ") + 1));
  for (let i = 0; i < n; i++) kept.push(make());
  (globalThis as { gc?: () => void }).gc?.(); // what the devices keep, not what building them allocated
  const info = `apps=${kept.length}`;
  const out = new Uint8Array(info.length);
  for (let i = 0; i < info.length; i++) out[i] = info.charCodeAt(i);
  return out.buffer;
};
