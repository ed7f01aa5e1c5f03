/**
 * Exact-length views of a buffer, made once and reused: a socket write or a
 * message handler needs a `Uint8Array` of the right length, and on XS every
 * `subarray` call allocates. A steady stream of same-sized packets then
 * allocates nothing. The cache is bounded; when full it starts over.
 */
export class Views {
  private readonly cache = new Map<number, Uint8Array>();

  constructor(
    readonly buffer: Uint8Array,
    private readonly limit = 32,
  ) {}

  /** `buffer.subarray(start, end)`, from the cache when it has it. */
  get(start: number, end: number): Uint8Array {
    const key = start * (this.buffer.length + 1) + end;
    let view = this.cache.get(key);
    if (view === undefined) {
      if (this.cache.size >= this.limit) this.cache.clear();
      view = this.buffer.subarray(start, end);
      this.cache.set(key, view);
    }
    return view;
  }
}
