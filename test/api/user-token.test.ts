/** update.action and refreshToken.action (accounts-v1.md §2, §3). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.js';
import { callAs, createAccounts, type Loose, recordEvents, settle } from '../helpers/v2.js';

describe('user/update.action and user/refreshToken.action', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
    await createAccounts(s, 'tok1', 'tok2', 'tok3');
  });
  after(() => s.close());

  it('update sets a new token; only the latest is valid', async () => {
    assert.deepEqual(await s.call('/nimserver/user/update.action', { accid: 'tok1', token: 'new-token' }), {
      code: 200,
    });
    assert.equal(await s.runtime.accounts.verifyToken(s.appKey, 'tok1', 'new-token'), true);
    await s.call('/nimserver/user/update.action', { accid: 'tok1', token: 'newer' });
    assert.equal(await s.runtime.accounts.verifyToken(s.appKey, 'tok1', 'new-token'), false);
    assert.equal(await s.runtime.accounts.verifyToken(s.appKey, 'tok1', 'newer'), true);
  });

  it('update with props only keeps the token', async () => {
    assert.deepEqual(await s.call('/nimserver/user/update.action', { accid: 'tok1', props: '{"a":1}' }), {
      code: 200,
    });
    assert.equal(await s.runtime.accounts.verifyToken(s.appKey, 'tok1', 'newer'), true);
  });

  it('update answers the captured errors', async () => {
    assert.deepEqual(await s.call('/nimserver/user/update.action', { accid: 'nosuch', token: 't' }), {
      desc: 'nosuch not register',
      code: 414,
    });
    assert.deepEqual(await s.call('/nimserver/user/update.action', { token: 't' }), {
      desc: 'accid is empty',
      code: 414,
    });
    assert.deepEqual(await s.call('/nimserver/user/update.action', { accid: '', token: 't' }), {
      desc: 'accid is empty',
      code: 414,
    });
    assert.deepEqual(await s.call('/nimserver/user/update.action', { accid: 'a'.repeat(33), token: 't' }), {
      desc: 'accid too long',
      code: 414,
    });
    assert.deepEqual(
      await s.call('/nimserver/user/update.action', { accid: 'tok1', token: 't'.repeat(129) }),
      {
        desc: 'token too long',
        code: 414,
      },
    );
    assert.deepEqual(await s.call('/nimserver/user/update.action', { accid: 'bad accid!', token: 't' }), {
      desc: 'bad accid',
      code: 414,
    });
    assert.equal(await s.runtime.accounts.verifyToken(s.appKey, 'tok1', 'newer'), true, 'nothing changed');
  });

  it('lookups match the stored lower-case accid exactly by default', async () => {
    assert.deepEqual(await s.call('/nimserver/user/update.action', { accid: 'TOK2', token: 't' }), {
      desc: 'TOK2 not register',
      code: 414,
    });
  });

  it('refreshToken answers info{token,accid} with a fresh 32-hex token', async () => {
    const r = (await s.call('/nimserver/user/refreshToken.action', { accid: 'tok2' })) as Loose;
    assert.equal(r.code, 200);
    assert.deepEqual(Object.keys(r.info).sort(), ['accid', 'token']);
    assert.equal(r.info.accid, 'tok2');
    assert.match(r.info.token, /^[0-9a-f]{32}$/);
    assert.equal(await s.runtime.accounts.verifyToken(s.appKey, 'tok2', r.info.token), true);
    const again = (await s.call('/nimserver/user/refreshToken.action', { accid: 'tok2' })) as Loose;
    assert.notEqual(again.info.token, r.info.token);
    assert.equal(await s.runtime.accounts.verifyToken(s.appKey, 'tok2', r.info.token), false);
  });

  it('refreshToken errors: missing, unknown', async () => {
    assert.deepEqual(await s.call('/nimserver/user/refreshToken.action', {}), {
      desc: 'accid is empty',
      code: 414,
    });
    assert.deepEqual(await s.call('/nimserver/user/refreshToken.action', { accid: 'ghost' }), {
      desc: 'ghost not register',
      code: 414,
    });
  });

  it("another app's account is not registered for this app", async () => {
    const other = await s.runtime.apps.createApp('other');
    assert.deepEqual(await callAs(s, other, '/nimserver/user/update.action', { accid: 'tok3', token: 'x' }), {
      desc: 'tok3 not register',
      code: 414,
    });
    assert.deepEqual(await callAs(s, other, '/nimserver/user/refreshToken.action', { accid: 'tok3' }), {
      desc: 'tok3 not register',
      code: 414,
    });
  });

  it('a blocked account can still get a new token', async () => {
    await s.call('/nimserver/user/block.action', { accid: 'tok3' });
    assert.deepEqual(await s.call('/nimserver/user/update.action', { accid: 'tok3', token: 'b' }), {
      code: 200,
    });
    assert.equal(await s.runtime.accounts.verifyToken(s.appKey, 'tok3', 'b'), true);
  });

  it('publishes tokenChanged for update and refresh, never the token', async () => {
    const rec = await recordEvents(s);
    await s.call('/nimserver/user/update.action', { accid: 'tok1', token: 'secret-token-value' });
    await s.call('/nimserver/user/refreshToken.action', { accid: 'tok1' });
    await s.call('/nimserver/user/update.action', { accid: 'tok1', props: 'p' });
    await settle();
    rec.stop();
    assert.deepEqual(rec.events, [
      { type: 'tokenChanged', appKey: s.appKey, accid: 'tok1', reason: 'update' },
      { type: 'tokenChanged', appKey: s.appKey, accid: 'tok1', reason: 'refresh' },
    ]);
    assert.ok(!JSON.stringify(rec.events).includes('secret-token-value'));
  });
});
