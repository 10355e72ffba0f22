/**
 * Login, refusal, kicks and presence through the official web SDK (Node build, JSON transport),
 * driven by the real account API: block, refreshToken, update, v2 kick, userOnlineStatus.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { destroyAllSdkClients, sdkLogin } from '../helpers/sdk.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { v2 } from '../helpers/v2.js';

describe('SDK login, kicks and presence (JSON transport)', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
    for (const accid of ['dave', 'erin', 'frank', 'gina', 'hank']) {
      const r = await s.call('/nimserver/user/create.action', { accid, token: `tok-${accid}` });
      assert.equal(r.code, 200, JSON.stringify(r));
    }
  });
  after(async () => {
    await destroyAllSdkClients();
    await s.close();
  });

  it('logs in; a wrong token gets 302 and no retry', async () => {
    const c = await sdkLogin(s, 'dave', 'tok-dave');
    assert.deepEqual(c.disconnects, []);
    await c.destroy();
    const bad = await sdkLogin(s, 'dave', 'not-the-token', { expect: 'disconnect' });
    assert.equal(bad.disconnects[0].code, 302);
    assert.equal(bad.disconnects[0].willReconnect, false);
    await bad.destroy();
  });

  it('refuses an unknown account with 302 and an unknown AppKey with 403', async () => {
    const c = await sdkLogin(s, 'nobody', 'whatever', { expect: 'disconnect' });
    assert.equal(c.disconnects[0].code, 302);
    await c.destroy();
    const app = await sdkLogin(s, 'dave', 'tok-dave', {
      expect: 'disconnect',
      extra: { appKey: '0123456789abcdef0123456789abcdef' },
    });
    assert.equal(app.disconnects[0].code, 403);
    await app.destroy();
  });

  it('block with needkick kicks with the kick text; the next login gets 422; unblock lets it back', async () => {
    const c = await sdkLogin(s, 'erin', 'tok-erin');
    const r = await s.call('/nimserver/user/block.action', {
      accid: 'erin',
      needkick: 'true',
      kickNotifyExt: 'bye erin',
    });
    assert.equal(r.code, 200, JSON.stringify(r));
    await c.waitFor('the kick', () => c.disconnects.length > 0);
    assert.equal(c.disconnects[0].code, 'kicked');
    assert.equal(c.disconnects[0].reason, 'serverKick');
    assert.equal(c.disconnects[0].custom, 'bye erin');
    assert.equal(c.disconnects[0].willReconnect, false);
    await c.destroy();

    const again = await sdkLogin(s, 'erin', 'tok-erin', { expect: 'disconnect' });
    assert.equal(again.disconnects[0].code, 422);
    await again.destroy();

    await s.call('/nimserver/user/unblock.action', { accid: 'erin' });
    const back = await sdkLogin(s, 'erin', 'tok-erin');
    await back.destroy();
  });

  it('refreshToken kicks the old session; the old token gets 302, the new one logs in', async () => {
    const c = await sdkLogin(s, 'frank', 'tok-frank');
    const r = await s.call('/nimserver/user/refreshToken.action', { accid: 'frank' });
    assert.equal(r.code, 200, JSON.stringify(r));
    const token = (r.info as { token: string }).token;
    await c.waitFor('the kick', () => c.disconnects.length > 0);
    assert.equal(c.disconnects[0].code, 'kicked');
    await c.destroy();

    const old = await sdkLogin(s, 'frank', 'tok-frank', { expect: 'disconnect' });
    assert.equal(old.disconnects[0].code, 302);
    await old.destroy();
    const fresh = await sdkLogin(s, 'frank', token);
    await fresh.destroy();
  });

  it('a v2 admin kick ends every session of the account and no other', async () => {
    const g1 = await sdkLogin(s, 'gina', 'tok-gina');
    const g2 = await sdkLogin(s, 'gina', 'tok-gina', { anotherDevice: true });
    const d = await sdkLogin(s, 'dave', 'tok-dave');
    try {
      const r = await v2(s, 'POST', '/im/v2/accounts/gina/actions/kick', {
        type: 1,
        kick_notify_extension: 'admin',
      });
      assert.equal(r.code, 200, JSON.stringify(r));
      assert.equal(r.data.success_list.length, 2, JSON.stringify(r.data));
      await g1.waitFor('the kick', () => g1.disconnects.length > 0);
      await g2.waitFor('the kick', () => g2.disconnects.length > 0);
      assert.equal(g2.disconnects[0].custom, 'admin');
      await d.sendText('dave', 'note to self');
      assert.deepEqual(d.disconnects, []);
    } finally {
      await g1.destroy();
      await g2.destroy();
      await d.destroy();
    }
  });

  it('userOnlineStatus reports the real sessions', async () => {
    const h = await sdkLogin(s, 'hank', 'tok-hank');
    const online = await s.call('/nimserver/user/userOnlineStatus.action', { accids: '["hank","dave"]' });
    assert.equal(online.code, 200, JSON.stringify(online));
    const status = (online.data as { status: Record<string, { clientType: number }[]> }).status;
    assert.deepEqual(Object.keys(status), ['hank']);
    assert.equal(status.hank?.[0]?.clientType, 16);
    await h.destroy();
    const offline = await s.call('/nimserver/user/userOnlineStatus.action', { accids: '["hank"]' });
    assert.deepEqual((offline.data as { status: object }).status, {});
  });

  it('muteModule muteP2P makes sends fail with 423, and unmuting lets them through', async () => {
    const d = await sdkLogin(s, 'dave', 'tok-dave');
    try {
      await s.call('/nimserver/user/muteModule.action', { accid: 'dave', muteP2P: 'true' });
      await assert.rejects(d.sendText('hank', 'muted?'), (err: { sdk?: { code?: unknown } }) => {
        assert.equal(err.sdk?.code, 423);
        return true;
      });
      await s.call('/nimserver/user/muteModule.action', { accid: 'dave', muteP2P: 'false' });
      const sent = await d.sendText('hank', 'not muted');
      assert.equal(sent.status, 'success');
    } finally {
      await d.destroy();
    }
  });
});
