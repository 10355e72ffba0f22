/**
 * Limits shared by every node on one Redis: the frequency-control counters and the claimed Nonces
 * are Redis keys, so a client spreading calls over several nodes meets one limit. Each check is a
 * single atomic command (a Lua script, or SET NX), never read-then-write. Windows start at a key's
 * first hit and end by key expiry, so node clocks never need to agree.
 */
import { Redis } from 'ioredis';
import type { NonceStore, RateLimiter, RequestLimits } from './port.js';
import type { RateRule } from './rules.js';

/** KEYS: block, counter. ARGV: calls, windowMs, blockMs. Returns 0 (allowed) or ms refused. */
const HIT_SCRIPT = `
local blocked = redis.call('PTTL', KEYS[1])
if blocked > 0 then return blocked end
local n = redis.call('INCR', KEYS[2])
if n == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
if n <= tonumber(ARGV[1]) then return 0 end
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[3])
  return tonumber(ARGV[3])
end
local left = redis.call('PTTL', KEYS[2])
if left < 1 then return 1 end
return left
`;

export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async hit(key: string, rule: RateRule): Promise<number> {
    // One hash tag per key, so both keys live on one Redis Cluster slot.
    const tag = `{${key}}`;
    const result = await this.redis.eval(
      HIT_SCRIPT,
      2,
      `${this.prefix}rl:b:${tag}`,
      `${this.prefix}rl:c:${tag}`,
      rule.calls,
      rule.windowMs,
      rule.blockMs,
    );
    return Number(result);
  }

  async close(): Promise<void> {}
}

export class RedisNonceStore implements NonceStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async claim(key: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(`${this.prefix}nonce:${key}`, '1', 'PX', ttlMs, 'NX')) === 'OK';
  }

  async close(): Promise<void> {}
}

export interface RedisLimitsOptions {
  url: string;
  /** Namespace of every key (default `nimbase:`), for several clusters on one Redis. */
  prefix?: string;
}

export function redisLimits(o: RedisLimitsOptions): RequestLimits {
  const redis = new Redis(o.url, { maxRetriesPerRequest: 2, connectionName: 'nimbase-limits' });
  // Reconnects are ioredis's business; a failed check surfaces on the request that needed it.
  redis.on('error', () => {});
  const prefix = o.prefix ?? 'nimbase:';
  return {
    kind: 'redis',
    rate: new RedisRateLimiter(redis, prefix),
    nonces: new RedisNonceStore(redis, prefix),
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
