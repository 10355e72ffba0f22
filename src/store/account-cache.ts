/**
 * Stored accounts kept in memory by SqliteStore: profile reads (getUinfos, logins, message sends)
 * hit it instead of SQLite. Bounded, first in first out; records are frozen, shared by every
 * reader. Coherence is the store's business (it drops a row its own write changed and everything
 * when another process wrote); this is only the map.
 */
import type { AccountRecord } from './port.js';

export class AccountCache {
  readonly #map = new Map<string, AccountRecord>();

  constructor(readonly capacity: number) {}

  static key(appKey: string, accid: string): string {
    return `${appKey}\u0000${accid}`;
  }

  get(key: string): AccountRecord | undefined {
    return this.#map.get(key);
  }

  set(key: string, record: AccountRecord): AccountRecord {
    const frozen = Object.freeze(record);
    if (this.capacity === 0) return frozen;
    if (this.#map.size >= this.capacity && !this.#map.has(key)) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
    this.#map.set(key, frozen);
    return frozen;
  }

  delete(key: string): void {
    this.#map.delete(key);
  }

  clear(): void {
    this.#map.clear();
  }

  get size(): number {
    return this.#map.size;
  }
}
