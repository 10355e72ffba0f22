/** Single-node limits: counters and claimed Nonces in this process's memory. */
import type { NonceStore, RateLimiter, RequestLimits } from './port.js';
import type { RateRule } from './rules.js';

interface Window {
  count: number;
  endsAt: number;
  blockedUntil: number;
}

/** Expired entries are swept when a map grows past this, so idle keys cannot pile up. */
const SWEEP_AT = 10_000;

export class MemoryRateLimiter implements RateLimiter {
  readonly #windows = new Map<string, Window>();
  constructor(private readonly now: () => number = Date.now) {}

  async hit(key: string, rule: RateRule): Promise<number> {
    const now = this.now();
    let w = this.#windows.get(key);
    if (w && w.blockedUntil > now) return w.blockedUntil - now;
    if (!w || w.endsAt <= now) {
      if (!w && this.#windows.size >= SWEEP_AT) this.#sweep(now);
      w = { count: 0, endsAt: now + rule.windowMs, blockedUntil: 0 };
      this.#windows.set(key, w);
    }
    w.count++;
    if (w.count <= rule.calls) return 0;
    if (rule.blockMs > 0) {
      w.blockedUntil = now + rule.blockMs;
      return rule.blockMs;
    }
    return w.endsAt - now;
  }

  #sweep(now: number): void {
    for (const [k, w] of this.#windows) if (w.endsAt <= now && w.blockedUntil <= now) this.#windows.delete(k);
  }

  async close(): Promise<void> {
    this.#windows.clear();
  }
}

export class MemoryNonceStore implements NonceStore {
  readonly #seen = new Map<string, number>();
  constructor(private readonly now: () => number = Date.now) {}

  async claim(key: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    const expiresAt = this.#seen.get(key);
    if (expiresAt !== undefined && expiresAt > now) return false;
    if (expiresAt === undefined && this.#seen.size >= SWEEP_AT) this.#sweep(now);
    this.#seen.set(key, now + ttlMs);
    return true;
  }

  #sweep(now: number): void {
    for (const [k, t] of this.#seen) if (t <= now) this.#seen.delete(k);
  }

  async close(): Promise<void> {
    this.#seen.clear();
  }
}

export function memoryLimits(now: () => number = Date.now): RequestLimits {
  const rate = new MemoryRateLimiter(now);
  const nonces = new MemoryNonceStore(now);
  return {
    kind: 'memory',
    rate,
    nonces,
    close: async () => {
      await rate.close();
      await nonces.close();
    },
  };
}
