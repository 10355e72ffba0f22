import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { view } from '../../src/accounts/registration.js';
import { uinfosBody } from '../../src/api/user.js';
import { AccountCache, memoOf } from '../../src/store/account-cache.js';
import type { AccountRecord } from '../../src/store/port.js';
import { newAccount } from '../helpers/accounts.js';

const rec = (appKey: string, accid: string): AccountRecord => {
  const { token: _, ...rest } = newAccount(appKey, accid);
  return { ...rest, tokenSealed: new Uint8Array(1) };
};

describe('AccountCache', () => {
  it('holds at most `capacity` accounts, dropping the oldest first', () => {
    const c = new AccountCache(3);
    for (const id of ['a', 'b', 'c', 'd']) c.set(rec('k', id));
    assert.equal(c.size, 3);
    assert.equal(c.get('k', 'a'), undefined);
    assert.equal(c.get('k', 'd')?.accid, 'd');
  });

  it('replacing an account neither grows nor evicts; deleting frees its place', () => {
    const c = new AccountCache(2);
    c.set(rec('k', 'a'));
    c.set(rec('k', 'b'));
    for (let i = 0; i < 100; i++) c.set(rec('k', 'b'));
    assert.equal(c.size, 2);
    assert.ok(c.get('k', 'a'));
    c.delete('k', 'a');
    c.delete('k', 'a');
    assert.equal(c.size, 1);
    c.set(rec('k', 'c'));
    assert.ok(c.get('k', 'b') && c.get('k', 'c'));
  });

  it('keeps apps apart and evicts across them', () => {
    const c = new AccountCache(2);
    c.set(rec('k1', 'same'));
    c.set(rec('k2', 'same'));
    assert.equal(c.get('k1', 'same')?.appKey, 'k1');
    assert.equal(c.get('k2', 'same')?.appKey, 'k2');
    c.set(rec('k3', 'x'));
    assert.equal(c.size, 2);
    assert.equal(c.get('k1', 'same'), undefined, 'the app cached first loses its oldest');
    c.clear();
    assert.equal(c.size, 0);
    assert.equal(c.get('k2', 'same'), undefined);
  });

  it('freezes what it returns; capacity 0 caches nothing', () => {
    const c = new AccountCache(0);
    const r = c.set(rec('k', 'a'));
    assert.ok(Object.isFrozen(r));
    assert.equal(c.get('k', 'a'), undefined);
    assert.equal(c.size, 0);
  });

  it('gives a cached record a hidden memo: one frozen view, one rendered getUinfos element', () => {
    const r = new AccountCache(10).set(rec('k', 'm'));
    assert.ok(memoOf(r), 'a cached record has a memo');
    assert.deepEqual(Object.keys({ ...r }).sort(), Object.keys(rec('k', 'm')).sort(), 'not copied');
    assert.ok(!JSON.stringify(r).includes('memo'));
    const v = view(r);
    assert.equal(view(r), v, 'the same view every time');
    assert.ok(Object.isFrozen(v));
    assert.ok(!('tokenSealed' in v), 'a view never carries the sealed token');
    const body = uinfosBody([v, v], false);
    assert.equal(memoOf(v)?.uinfo, JSON.stringify(JSON.parse(body).uinfos[0]));
    assert.equal(uinfosBody([v, v], false), body);
    // A record that was never cached gets a fresh, unfrozen view each time.
    const plain = rec('k', 'p');
    assert.equal(memoOf(plain), undefined);
    assert.notEqual(view(plain), view(plain));
    // Cached again, a frozen record keeps its memo (and does not throw).
    assert.equal(new AccountCache(10).set(r), r);
    assert.equal(view(r), v);
  });
});
