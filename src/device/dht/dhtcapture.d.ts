declare module "device/dht/capture" {
  /** Native DHT capture on one GPIO (open drain, pull-up); see src/dht/frame.ts. */
  export default class DhtCapture {
    constructor(pin: number);
    /** Start pulse of `startLowUs` µs, then records `(level << 15) | µs` entries into `out`; returns the count. */
    capture(startLowUs: number, out: Uint16Array): number;
    close(): void;
  }
}
