/**
 * Topic names validated and encoded, those of readings remembered: a reading
 * then allocates nothing, since the app sends them to one topic.
 * Announcements (availability, LED, discovery, diag, errors) are encoded when
 * sent, at a connect, a command or once a minute, so that a device does not
 * keep a dozen topics' bytes for them.
 */
import { checkTopicName, utf8 } from "./codec";

export class TopicCache {
  private readonly topics = new Map<string, Uint8Array>();
  /** `limit`: topics remembered; past it the cache starts again. */
  constructor(private readonly limit = 16) {}

  get size(): number {
    return this.topics.size;
  }

  /** A topic's bytes, or undefined if it is not a valid topic name. `keep`: remember them. */
  bytes(topic: string, keep: boolean): Uint8Array | undefined {
    let bytes = this.topics.get(topic);
    if (bytes === undefined) {
      if (checkTopicName(topic)) return undefined;
      bytes = utf8(topic);
      if (keep) {
        if (this.topics.size >= this.limit) this.topics.clear();
        this.topics.set(topic, bytes);
      }
    }
    return bytes;
  }
}
