/** nimbase extensions: batch create, Idempotency-Key, the create-replay and lower-case lookup switches. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.js';
import { type Loose, v2 } from '../helpers/v2.js';

describe('batch create', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
    await s.call('/nimserver/user/create.action', { accid: 'old' });
  });
  after(() => s.close());

  it('v2: per-item results (created / exists / invalid), request order', async () => {
    const r = await v2(s, 'POST', '/im/v2/accounts/actions/batch_create', {
      accounts: [
        { account_id: 'B1', token: 'tb1', user_information: { name: 'b1' } },
        { account_id: 'old' },
        { account_id: 'bad id' },
        'not an object',
        { account_id: 'b2', user_information: { avatar: 'x'.repeat(1025) } },
        { account_id: 'b1' },
        { account_id: 'b3' },
      ],
    });
    assert.equal(r.code, 200);
    const [b1, old, badId, notObj, longAvatar, dup, b3] = r.data.results;
    assert.deepEqual(b1, { index: 0, status: 'created', account_id: 'b1', token: 'tb1' });
    assert.deepEqual(old, {
      index: 1,
      status: 'exists',
      account_id: 'old',
      error_code: 102405,
      error_msg: 'account_id already exists',
    });
    assert.deepEqual(badId, { index: 2, status: 'invalid', error_code: 414, error_msg: 'bad account_id' });
    assert.deepEqual(notObj, { index: 3, status: 'invalid', error_code: 414, error_msg: 'bad account' });
    assert.deepEqual(longAvatar, {
      index: 4,
      status: 'invalid',
      error_code: 414,
      error_msg: 'avatar too long',
    });
    assert.equal(dup.status, 'exists', 'a duplicate within the batch');
    assert.equal(b3.status, 'created');
    assert.match(b3.token, /^[0-9a-f]{32}$/);
    assert.equal((await v2(s, 'GET', '/im/v2/users/b1')).data.name, 'b1');
  });

  it('v1 batchCreate.action: the same, in the v1 vocabulary', async () => {
    const r = (await s.call('/nimserver/user/batchCreate.action', {
      accounts: JSON.stringify([
        { accid: 'v1a', token: 't', name: 'A', gender: 1 },
        { accid: 'old' },
        { accid: 3 },
      ]),
    })) as Loose;
    assert.deepEqual(r, {
      code: 200,
      results: [
        { index: 0, status: 'created', accid: 'v1a', token: 't' },
        { index: 1, status: 'exists', accid: 'old', code: 414, desc: 'already register' },
        { index: 2, status: 'invalid', code: 414, desc: 'bad accid' },
      ],
    });
  });

  it('1000 accounts in one call; 1001 refused whole', async () => {
    const accounts = Array.from({ length: 1000 }, (_, i) => ({ account_id: `bulk${i}` }));
    const r = await v2(s, 'POST', '/im/v2/accounts/actions/batch_create', { accounts });
    assert.equal(r.data.results.filter((x: Loose) => x.status === 'created').length, 1000);
    assert.deepEqual(
      await v2(s, 'POST', '/im/v2/accounts/actions/batch_create', {
        accounts: [...accounts, { account_id: 'one-more' }],
      }),
      { code: 414, msg: 'accounts exceeds 1000' },
    );
    assert.deepEqual((await v2(s, 'GET', '/im/v2/users/one-more')).code, 102404);
    assert.equal(await s.runtime.store.countAccounts(s.appKey), 1 + 2 + 1 + 1000);
  });

  it('bad batch bodies', async () => {
    assert.deepEqual(await v2(s, 'POST', '/im/v2/accounts/actions/batch_create', {}), {
      code: 414,
      msg: 'accounts is empty',
    });
    assert.deepEqual(await v2(s, 'POST', '/im/v2/accounts/actions/batch_create', { accounts: {} }), {
      code: 414,
      msg: 'bad accounts',
    });
    assert.deepEqual(await s.call('/nimserver/user/batchCreate.action', { accounts: '[{' }), {
      desc: 'bad accounts',
      code: 414,
    });
    assert.deepEqual(await s.call('/nimserver/user/batchCreate.action', { accounts: '[]' }), {
      desc: 'accounts is empty',
      code: 414,
    });
  });
});

describe('Idempotency-Key', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
  });
  after(() => s.close());

  it('a v1 create retried with the same key gets the original 200 (generated token included)', async () => {
    const headers = { 'Idempotency-Key': 'req-1' };
    const first = await s.call('/nimserver/user/create.action', { accid: 'idem1' }, { headers });
    assert.equal(first.code, 200);
    const retry = await s.call('/nimserver/user/create.action', { accid: 'idem1' }, { headers });
    assert.deepEqual(retry, first);
    const noKey = await s.call('/nimserver/user/create.action', { accid: 'idem1' });
    assert.deepEqual(noKey, { desc: 'already register', code: 414 });
  });

  it('the same key with another request is refused; another key is a fresh create', async () => {
    const headers = { 'Idempotency-Key': 'req-1' };
    assert.deepEqual(await s.call('/nimserver/user/create.action', { accid: 'idem2' }, { headers }), {
      desc: 'Idempotency-Key already used for a different request',
      code: 414,
    });
    const r = await s.call(
      '/nimserver/user/create.action',
      { accid: 'idem1' },
      { headers: { 'Idempotency-Key': 'k2' } },
    );
    assert.deepEqual(r, { desc: 'already register', code: 414 });
  });

  it('v2 create honours the key too, and failures are not remembered', async () => {
    const init = { headers: { 'Idempotency-Key': 'v2-key' } };
    const first = await v2(s, 'POST', '/im/v2/accounts', { account_id: 'idem3', token: 'z' }, init);
    assert.equal(first.code, 200);
    assert.deepEqual(
      await v2(s, 'POST', '/im/v2/accounts', { token: 'z', account_id: 'idem3' }, init),
      first,
    );
    const failed = await v2(
      s,
      'POST',
      '/im/v2/accounts',
      { account_id: 'idem4', token: 'x'.repeat(129) },
      {
        headers: { 'Idempotency-Key': 'v2-fail' },
      },
    );
    assert.equal(failed.code, 414);
    const fixed = await v2(
      s,
      'POST',
      '/im/v2/accounts',
      { account_id: 'idem4', token: 'x'.repeat(129) },
      {
        headers: { 'Idempotency-Key': 'v2-fail' },
      },
    );
    assert.equal(fixed.code, 414);
  });

  it('keys are per app, bounded, and the remembered answer is not stored in the clear', async () => {
    assert.deepEqual(
      await s.call(
        '/nimserver/user/create.action',
        { accid: 'idem5' },
        { headers: { 'Idempotency-Key': 'k'.repeat(129) } },
      ),
      { desc: 'Idempotency-Key too long', code: 414 },
    );
    const rec = await s.runtime.store.getIdempotency(s.appKey, 'v2-key');
    assert.ok(rec);
    assert.ok(!Buffer.from(rec.responseSealed).toString('latin1').includes('idem3'));
    const other = await s.runtime.apps.createApp('other');
    const r = await v2(
      s,
      'POST',
      '/im/v2/accounts',
      { account_id: 'idem3', token: 'z' },
      {
        creds: other,
        headers: { 'Idempotency-Key': 'v2-key' },
      },
    );
    assert.equal(r.code, 200, "another app's key space is its own");
  });
});

describe('create replay switch (createReplay=true)', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ config: { createReplay: 'true' } });
  });
  after(() => s.close());

  it('a create equal to the stored account answers the original 200', async () => {
    const params = { accid: 'rep1', token: 'tok', name: 'N', gender: '1' };
    const first = await s.call('/nimserver/user/create.action', params);
    assert.deepEqual(await s.call('/nimserver/user/create.action', params), first);
    assert.deepEqual(await s.call('/nimserver/user/create.action', { ...params, accid: 'REP1' }), first);
  });

  it('a generated token is replayed to a create without token', async () => {
    const first = (await s.call('/nimserver/user/create.action', { accid: 'rep2' })) as Loose;
    const again = (await s.call('/nimserver/user/create.action', { accid: 'rep2' })) as Loose;
    assert.deepEqual(again, first);
  });

  it('Loose difference is still "already register"', async () => {
    const params = { accid: 'rep3', token: 'tok', name: 'N' };
    await s.call('/nimserver/user/create.action', params);
    const changes: Record<string, string>[] = [
      { token: 'other' },
      { name: 'M' },
      { gender: '2' },
      { ex: 'x' },
    ];
    for (const change of changes)
      assert.deepEqual(await s.call('/nimserver/user/create.action', { ...params, ...change }), {
        desc: 'already register',
        code: 414,
      });
  });

  it('is off by default', async () => {
    const d = await startServer();
    try {
      await d.call('/nimserver/user/create.action', { accid: 'x1', token: 't' });
      assert.deepEqual(await d.call('/nimserver/user/create.action', { accid: 'x1', token: 't' }), {
        desc: 'already register',
        code: 414,
      });
    } finally {
      await d.close();
    }
  });
});

describe('lower-case lookup switch (lowercaseLookup=true)', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ config: { lowercaseLookup: 'true' } });
    await s.call('/nimserver/user/create.action', { accid: 'Case1', name: 'c' });
  });
  after(() => s.close());

  it('upper-case input finds the lower-case account', async () => {
    assert.deepEqual(await s.call('/nimserver/user/update.action', { accid: 'CASE1', token: 'x' }), {
      code: 200,
    });
    const u = (await s.call('/nimserver/user/getUinfos.action', { accids: '["CASE1"]' })) as Loose;
    assert.equal(u.uinfos[0].accid, 'case1');
    assert.equal((await v2(s, 'GET', '/im/v2/accounts/CaSe1')).data.account_id, 'case1');
  });

  it('refuses an invalid switch value at start', async () => {
    await assert.rejects(
      startServer({ config: { lowercaseLookup: 'maybe' } }),
      /lowercase lookup must be true or false/,
    );
  });
});
