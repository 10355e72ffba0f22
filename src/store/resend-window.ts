/**
 * The (app, sender, idClient) keys of the most recent messages, so that a client's resend is found
 * without an index over every message ever stored.
 *
 * Why not a UNIQUE index: idClients are random, so every insert into such an index dirties a page of
 * its own, and each WAL checkpoint then copies and flushes one index page per message. Measured on
 * the SQLite store, that index was the largest single cost of a message write (docs/benchmarks.md,
 * "where the store's tail comes from"). A resend comes soon after the send it repeats (the client
 * got no answer), so the store keeps an exact window instead: the keys of the last `capacity`
 * messages, in memory, as 30-bit hashes. A hash only names candidates; the caller confirms one by
 * reading the row, so a collision can never turn a new message into a "resend".
 *
 * Memory: about 45 bytes per message of the window (a Map entry plus two typed-array slots).
 */
export class ResendWindow {
  readonly capacity: number;
  /** hash → the ids stored under it (one id, or several when hashes collide), oldest first. */
  readonly #byHash = new Map<number, number | number[]>();
  /** Ring of the window's messages in arrival order: their hashes and ids. */
  readonly #hashes: Int32Array;
  readonly #ids: Float64Array;
  #next = 0;
  #size = 0;
  /** The highest message id added (0: none). */
  #through = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError('capacity must be an integer ≥ 0');
    this.capacity = capacity;
    this.#hashes = new Int32Array(capacity);
    this.#ids = new Float64Array(capacity);
  }

  /** FNV-1a over app, sender and idClient (NUL-separated), cut to 30 bits so Map keys stay small integers. */
  static hash(appKey: string, from: string, idClient: string): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < appKey.length; i++) h = Math.imul(h ^ appKey.charCodeAt(i), 0x01000193);
    h = Math.imul(h, 0x01000193);
    for (let i = 0; i < from.length; i++) h = Math.imul(h ^ from.charCodeAt(i), 0x01000193);
    h = Math.imul(h, 0x01000193);
    for (let i = 0; i < idClient.length; i++) h = Math.imul(h ^ idClient.charCodeAt(i), 0x01000193);
    return h & 0x3fffffff;
  }

  get size(): number {
    return this.#size;
  }

  /** The highest message id added, 0 when none: messages above it are not in the window yet. */
  get through(): number {
    return this.#through;
  }

  /** The ids of the window's messages whose key hashes to `hash`, newest first. */
  candidates(hash: number): readonly number[] {
    const v = this.#byHash.get(hash);
    if (v === undefined) return [];
    return typeof v === 'number' ? [v] : [...v].reverse();
  }

  /** Adds a stored message (ids in increasing order); the oldest leaves once the window is full. */
  add(hash: number, id: number): void {
    if (this.capacity === 0) return;
    if (this.#size === this.capacity) this.#evict(this.#next);
    else this.#size++;
    this.#hashes[this.#next] = hash;
    this.#ids[this.#next] = id;
    this.#next = (this.#next + 1) % this.capacity;
    const v = this.#byHash.get(hash);
    if (v === undefined) this.#byHash.set(hash, id);
    else if (typeof v === 'number') this.#byHash.set(hash, [v, id]);
    else v.push(id);
    if (id > this.#through) this.#through = id;
  }

  #evict(slot: number): void {
    const hash = this.#hashes[slot]!;
    const id = this.#ids[slot]!;
    const v = this.#byHash.get(hash);
    if (v === id) this.#byHash.delete(hash);
    else if (Array.isArray(v)) {
      const at = v.indexOf(id);
      if (at >= 0) v.splice(at, 1);
      if (v.length === 1) this.#byHash.set(hash, v[0]!);
    }
  }

  clear(): void {
    this.#byHash.clear();
    this.#next = 0;
    this.#size = 0;
    this.#through = 0;
  }
}
