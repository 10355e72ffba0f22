/**
 * The counting behind the request limits. In-process adapters (memory.ts) serve one node; the Redis
 * adapters (redis.ts) share the counts between every node that uses the same broker.
 */
import type { RateRule } from './rules.js';

export interface RateLimiter {
  /**
   * Counts one call under `key`; resolves 0 when it is allowed, otherwise how many ms the caller
   * stays refused.
   */
  hit(key: string, rule: RateRule): Promise<number>;
  close(): Promise<void>;
}

export interface NonceStore {
  /** True the first time `key` is claimed within `ttlMs`, false for a reuse. */
  claim(key: string, ttlMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface RequestLimits {
  kind: 'memory' | 'redis';
  rate: RateLimiter;
  nonces: NonceStore;
  close(): Promise<void>;
}
