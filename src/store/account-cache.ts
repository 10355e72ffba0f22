/**
 * Stored accounts kept in memory by SqliteStore: profile reads (getUinfos, logins, message sends)
 * hit it instead of SQLite. Bounded, first in first out; records are frozen, shared by every
 * reader. Coherence is the store's business (it drops a row its own write changed and everything
 * when another process wrote); this is only the map.
 */
import type { AccountRecord } from './port.js';

const MEMO = Symbol('nimbase.memo');
/** What the layers above remember about one frozen record (its view, its rendered forms). */
export type Memo = Record<string, unknown>;

/**
 * Gives `o` a private, mutable memo before it is frozen: a frozen object cannot take new
 * properties, and a WeakMap lookup per record and per request costs more than a property read.
 */
export function withMemo<T extends object>(o: T): T {
  // A record cached again (already memoised, or frozen elsewhere) keeps what it has.
  if (Object.isExtensible(o) && memoOf(o) === undefined)
    Object.defineProperty(o, MEMO, { value: Object.create(null), enumerable: false });
  return o;
}

/** The memo withMemo gave `o`, if any. */
export const memoOf = (o: object): Memo | undefined => (o as { [MEMO]?: Memo })[MEMO];

export class AccountCache {
  /** appKey → accid → record: no key string is built per lookup. Maps keep insertion order. */
  readonly #apps = new Map<string, Map<string, AccountRecord>>();
  #size = 0;

  constructor(readonly capacity: number) {}

  get(appKey: string, accid: string): AccountRecord | undefined {
    return this.#apps.get(appKey)?.get(accid);
  }

  set(record: AccountRecord): AccountRecord {
    const frozen = Object.freeze(withMemo(record));
    if (this.capacity === 0) return frozen;
    let app = this.#apps.get(record.appKey);
    if (!app?.has(record.accid)) {
      while (this.#size >= this.capacity) this.#evictOldest();
      if (!app) {
        app = new Map();
        this.#apps.set(record.appKey, app);
      }
      this.#size++;
    }
    app.set(record.accid, frozen);
    return frozen;
  }

  /** The oldest entry of the app cached first (first in, first out within an app). */
  #evictOldest(): void {
    const first = this.#apps.entries().next();
    if (first.done) return;
    const [appKey, app] = first.value;
    const oldest = app.keys().next();
    if (oldest.done) this.#apps.delete(appKey);
    else this.delete(appKey, oldest.value);
  }

  delete(appKey: string, accid: string): void {
    const app = this.#apps.get(appKey);
    if (!app?.delete(accid)) return;
    this.#size--;
    if (app.size === 0) this.#apps.delete(appKey);
  }

  clear(): void {
    this.#apps.clear();
    this.#size = 0;
  }

  get size(): number {
    return this.#size;
  }
}
