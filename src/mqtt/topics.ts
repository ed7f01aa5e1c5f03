/**
 * Topic names validated and encoded, those of readings remembered: a reading
 * then allocates nothing, since the app sends them to one topic.
 * Announcements (availability, LED, discovery, diag, errors) are encoded when
 * sent, at a connect, a command or once a minute, so that a device does not
 * keep a dozen topics' bytes for them.
 */
import { checkTopicName, utf8 } from "./codec";

export class TopicCache {
  /** Names and their bytes, side by side (a device remembers one or two: two short arrays cost far less than a Map). */
  private names: string[] = [];
  private values: Uint8Array[] = [];
  /** `limit`: topics remembered; past it the cache starts again. */
  constructor(private readonly limit = 16) {}

  get size(): number {
    return this.names.length;
  }

  /** A topic's bytes, or undefined if it is not a valid topic name. `keep`: remember them. */
  bytes(topic: string, keep: boolean): Uint8Array | undefined {
    const names = this.names;
    for (let i = 0; i < names.length; i++) if (names[i] === topic) return this.values[i];
    if (checkTopicName(topic)) return undefined;
    const bytes = utf8(topic);
    if (keep) {
      // Exact-length arrays, made again at each miss (rare: a device sends readings to one topic).
      if (names.length >= this.limit) {
        this.names = [topic];
        this.values = [bytes];
      } else {
        this.names = names.concat(topic);
        this.values = this.values.concat(bytes);
      }
    }
    return bytes;
  }
}
