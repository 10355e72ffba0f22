import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateToken } from '../../src/accounts/service.js';
import { randomBytesPooled } from '../../src/security/random.js';

describe('randomBytesPooled', () => {
  it('hands out fresh bytes of the asked length, across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const b = randomBytesPooled(12);
      assert.equal(b.length, 12);
      seen.add(b.toString('hex'));
    }
    assert.equal(seen.size, 2000);
    assert.equal(randomBytesPooled(5000).length, 5000);
  });

  it('returns buffers the caller owns (not views of the pool)', () => {
    const a = randomBytesPooled(16);
    const copy = Buffer.from(a);
    for (let i = 0; i < 600; i++) randomBytesPooled(16);
    assert.deepEqual(a, copy);
  });

  it('feeds 32-hex server tokens', () => {
    assert.match(generateToken(), /^[0-9a-f]{32}$/);
    assert.notEqual(generateToken(), generateToken());
  });
});
