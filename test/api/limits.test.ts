import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.js';
import { v2 } from '../helpers/v2.js';

const CREATE = '/nimserver/user/create.action';

describe('request limits are off by default', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
  });
  after(() => s.close());

  it('accepts a fixed Nonce again and again (public clients do this)', async () => {
    for (let i = 0; i < 3; i++) {
      const body = await s.call(CREATE, { accid: `fixed${i}` }, { nonce: '12345' });
      assert.equal(body.code, 200);
    }
  });
});

describe('frequency control (416)', () => {
  let s: TestServer;
  before(async () => {
    // 3 calls per minute on the account API, then a one-minute block: no timing in the test.
    s = await startServer({ config: { rateLimit: 'user=3/60:60' } });
  });
  after(() => s.close());

  it('answers 416 after the app’s allowance, whatever the call', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await s.call(CREATE, { accid: `rl${i}` })).code, 200);
    assert.deepEqual(await s.call(CREATE, { accid: 'rl3' }), { desc: 'frequency control', code: 416 });
    assert.deepEqual(await s.call(CREATE, { accid: 'rl0' }), { desc: 'frequency control', code: 416 });
    // The refused call stored nothing.
    assert.equal(await s.runtime.store.getAccount(s.appKey, 'rl3'), undefined);
  });

  it('counts the v2 account API as the same family, answering in the v2 form', async () => {
    const body = await v2(s, 'POST', '/im/v2/accounts', { account_id: 'v2rl' });
    assert.equal(body.code, 416);
    assert.equal(body.msg, 'frequency control');
  });

  it('leaves unsigned probes and other families alone', async () => {
    assert.equal((await s.fetch('/nimserver/health/readiness.action')).status, 200);
    assert.equal((await s.call('/nimserver/nosuch/thing.action')).code, 404);
  });

  it('checks the signature first: a bad CheckSum is still 414', async () => {
    const body = await s.call(CREATE, { accid: 'x' }, { headers: { CheckSum: '0'.repeat(40) } });
    assert.equal(body.code, 414);
  });
});

describe('strict replay protection (431)', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ config: { replayProtection: 'on' } });
  });
  after(() => s.close());

  it('answers 431 for a Nonce reused inside the CurTime window, and stores nothing', async () => {
    assert.equal((await s.call(CREATE, { accid: 'once' }, { nonce: 'n-1' })).code, 200);
    assert.deepEqual(await s.call(CREATE, { accid: 'twice' }, { nonce: 'n-1' }), {
      desc: 'duplicate http request',
      code: 431,
    });
    assert.equal(await s.runtime.store.getAccount(s.appKey, 'twice'), undefined);
    assert.equal((await s.call(CREATE, { accid: 'twice' }, { nonce: 'n-2' })).code, 200);
  });

  it('does not burn a Nonce on a request whose signature fails', async () => {
    const bad = await s.call(CREATE, { accid: 'b' }, { nonce: 'n-3', headers: { CheckSum: 'f'.repeat(40) } });
    assert.equal(bad.code, 414);
    assert.equal((await s.call(CREATE, { accid: 'b' }, { nonce: 'n-3' })).code, 200);
  });
});
