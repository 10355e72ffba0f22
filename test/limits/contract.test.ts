/**
 * The limit stores' contract on memory and Redis. Windows and blocks are long (60 s) so no case
 * depends on timing; expiry is exercised on the memory adapter with an injected clock.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { MemoryNonceStore, MemoryRateLimiter, memoryLimits } from '../../src/limits/memory.js';
import type { RequestLimits } from '../../src/limits/port.js';
import { redisLimits } from '../../src/limits/redis.js';
import { REDIS_URL, redisSkip } from '../helpers/redis.js';

const ADAPTERS: {
  name: string;
  skip: string | false;
  shared: boolean;
  open(prefix: string): RequestLimits;
}[] = [
  { name: 'memory', skip: false, shared: false, open: () => memoryLimits() },
  {
    name: 'redis',
    skip: await redisSkip(),
    shared: true,
    open: (prefix) => redisLimits({ url: REDIS_URL, prefix }),
  },
];

const MINUTE = { windowMs: 60_000 };

for (const adapter of ADAPTERS) {
  describe(`Limit stores on ${adapter.name}`, { skip: adapter.skip }, () => {
    // A fresh key namespace per run: the Redis server is shared with other runs.
    const prefix = `nimbase-test-${randomBytes(6).toString('hex')}:`;
    const opened: RequestLimits[] = [];
    const open = () => {
      const l = adapter.open(prefix);
      opened.push(l);
      return l;
    };
    after(async () => {
      for (const l of opened) await l.close();
    });

    it('allows `calls` hits per window, then refuses for the block time', async () => {
      const l = open();
      const rule = { calls: 3, ...MINUTE, blockMs: 60_000 };
      const results = [];
      for (let i = 0; i < 5; i++) results.push(await l.rate.hit('app1:user', rule));
      assert.deepEqual(results.slice(0, 3), [0, 0, 0]);
      assert.ok(results[3]! > 50_000 && results[3]! <= 60_000, `refused for ${results[3]} ms`);
      assert.ok(results[4]! > 0);
    });

    it('counts apps and families apart', async () => {
      const l = open();
      const rule = { calls: 1, ...MINUTE, blockMs: 0 };
      assert.equal(await l.rate.hit('a:user', rule), 0);
      assert.ok((await l.rate.hit('a:user', rule)) > 0);
      assert.equal(await l.rate.hit('b:user', rule), 0);
      assert.equal(await l.rate.hit('a:msg', rule), 0);
    });

    it('without a block, refuses until the window ends', async () => {
      const l = open();
      const rule = { calls: 2, ...MINUTE, blockMs: 0 };
      await l.rate.hit('nb:user', rule);
      await l.rate.hit('nb:user', rule);
      const wait = await l.rate.hit('nb:user', rule);
      assert.ok(wait > 0 && wait <= 60_000);
    });

    it('lets exactly `calls` of many concurrent hits through', async () => {
      const l = open();
      const rule = { calls: 10, ...MINUTE, blockMs: 60_000 };
      const results = await Promise.all(Array.from({ length: 40 }, () => l.rate.hit('conc:user', rule)));
      assert.equal(results.filter((r) => r === 0).length, 10);
    });

    it('claims a Nonce once; another key is free', async () => {
      const l = open();
      assert.equal(await l.nonces.claim('app:n1', 60_000), true);
      assert.equal(await l.nonces.claim('app:n1', 60_000), false);
      assert.equal(await l.nonces.claim('other:n1', 60_000), true);
      const claims = await Promise.all(Array.from({ length: 20 }, () => l.nonces.claim('app:race', 60_000)));
      assert.equal(claims.filter(Boolean).length, 1);
    });

    if (adapter.shared) {
      it('shares counts and Nonces between two nodes', async () => {
        const [a, b] = [open(), open()];
        const rule = { calls: 4, ...MINUTE, blockMs: 60_000 };
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).rate.hit('shared:user', rule)),
        );
        assert.equal(results.filter((r) => r === 0).length, 4);
        assert.ok((await a.rate.hit('shared:user', rule)) > 0);
        assert.equal(await a.nonces.claim('shared:n', 60_000), true);
        assert.equal(await b.nonces.claim('shared:n', 60_000), false);
      });
    }
  });
}

describe('memory limit stores expire', () => {
  it('ends a block and a window when the clock passes them', async () => {
    let now = 1_000_000;
    const rate = new MemoryRateLimiter(() => now);
    const rule = { calls: 1, windowMs: 1000, blockMs: 10_000 };
    assert.equal(await rate.hit('k', rule), 0);
    assert.equal(await rate.hit('k', rule), 10_000);
    now += 9_999;
    assert.equal(await rate.hit('k', rule), 1);
    now += 1;
    assert.equal(await rate.hit('k', rule), 0);
  });

  it('forgets a Nonce after its time to live', async () => {
    let now = 0;
    const nonces = new MemoryNonceStore(() => now);
    assert.equal(await nonces.claim('n', 600_000), true);
    now += 599_999;
    assert.equal(await nonces.claim('n', 600_000), false);
    now += 1;
    assert.equal(await nonces.claim('n', 600_000), true);
  });
});
