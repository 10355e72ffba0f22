/**
 * Login, refusal and kick through the official web SDK (Node build, JSON transport). Account
 * changes are made in the store and announced on the server's bus, as the account service does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AccountEvent } from '../../src/accounts/events.js';
import { SUBJECTS } from '../../src/bus/subjects.js';
import { tokenOwner } from '../../src/security/vault.js';
import { destroyAllSdkClients, sdkLogin } from '../helpers/sdk.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('SDK login and kick (JSON transport)', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
    for (const accid of ['dave', 'erin', 'frank', 'gina']) {
      const r = await s.call('/nimserver/user/create.action', { accid, token: `tok-${accid}` });
      assert.equal(r.code, 200, JSON.stringify(r));
    }
  });
  after(async () => {
    await destroyAllSdkClients();
    await s.close();
  });

  const publish = (e: AccountEvent) => s.bus.publish(SUBJECTS.accountEvents, e);

  it('logs in and reports the connection in onconnect', async () => {
    const c = await sdkLogin(s, 'dave', 'tok-dave');
    assert.deepEqual(c.disconnects, []);
    await c.destroy();
  });

  it('refuses a wrong token with 302 and does not retry', async () => {
    const c = await sdkLogin(s, 'dave', 'not-the-token', { expect: 'disconnect' });
    assert.equal(c.disconnects[0].code, 302);
    assert.equal(c.disconnects[0].willReconnect, false);
    await c.destroy();
  });

  it('refuses an unknown account with 302', async () => {
    const c = await sdkLogin(s, 'nobody', 'whatever', { expect: 'disconnect' });
    assert.equal(c.disconnects[0].code, 302);
    await c.destroy();
  });

  it('kicks a blocked account (needkick) with the kick text and refuses its next login with 422', async () => {
    const c = await sdkLogin(s, 'erin', 'tok-erin');
    await s.runtime.store.updateAccount(s.appKey, 'erin', { blocked: true });
    await publish({
      type: 'blocked',
      appKey: s.appKey,
      accid: 'erin',
      kick: true,
      kickNotifyExt: 'bye erin',
    });
    await c.waitFor('the kick', () => c.disconnects.length > 0);
    assert.equal(c.disconnects[0].code, 'kicked');
    assert.equal(c.disconnects[0].reason, 'serverKick');
    assert.equal(c.disconnects[0].custom, 'bye erin');
    await c.destroy();

    const again = await sdkLogin(s, 'erin', 'tok-erin', { expect: 'disconnect' });
    assert.equal(again.disconnects[0].code, 422);
    await again.destroy();
  });

  it('kicks the sessions of an account whose token was refreshed; the old token is refused', async () => {
    const c = await sdkLogin(s, 'frank', 'tok-frank');
    const sealed = s.runtime.vault.seal('new-frank', tokenOwner(s.appKey, 'frank'));
    await s.runtime.store.updateAccount(s.appKey, 'frank', { tokenSealed: sealed });
    await publish({ type: 'tokenChanged', appKey: s.appKey, accid: 'frank', reason: 'refresh' });
    await c.waitFor('the kick', () => c.disconnects.length > 0);
    assert.equal(c.disconnects[0].code, 'kicked');
    await c.destroy();

    const old = await sdkLogin(s, 'frank', 'tok-frank', { expect: 'disconnect' });
    assert.equal(old.disconnects[0].code, 302);
    await old.destroy();
    const fresh = await sdkLogin(s, 'frank', 'new-frank');
    await fresh.destroy();
  });

  it('an admin kick (mode 1) ends every session of the account and no other', async () => {
    const g1 = await sdkLogin(s, 'gina', 'tok-gina');
    const g2 = await sdkLogin(s, 'gina', 'tok-gina', { anotherDevice: true });
    const d = await sdkLogin(s, 'dave', 'tok-dave');
    try {
      await publish({ type: 'kick', appKey: s.appKey, accid: 'gina', mode: 1, kickNotifyExt: 'admin' });
      await g1.waitFor('the kick', () => g1.disconnects.length > 0);
      await g2.waitFor('the kick', () => g2.disconnects.length > 0);
      assert.equal(g2.disconnects[0].custom, 'admin');
      // dave is untouched: he can still message.
      await d.sendText('dave', 'note to self');
      assert.deepEqual(d.disconnects, []);
    } finally {
      await g1.destroy();
      await g2.destroy();
      await d.destroy();
    }
  });
});
