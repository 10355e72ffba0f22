/** userOnlineStatus, setSpecialRelation, listBlackAndMuteList (accounts-v1.md §12, §13). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.js';
import { callAs, createAccounts } from '../helpers/v2.js';

describe('user/userOnlineStatus.action', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
    await createAccounts(s, 'on1', 'on2');
  });
  after(() => s.close());

  it('without a gateway every account is offline; unknown ids are listed as invalid', async () => {
    assert.deepEqual(
      await s.call('/nimserver/user/userOnlineStatus.action', { accids: '["on1","nosuch","on2"]' }),
      { code: 200, data: { invalidAccids: ['nosuch'], status: {} } },
    );
  });

  it('reports the sessions the presence port knows', async () => {
    s.runtime.accounts.usePresence({
      sessionsOf: async (_appKey, accids) =>
        new Map(
          accids
            .filter((a) => a === 'on2')
            .map((a) => [a, [{ clientType: 16, loginTime: 1700000000000, deviceId: 'd1', consid: 'c1' }]]),
        ),
    });
    try {
      assert.deepEqual(await s.call('/nimserver/user/userOnlineStatus.action', { accids: '["on1","on2"]' }), {
        code: 200,
        data: { invalidAccids: [], status: { on2: [{ clientType: 16, loginTime: 1700000000000 }] } },
      });
    } finally {
      s.runtime.accounts.usePresence({ sessionsOf: async () => new Map() });
    }
  });

  it('bad accids → 414', async () => {
    const cases: [Record<string, string>, string][] = [
      [{}, 'accids is empty'],
      [{ accids: '[on1]' }, 'bad accids'],
      [{ accids: '[{"a":1}]' }, 'bad accids'],
      [{ accids: JSON.stringify(Array.from({ length: 201 }, (_, i) => `a${i}`)) }, 'accids exceeds 200'],
    ];
    for (const [params, desc] of cases)
      assert.deepEqual(
        await s.call('/nimserver/user/userOnlineStatus.action', params),
        { desc, code: 414 },
        desc,
      );
  });
});

describe('user/setSpecialRelation.action and user/listBlackAndMuteList.action', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
    await createAccounts(s, 'r1', 'r2', 'r3');
  });
  after(() => s.close());

  const list = (accid: string) => s.call('/nimserver/user/listBlackAndMuteList.action', { accid });

  it('adds to and removes from the blacklist and mute list', async () => {
    assert.deepEqual(await list('r1'), { code: 200, mutelist: [], blacklist: [] });
    const set = (targetAcc: string, relationType: string, value: string) =>
      s.call('/nimserver/user/setSpecialRelation.action', { accid: 'r1', targetAcc, relationType, value });
    assert.deepEqual(await set('r2', '1', '1'), { code: 200 });
    assert.deepEqual(await set('r3', '2', '1'), { code: 200 });
    assert.deepEqual(await set('r2', '2', '1'), { code: 200 });
    assert.deepEqual(await set('r2', '1', '1'), { code: 200 }, 'adding twice is a no-op');
    assert.deepEqual(await list('r1'), { code: 200, mutelist: ['r3', 'r2'], blacklist: ['r2'] });
    assert.deepEqual(await list('r2'), { code: 200, mutelist: [], blacklist: [] }, 'relations are one-way');
    assert.deepEqual(await set('r2', '1', '0'), { code: 200 });
    assert.deepEqual(await set('r2', '1', '0'), { code: 200 }, 'removing a missing one is a no-op');
    assert.deepEqual(await list('r1'), { code: 200, mutelist: ['r3', 'r2'], blacklist: [] });
  });

  it('setSpecialRelation errors', async () => {
    const base = { accid: 'r1', targetAcc: 'r2', relationType: '1', value: '1' };
    const cases: [Record<string, string>, string][] = [
      [{ ...base, accid: '' }, 'accid is empty'],
      [{ ...base, targetAcc: '' }, 'targetAcc is empty'],
      [{ ...base, relationType: '' }, 'relationType is empty'],
      [{ ...base, value: '' }, 'value is empty'],
      [{ ...base, relationType: '3' }, 'bad relationType'],
      [{ ...base, value: '2' }, 'bad value'],
      [{ ...base, accid: 'nosuch' }, 'nosuch not register'],
      [{ ...base, targetAcc: 'ghost' }, 'ghost not register'],
    ];
    for (const [params, desc] of cases)
      assert.deepEqual(
        await s.call('/nimserver/user/setSpecialRelation.action', params),
        { desc, code: 414 },
        desc,
      );
  });

  it('listBlackAndMuteList errors and app isolation', async () => {
    assert.deepEqual(await s.call('/nimserver/user/listBlackAndMuteList.action', {}), {
      desc: 'accid is empty',
      code: 414,
    });
    assert.deepEqual(await list('nosuch'), { desc: 'nosuch not register', code: 414 });
    const other = await s.runtime.apps.createApp('other');
    assert.deepEqual(await callAs(s, other, '/nimserver/user/listBlackAndMuteList.action', { accid: 'r1' }), {
      desc: 'r1 not register',
      code: 414,
    });
  });
});
