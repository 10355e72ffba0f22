import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkSumMatches, computeCheckSum } from '../../src/api/signature.js';

// spec/auth.md §8
const VECTORS = [
  ['a1b2c3d4e5f6', '4tgggergigwow323t23t', '1443592222', '3afed9b279c11dc51685291ccd3333997c45a85c'],
  [
    '0123456789ab',
    'e5f1a7c0b29d4f3c8e6a1b0d7c9f2e4a',
    '1700000000',
    'e65ca6f9b34a55dac44662d3229a0b91b6aadd63',
  ],
  ['secret+with/utf8-密钥', 'nonce-Ünïcødé 空格', '1735689600', 'f01f37791388f2389e1eaf20ce1a31f6e470e21c'],
] as const;

describe('CheckSum (auth.md §2, §8)', () => {
  for (const [secret, nonce, curTime, expected] of VECTORS) {
    it(`vector ${expected.slice(0, 8)} hashes the UTF-8 bytes of secret+nonce+curTime`, () => {
      assert.equal(computeCheckSum(secret, nonce, curTime), expected);
    });
  }

  it('accepts the upper-case hex form of a matching checksum', () => {
    assert.equal(checkSumMatches(VECTORS[0][3], VECTORS[0][3].toUpperCase()), true);
  });

  it('rejects a checksum that differs in one digit, is short, or is not hex', () => {
    const good = VECTORS[0][3];
    assert.equal(checkSumMatches(good, `${good.slice(0, 39)}d`), false);
    assert.equal(checkSumMatches(good, good.slice(0, 39)), false);
    assert.equal(checkSumMatches(good, `${good.slice(0, 39)}g`), false);
    assert.equal(checkSumMatches(good, ''), false);
    // Exactly 40 characters, but not 40 hex digits: a stop in the middle, a prefix, non-ASCII.
    assert.equal(checkSumMatches(good, `${good.slice(0, 20)}z${good.slice(21)}`), false);
    assert.equal(checkSumMatches(good, `0x${good.slice(2)}`), false);
    assert.equal(checkSumMatches(good, ` ${good.slice(1)}`), false);
    assert.equal(checkSumMatches(good, `${good.slice(0, 39)}é`), false);
    assert.equal(checkSumMatches(good, `${good}00`), false);
  });
});
