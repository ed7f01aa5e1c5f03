/**
 * The Node simulator's virtual DHT11/DHT22: the one in src/virtual.ts (also
 * the Moddable simulator's), on the host's wall clock unless told otherwise.
 */
import { type VirtualDhtOptions as CoreOptions, VirtualDht as CoreVirtualDht } from "../src/virtual";

export { sequenceNumber, sequenceReading, VIRTUAL_DHT_FAULTS, type VirtualDhtFault } from "../src/virtual";

export interface VirtualDhtOptions extends Omit<CoreOptions, "now"> {
  /** Milliseconds clock driving the environment's drift. Default `Date.now`. */
  now?: () => number;
}

export class VirtualDht extends CoreVirtualDht {
  constructor(options: VirtualDhtOptions) {
    super({ ...options, now: options.now ?? Date.now });
  }
}
