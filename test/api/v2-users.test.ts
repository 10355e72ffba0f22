/** The v2 user-profile family /im/v2/users (accounts-v2.md §2) and v1↔v2 round trips. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.js';
import { type Loose, v2 } from '../helpers/v2.js';

describe('v2 /im/v2/users', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
    await s.call('/nimserver/user/create.action', {
      accid: 'u1',
      name: 'One',
      icon: 'http://i/1',
      ex: 'e',
      gender: '2',
    });
    await s.call('/nimserver/user/create.action', { accid: 'u2' });
  });
  after(() => s.close());

  it('GET one: the profile with v2 names, unset strings omitted', async () => {
    assert.deepEqual(await v2(s, 'GET', '/im/v2/users/u1'), {
      code: 200,
      msg: 'success',
      data: { account_id: 'u1', name: 'One', avatar: 'http://i/1', extension: 'e', gender: 2 },
    });
    assert.deepEqual(await v2(s, 'GET', '/nimserver/im/v2/users/nobody'), {
      code: 102404,
      msg: 'account_id not exist',
    });
  });

  it('GET many: success_list in request order, failed_list', async () => {
    assert.deepEqual(await v2(s, 'GET', '/im/v2/users?account_ids=u2,ghost,u1'), {
      code: 200,
      msg: 'success',
      data: {
        success_list: [
          { account_id: 'u2', gender: 0 },
          { account_id: 'u1', name: 'One', avatar: 'http://i/1', extension: 'e', gender: 2 },
        ],
        failed_list: [{ account_id: 'ghost', error_code: 102404, error_msg: 'account_id not exist' }],
      },
    });
    assert.deepEqual(await v2(s, 'GET', '/im/v2/users?account_ids='), {
      code: 414,
      msg: 'account_ids is empty',
    });
  });

  it('PATCH: absent unchanged, "" cleared; answers the profile', async () => {
    assert.deepEqual(
      await v2(s, 'PATCH', '/im/v2/users/u1', {
        avatar: '',
        sign: 'hi',
        birthday: '1990-01-01',
        mobile: '+1-5',
      }),
      {
        code: 200,
        msg: 'success',
        data: {
          account_id: 'u1',
          name: 'One',
          sign: 'hi',
          birthday: '1990-01-01',
          mobile: '+1-5',
          extension: 'e',
          gender: 2,
        },
      },
    );
  });

  it('PATCH errors name v2 fields', async () => {
    const cases: [string, unknown, number, string][] = [
      ['u1', { avatar: 'x'.repeat(1025) }, 414, 'avatar too long'],
      ['u1', { extension: 'x'.repeat(1025) }, 414, 'extension too long'],
      ['u1', { birthday: 5 }, 414, 'bad birthday'],
      ['u1', { gender: 7 }, 414, 'bad gender'],
      ['u1', { email: 'bad' }, 414, 'bad not email'],
      ['u1', { sign: 'x'.repeat(257) }, 414, 'sign too long'],
      ['ghost', { name: 'x' }, 102404, 'account_id not exist'],
    ];
    for (const [id, body, code, msg] of cases)
      assert.deepEqual(await v2(s, 'PATCH', `/im/v2/users/${id}`, body), { code, msg }, msg);
    assert.deepEqual(await v2(s, 'PATCH', '/im/v2/users/u1', undefined, { raw: 'nope' }), {
      code: 414,
      msg: 'bad JSON body',
    });
  });

  it('online_status: no gateway → empty online_status; unknown ids failed', async () => {
    const expected = {
      code: 200,
      msg: 'success',
      data: {
        success_list: [
          { account_id: 'u1', online_status: [] },
          { account_id: 'u2', online_status: [] },
        ],
        failed_list: [{ account_id: 'ghost', error_code: 102404, error_msg: 'account_id not exist' }],
      },
    };
    assert.deepEqual(
      await v2(s, 'POST', '/im/v2/users/actions/online_status', { account_ids: ['u1', 'ghost', 'u2'] }),
      expected,
    );
    assert.deepEqual(
      await v2(s, 'POST', '/nimserver/im/v2/users/actions/onlineStatus', {
        account_ids: ['u1', 'ghost', 'u2'],
      }),
      expected,
    );
  });

  it('online_status errors', async () => {
    const cases: [unknown, string][] = [
      [{}, 'account_ids is empty'],
      [{ account_ids: [] }, 'account_ids is empty'],
      [{ account_ids: 'u1' }, 'bad account_ids'],
      [{ account_ids: [1] }, 'bad account_ids'],
      [{ account_ids: Array.from({ length: 101 }, (_, i) => `x${i}`) }, 'account_ids exceeds 100'],
    ];
    for (const [body, msg] of cases)
      assert.deepEqual(
        await v2(s, 'POST', '/im/v2/users/actions/online_status', body),
        { code: 414, msg },
        msg,
      );
  });
});

describe('v1 ↔ v2 round trips (one domain service)', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
  });
  after(() => s.close());

  it('an account made through v1 is readable and changeable through v2, and back', async () => {
    await s.call('/nimserver/user/create.action', {
      accid: 'Mixed',
      token: 'v1tok',
      name: 'V1',
      birth: '2001',
      gender: '1',
    });
    assert.deepEqual((await v2(s, 'GET', '/im/v2/accounts/mixed')).data.token, 'v1tok');
    assert.deepEqual((await v2(s, 'GET', '/im/v2/users/mixed')).data, {
      account_id: 'mixed',
      name: 'V1',
      birthday: '2001',
      gender: 1,
    });
    await v2(s, 'PATCH', '/im/v2/accounts/mixed', {
      configuration: { p2p_chat_banned: true, qchat_chat_banned: true, enabled: false },
      user_information: { extension: 'from v2' },
    });
    const u = (
      (await s.call('/nimserver/user/getUinfos.action', { accids: '["mixed"]', muteStatus: 'true' })) as Loose
    ).uinfos[0];
    assert.deepEqual(u, {
      accid: 'mixed',
      name: 'V1',
      birth: '2001',
      ex: 'from v2',
      gender: 1,
      valid: false,
      mute: false,
      muteP2P: true,
      muteTeam: false,
      muteRoom: false,
      muteQChat: true,
    });
  });

  it('an account made through v2 is usable through v1', async () => {
    await v2(s, 'POST', '/im/v2/accounts', {
      account_id: 'fromv2',
      token: 'v2tok',
      user_information: { name: 'V2', avatar: 'http://a', email: 'a@b.co' },
    });
    assert.deepEqual(await s.call('/nimserver/user/getUinfos.action', { accids: '["fromv2"]' }), {
      code: 200,
      uinfos: [
        {
          accid: 'fromv2',
          name: 'V2',
          icon: 'http://a',
          email: 'a@b.co',
          gender: 0,
          valid: true,
          mute: false,
        },
      ],
    });
    const r = (await s.call('/nimserver/user/refreshToken.action', { accid: 'fromv2' })) as Loose;
    assert.equal((await v2(s, 'GET', '/im/v2/accounts/fromv2')).data.token, r.info.token);
    await s.call('/nimserver/user/muteModule.action', { accid: 'fromv2', muteRoom: 'true' });
    await s.call('/nimserver/user/setDonnop.action', { accid: 'fromv2', donnopOpen: 'true' });
    assert.deepEqual((await v2(s, 'GET', '/im/v2/accounts/fromv2')).data.configuration, {
      enabled: true,
      p2p_chat_banned: false,
      team_chat_banned: false,
      chatroom_chat_banned: true,
      qchat_chat_banned: false,
      push_enabled_when_desktop_online: false,
    });
    assert.deepEqual(await s.call('/nimserver/user/create.action', { accid: 'FROMV2' }), {
      desc: 'already register',
      code: 414,
    });
  });
});
