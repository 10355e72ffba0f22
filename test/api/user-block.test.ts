/** block.action / unblock.action (accounts-v1.md §4, §5) and their events. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.js';
import { callAs, createAccounts, type Loose, recordEvents, settle } from '../helpers/v2.js';

const uinfo = async (s: TestServer, accid: string) =>
  ((await s.call('/nimserver/user/getUinfos.action', { accids: JSON.stringify([accid]) })) as Loose)
    .uinfos[0];

describe('user/block.action and user/unblock.action', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
    await createAccounts(s, 'blk1', 'blk2');
  });
  after(() => s.close());

  it('block answers {code:200}, marks the account invalid and publishes blocked', async () => {
    const rec = await recordEvents(s);
    assert.deepEqual(
      await s.call('/nimserver/user/block.action', { accid: 'blk1', needkick: 'true', kickNotifyExt: 'bye' }),
      { code: 200 },
    );
    assert.equal((await uinfo(s, 'blk1')).valid, false);
    await settle();
    rec.stop();
    assert.deepEqual(rec.events, [
      { type: 'blocked', appKey: s.appKey, accid: 'blk1', kick: true, kickNotifyExt: 'bye' },
    ]);
  });

  it('needkick defaults to false; blocking twice is fine', async () => {
    const rec = await recordEvents(s);
    assert.deepEqual(await s.call('/nimserver/user/block.action', { accid: 'blk1' }), { code: 200 });
    await settle();
    rec.stop();
    assert.equal(rec.events[0].kick, false);
  });

  it('unblock answers {code:200}, restores valid and publishes unblocked', async () => {
    const rec = await recordEvents(s);
    assert.deepEqual(await s.call('/nimserver/user/unblock.action', { accid: 'blk1' }), { code: 200 });
    assert.equal((await uinfo(s, 'blk1')).valid, true);
    await settle();
    rec.stop();
    assert.deepEqual(rec.events, [{ type: 'unblocked', appKey: s.appKey, accid: 'blk1' }]);
  });

  it('bad input is a 414 and changes nothing', async () => {
    const cases: [Record<string, string>, string][] = [
      [{}, 'accid is empty'],
      [{ accid: 'blk2', needkick: 'yes' }, 'bad needkick'],
      [{ accid: 'blk2', needkick: '1' }, 'bad needkick'],
      [{ accid: 'blk2', kickNotifyExt: 'x'.repeat(257) }, 'kickNotifyExt too long'],
      [{ accid: 'blk2', needUnbindPushToken: 'maybe' }, 'bad needUnbindPushToken'],
      [{ accid: 'nobody' }, 'nobody not register'],
      [{ accid: 'x'.repeat(33) }, 'accid too long'],
    ];
    for (const [params, desc] of cases)
      assert.deepEqual(await s.call('/nimserver/user/block.action', params), { desc, code: 414 }, desc);
    assert.equal((await uinfo(s, 'blk2')).valid, true);
    assert.deepEqual(await s.call('/nimserver/user/unblock.action', {}), {
      desc: 'accid is empty',
      code: 414,
    });
    assert.deepEqual(await s.call('/nimserver/user/unblock.action', { accid: 'nobody' }), {
      desc: 'nobody not register',
      code: 414,
    });
  });

  it("cannot block another app's account", async () => {
    const other = await s.runtime.apps.createApp('other');
    assert.deepEqual(await callAs(s, other, '/nimserver/user/block.action', { accid: 'blk2' }), {
      desc: 'blk2 not register',
      code: 414,
    });
    assert.equal((await uinfo(s, 'blk2')).valid, true);
  });

  it('kickNotifyExt of exactly 256 characters is accepted', async () => {
    assert.deepEqual(
      await s.call('/nimserver/user/block.action', { accid: 'blk2', kickNotifyExt: '扩'.repeat(256) }),
      { code: 200 },
    );
  });
});
