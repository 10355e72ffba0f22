/**
 * The 8.9.x stable SDK line (8.9.132, Node build) against nimbase. Only 8.9 in this file: the 8.9
 * and 9.x bundles cannot be loaded in one process (test/helpers/sdk.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { destroyAllSdkClients, sdkLogin } from '../helpers/sdk.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('SDK 8.9.132 (stable line)', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
    for (const accid of ['old', 'new'])
      await s.call('/nimserver/user/create.action', { accid, token: `tok-${accid}` });
  });
  after(async () => {
    await destroyAllSdkClients();
    await s.close();
  });

  it('logs in, exchanges messages, syncs offline messages, and gets 302 for a bad token', async () => {
    const old = await sdkLogin(s, 'old', 'tok-old', { sdk: 'v8' });
    const fresh = await sdkLogin(s, 'new', 'tok-new', { sdk: 'v8' });
    const sent = await old.sendText('new', 'from 8.9');
    assert.equal(sent.status, 'success');
    await fresh.waitFor('the 8.9 message', () => fresh.messages.length === 1);
    assert.equal(fresh.messages[0].text, 'from 8.9');
    await fresh.sendText('old', 'from the other 8.9');
    await old.waitFor('the other message', () => old.messages.length === 1);
    assert.equal(old.messages[0].text, 'from the other 8.9');
    await old.destroy();

    await fresh.sendText('old', 'while offline');
    const back = await sdkLogin(s, 'old', 'tok-old', { sdk: 'v8' });
    assert.deepEqual(
      back.offline.map((m) => m.text),
      ['while offline'],
    );
    await back.destroy();
    await fresh.destroy();

    const bad = await sdkLogin(s, 'old', 'nope', { sdk: 'v8', expect: 'disconnect' });
    assert.equal(bad.disconnects[0].code, 302);
    await bad.destroy();
  });
});
