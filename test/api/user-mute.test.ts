/** setDonnop, mute, muteAv, muteModule (accounts-v1.md §8–§11) and the muteChanged event. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.js';
import { callAs, createAccounts, type Loose, recordEvents, settle, v2 } from '../helpers/v2.js';

describe('user/setDonnop, mute, muteAv, muteModule', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
    await createAccounts(s, 'm1', 'm2');
  });
  after(() => s.close());

  const uinfo = async (accid: string) =>
    (
      (await s.call('/nimserver/user/getUinfos.action', {
        accids: `["${accid}"]`,
        muteStatus: 'true',
      })) as Loose
    ).uinfos[0];

  it('setDonnop answers 200 and is readable through v2 push config', async () => {
    assert.deepEqual(await s.call('/nimserver/user/setDonnop.action', { accid: 'm1', donnopOpen: 'true' }), {
      code: 200,
    });
    const r = await v2(s, 'GET', '/im/v2/accounts/m1');
    assert.equal(r.data.configuration.push_enabled_when_desktop_online, false);
    await s.call('/nimserver/user/setDonnop.action', { accid: 'm1', donnopOpen: 'false' });
    assert.equal(
      (await v2(s, 'GET', '/im/v2/accounts/m1')).data.configuration.push_enabled_when_desktop_online,
      true,
    );
  });

  it('setDonnop errors', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ donnopOpen: 'true' }, 'accid is empty'],
      [{ accid: 'm1' }, 'donnopOpen is empty'],
      [{ accid: 'm1', donnopOpen: 'TRUE' }, 'bad donnopOpen'],
      [{ accid: 'gone', donnopOpen: 'true' }, 'gone not register'],
    ];
    for (const [params, desc] of cases)
      assert.deepEqual(await s.call('/nimserver/user/setDonnop.action', params), { desc, code: 414 }, desc);
  });

  it('mute sets the global mute shown by getUinfos and publishes muteChanged', async () => {
    const rec = await recordEvents(s);
    assert.deepEqual(await s.call('/nimserver/user/mute.action', { accid: 'm1', mute: 'true' }), {
      code: 200,
    });
    assert.equal((await uinfo('m1')).mute, true);
    await s.call('/nimserver/user/mute.action', { accid: 'm1', mute: 'false' });
    assert.equal((await uinfo('m1')).mute, false);
    await settle();
    rec.stop();
    assert.deepEqual(rec.events[0], {
      type: 'muteChanged',
      appKey: s.appKey,
      accid: 'm1',
      mute: true,
      muteP2P: false,
      muteTeam: false,
      muteRoom: false,
      muteQChat: false,
    });
    assert.equal(rec.events[1].mute, false);
  });

  it('mute / muteAv errors', async () => {
    for (const path of ['/nimserver/user/mute.action', '/nimserver/user/muteAv.action']) {
      const cases: [Record<string, string>, string][] = [
        [{ mute: 'true' }, 'accid is empty'],
        [{ accid: 'm1' }, 'mute is empty'],
        [{ accid: 'm1', mute: 'on' }, 'bad mute'],
        [{ accid: 'gone', mute: 'true' }, 'gone not register'],
      ];
      for (const [params, desc] of cases)
        assert.deepEqual(await s.call(path, params), { desc, code: 414 }, `${path} ${desc}`);
    }
  });

  it('muteAv answers 200 and leaves the chat mutes alone', async () => {
    assert.deepEqual(await s.call('/nimserver/user/muteAv.action', { accid: 'm2', mute: 'true' }), {
      code: 200,
    });
    const u = await uinfo('m2');
    assert.equal(u.mute, false);
    assert.equal((await s.runtime.store.getAccount(s.appKey, 'm2'))?.muteAv, true);
  });

  it('muteModule answers the resulting state of all four flags', async () => {
    assert.deepEqual(await s.call('/nimserver/user/muteModule.action', { accid: 'm2', muteP2P: 'true' }), {
      code: 200,
      data: { muteP2P: true, muteTeam: false, muteRoom: false, muteQChat: false },
    });
    assert.deepEqual(
      await s.call('/nimserver/user/muteModule.action', { accid: 'm2', muteRoom: 'true', muteQChat: 'true' }),
      { code: 200, data: { muteP2P: true, muteTeam: false, muteRoom: true, muteQChat: true } },
    );
    assert.deepEqual(await s.call('/nimserver/user/muteModule.action', { accid: 'm2', muteP2P: 'false' }), {
      code: 200,
      data: { muteP2P: false, muteTeam: false, muteRoom: true, muteQChat: true },
    });
    const u = await uinfo('m2');
    assert.deepEqual([u.muteP2P, u.muteTeam, u.muteRoom, u.muteQChat], [false, false, true, true]);
  });

  it('concurrent muteModule calls on different flags both take effect', async () => {
    await createAccounts(s, 'm3');
    const flags = ['muteP2P', 'muteTeam', 'muteRoom', 'muteQChat'];
    await Promise.all(
      flags.map((f) => s.call('/nimserver/user/muteModule.action', { accid: 'm3', [f]: 'true' })),
    );
    const u = await uinfo('m3');
    assert.deepEqual(
      flags.map((f) => u[f]),
      [true, true, true, true],
    );
  });

  it('muteModule needs at least one flag; bad flags and accounts are 414', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ accid: 'm2' }, 'muteP2P, muteTeam, muteRoom and muteQChat are all empty'],
      [{}, 'accid is empty'],
      [{ accid: 'm2', muteTeam: 'x' }, 'bad muteTeam'],
      [{ accid: 'gone', muteTeam: 'true' }, 'gone not register'],
    ];
    for (const [params, desc] of cases)
      assert.deepEqual(await s.call('/nimserver/user/muteModule.action', params), { desc, code: 414 }, desc);
  });

  it("mutes cannot reach another app's account", async () => {
    const other = await s.runtime.apps.createApp('other');
    assert.deepEqual(await callAs(s, other, '/nimserver/user/mute.action', { accid: 'm1', mute: 'true' }), {
      desc: 'm1 not register',
      code: 414,
    });
    assert.equal((await uinfo('m1')).mute, false);
  });

  it('a blocked account can be muted', async () => {
    await s.call('/nimserver/user/block.action', { accid: 'm2' });
    assert.deepEqual(await s.call('/nimserver/user/mute.action', { accid: 'm2', mute: 'true' }), {
      code: 200,
    });
    const u = await uinfo('m2');
    assert.equal(u.valid, false);
    assert.equal(u.mute, true);
  });
});
