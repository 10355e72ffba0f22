import { randomBytes } from 'node:crypto';

/**
 * A random start for the hash, per process (per thread): the hashes exist only in memory, rebuilt
 * from the table at every start, and without the seed nobody can pick idClients offline that crowd
 * one slot of the table (long probe runs would slow every insert).
 */
const SEED = randomBytes(4).readUInt32LE(0);

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
 * Layout: typed arrays allocated once, so a full window costs no garbage collection and a fixed
 * 20–28 bytes per message: a ring of (hash, id) in arrival order (12 bytes), and an open-addressing
 * table (linear probing, at most half full, backward-shift deletion) of ring slots by hash.
 */
export class ResendWindow {
  readonly capacity: number;
  /** Ring of the window's messages in arrival order: their hashes and ids. */
  readonly #hashes: Int32Array;
  readonly #ids: Float64Array;
  /** Open addressing by hash: ring slot + 1, 0 = empty. */
  readonly #table: Int32Array;
  readonly #mask: number;
  #next = 0;
  #size = 0;
  /** The highest message id added (0: none). */
  #through = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0 || capacity > 2 ** 29)
      throw new RangeError('capacity must be an integer from 0 to 2^29');
    this.capacity = capacity;
    this.#hashes = new Int32Array(capacity);
    this.#ids = new Float64Array(capacity);
    let slots = 2;
    while (slots < capacity * 2) slots *= 2;
    this.#table = new Int32Array(slots);
    this.#mask = slots - 1;
  }

  /**
   * FNV-1a over app, sender and idClient (NUL-separated), from a per-process random start, mixed
   * (murmur3's finaliser) and cut to 30 bits. Stable within a process only: never stored.
   */
  static hash(appKey: string, from: string, idClient: string): number {
    let h = 0x811c9dc5 ^ SEED;
    for (let i = 0; i < appKey.length; i++) h = Math.imul(h ^ appKey.charCodeAt(i), 0x01000193);
    h = Math.imul(h, 0x01000193);
    for (let i = 0; i < from.length; i++) h = Math.imul(h ^ from.charCodeAt(i), 0x01000193);
    h = Math.imul(h, 0x01000193);
    for (let i = 0; i < idClient.length; i++) h = Math.imul(h ^ idClient.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) & 0x3fffffff;
  }

  get size(): number {
    return this.#size;
  }

  /** The highest message id added, 0 when none: messages above it are not in the window yet. */
  get through(): number {
    return this.#through;
  }

  /** The ids of the window's messages whose key hashes to `hash`, newest first. */
  candidates(hash: number): number[] {
    const out: number[] = [];
    if (this.capacity === 0) return out;
    const table = this.#table;
    for (let i = hash & this.#mask; table[i] !== 0; i = (i + 1) & this.#mask) {
      const slot = table[i]! - 1;
      if (this.#hashes[slot] === hash) out.push(this.#ids[slot]!);
    }
    if (out.length > 1) out.sort((a, b) => b - a);
    return out;
  }

  /** Adds a stored message (ids in increasing order); the oldest leaves once the window is full. */
  add(hash: number, id: number): void {
    if (this.capacity === 0) return;
    const slot = this.#next;
    if (this.#size === this.capacity) this.#unlink(slot);
    else this.#size++;
    this.#hashes[slot] = hash;
    this.#ids[slot] = id;
    let i = hash & this.#mask;
    while (this.#table[i] !== 0) i = (i + 1) & this.#mask;
    this.#table[i] = slot + 1;
    this.#next = slot + 1 === this.capacity ? 0 : slot + 1;
    if (id > this.#through) this.#through = id;
  }

  /** Takes ring slot `slot` out of the table, shifting later entries of its probe run back. */
  #unlink(slot: number): void {
    const table = this.#table;
    const mask = this.#mask;
    let hole = this.#hashes[slot]! & mask;
    while (table[hole] !== slot + 1) hole = (hole + 1) & mask;
    table[hole] = 0;
    for (let j = (hole + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const home = this.#hashes[table[j]! - 1]! & mask;
      // The entry at j may fill the hole when the hole lies on its probe path (home … j).
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        table[hole] = table[j]!;
        table[j] = 0;
        hole = j;
      }
    }
  }

  clear(): void {
    this.#table.fill(0);
    this.#next = 0;
    this.#size = 0;
    this.#through = 0;
  }
}
