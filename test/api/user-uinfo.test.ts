/** updateUinfo.action and getUinfos.action (accounts-v1.md §6, §7). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PROFILE_LIMITS } from '../../src/accounts/rules.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { callAs, type Loose } from '../helpers/v2.js';

const get = (s: TestServer, accids: unknown, extra: Record<string, string> = {}) =>
  s.call('/nimserver/user/getUinfos.action', {
    accids: typeof accids === 'string' ? accids : JSON.stringify(accids),
    ...extra,
  }) as Promise<Loose>;

describe('user/updateUinfo.action and user/getUinfos.action', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
    await s.call('/nimserver/user/create.action', {
      accid: 't1',
      name: 'abc',
      email: 't1@163.com',
      mobile: '18645454545',
      gender: '1',
    });
    await s.call('/nimserver/user/create.action', { accid: 't2', name: 'def' });
    await s.call('/nimserver/user/create.action', { accid: 't3' });
  });
  after(() => s.close());

  it('getUinfos: request order, unset strings omitted, gender/valid/mute always', async () => {
    assert.deepEqual(await get(s, ['t2', 't1', 't3']), {
      code: 200,
      uinfos: [
        { accid: 't2', name: 'def', gender: 0, valid: true, mute: false },
        {
          accid: 't1',
          name: 'abc',
          email: 't1@163.com',
          mobile: '18645454545',
          gender: 1,
          valid: true,
          mute: false,
        },
        { accid: 't3', gender: 0, valid: true, mute: false },
      ],
    });
  });

  it('getUinfos leaves unknown accids out and answers duplicates once', async () => {
    const r = await get(s, ['nosuch', 't3', 't3']);
    assert.deepEqual(
      r.uinfos.map((u: Loose) => u.accid),
      ['t3'],
    );
    assert.deepEqual(await get(s, ['nosuch']), { code: 200, uinfos: [] });
  });

  it('getUinfos with muteStatus=true adds the four module flags', async () => {
    await s.call('/nimserver/user/muteModule.action', { accid: 't3', muteTeam: 'true' });
    const [u] = (await get(s, ['t3'], { muteStatus: 'true' })).uinfos;
    assert.deepEqual(u, {
      accid: 't3',
      gender: 0,
      valid: true,
      mute: false,
      muteP2P: false,
      muteTeam: true,
      muteRoom: false,
      muteQChat: false,
    });
    const [plain] = (await get(s, ['t3'], { muteStatus: 'false' })).uinfos;
    assert.equal('muteTeam' in plain, false);
  });

  it('getUinfos bad input → 414', async () => {
    const cases: [Record<string, string>, string][] = [
      [{}, 'accids is empty'],
      [{ accids: 'not json' }, 'bad accids'],
      [{ accids: '["t1"' }, 'bad accids'],
      [{ accids: '{"a":1}' }, 'bad accids'],
      [{ accids: '"t1"' }, 'bad accids'],
      [{ accids: '[1,2]' }, 'bad accids'],
      [{ accids: '["t1",null]' }, 'bad accids'],
      [{ accids: '[]' }, 'accids is empty'],
      [{ accids: JSON.stringify(['x'.repeat(33)]) }, 'bad accids'],
      [{ accids: JSON.stringify(Array.from({ length: 201 }, (_, i) => `u${i}`)) }, 'accids exceeds 200'],
      [{ accids: '["t1"]', muteStatus: 'yes' }, 'bad muteStatus'],
    ];
    for (const [params, desc] of cases)
      assert.deepEqual(await s.call('/nimserver/user/getUinfos.action', params), { desc, code: 414 }, desc);
  });

  it('getUinfos accepts exactly 200 accids', async () => {
    const r = await get(s, [...Array.from({ length: 199 }, (_, i) => `u${i}`), 't1']);
    assert.equal(r.code, 200);
    assert.deepEqual(
      r.uinfos.map((u: Loose) => u.accid),
      ['t1'],
    );
  });

  it('getUinfos does not show another app’s accounts', async () => {
    const other = await s.runtime.apps.createApp('other');
    assert.deepEqual(await callAs(s, other, '/nimserver/user/getUinfos.action', { accids: '["t1"]' }), {
      code: 200,
      uinfos: [],
    });
  });

  it('updateUinfo: absent = unchanged, empty = cleared', async () => {
    assert.deepEqual(
      await s.call(
        '/nimserver/user/updateUinfo.action',
        'accid=t1&name=&sign=hello&icon=http%3A%2F%2Fi&gender=2',
      ),
      { code: 200 },
    );
    const [u] = (await get(s, ['t1'])).uinfos;
    assert.deepEqual(u, {
      accid: 't1',
      icon: 'http://i',
      sign: 'hello',
      email: 't1@163.com',
      mobile: '18645454545',
      gender: 2,
      valid: true,
      mute: false,
    });
  });

  it('updateUinfo: every field at its limit is accepted', async () => {
    const params: Record<string, string> = { accid: 't2' };
    for (const [f, max] of Object.entries(PROFILE_LIMITS))
      params[f] = f === 'email' ? `${'a'.repeat(max - 6)}@b.com` : '名'.repeat(max);
    assert.deepEqual(await s.call('/nimserver/user/updateUinfo.action', params), { code: 200 });
    const [u] = (await get(s, ['t2'])).uinfos;
    assert.equal(u.name, '名'.repeat(64));
    assert.equal(u.ex.length, 1024);
  });

  it('updateUinfo bad input → 414 and nothing changes', async () => {
    const before = (await get(s, ['t3'])).uinfos[0];
    const cases: [Record<string, string>, string][] = [
      [{ name: 'x' }, 'accid is empty'],
      [{ accid: 'nosuch', name: 'x' }, 'nosuch not register'],
      [{ accid: 't3', email: '邮件' }, '邮件 not email'],
      [{ accid: 't3', gender: '3' }, 'bad gender'],
      [{ accid: 't3', gender: 'male' }, 'bad gender'],
      ...Object.entries(PROFILE_LIMITS).map(
        ([f, max]) =>
          [{ accid: 't3', [f]: 'x'.repeat(max + 1) }, `${f} too long`] as [Record<string, string>, string],
      ),
    ];
    for (const [params, desc] of cases)
      assert.deepEqual(await s.call('/nimserver/user/updateUinfo.action', params), { desc, code: 414 }, desc);
    assert.deepEqual((await get(s, ['t3'])).uinfos[0], before);
  });

  it('updateUinfo works on a blocked account', async () => {
    await s.call('/nimserver/user/block.action', { accid: 't3' });
    assert.deepEqual(await s.call('/nimserver/user/updateUinfo.action', { accid: 't3', name: 'banned' }), {
      code: 200,
    });
    const [u] = (await get(s, ['t3'])).uinfos;
    assert.equal(u.name, 'banned');
    assert.equal(u.valid, false);
  });

  it("updateUinfo cannot touch another app's account", async () => {
    const other = await s.runtime.apps.createApp('other2');
    assert.deepEqual(
      await callAs(s, other, '/nimserver/user/updateUinfo.action', { accid: 't1', name: 'evil' }),
      {
        desc: 't1 not register',
        code: 414,
      },
    );
  });
});
