/** The v2 account family /im/v2/accounts (accounts-v2.md §1), under both bases. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.js';
import { type Loose, recordEvents, settle, v2 } from '../helpers/v2.js';

const DEFAULT_CONFIGURATION = {
  enabled: true,
  p2p_chat_banned: false,
  team_chat_banned: false,
  chatroom_chat_banned: false,
  qchat_chat_banned: false,
  push_enabled_when_desktop_online: true,
};

describe('v2 /im/v2/accounts', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
  });
  after(() => s.close());

  it('A1 create echoes account_id (lower-cased), token, configuration, user_information', async () => {
    const r = await v2(s, 'POST', '/im/v2/accounts', {
      account_id: 'ZhangSan',
      token: 'tk',
      user_information: {
        name: '张三',
        avatar: 'http://a',
        birthday: '2000-01-01',
        extension: '{}',
        gender: 1,
      },
      configuration: { p2p_chat_banned: true },
    });
    assert.deepEqual(r, {
      code: 200,
      msg: 'success',
      data: {
        account_id: 'zhangsan',
        token: 'tk',
        configuration: { ...DEFAULT_CONFIGURATION, p2p_chat_banned: true },
        user_information: {
          name: '张三',
          avatar: 'http://a',
          birthday: '2000-01-01',
          extension: '{}',
          gender: 1,
        },
      },
    });
  });

  it('A1 under /nimserver/im/v2 too, generating a token', async () => {
    const r = await v2(s, 'POST', '/nimserver/im/v2/accounts', { account_id: 'lisi' });
    assert.equal(r.code, 200);
    assert.match(r.data.token, /^[0-9a-f]{32}$/);
    assert.deepEqual(r.data.user_information, { gender: 0 });
    assert.deepEqual(r.data.configuration, DEFAULT_CONFIGURATION);
  });

  it('A1 create with enabled=false makes a banned account', async () => {
    const r = await v2(s, 'POST', '/im/v2/accounts', {
      account_id: 'banned0',
      configuration: { enabled: false },
    });
    assert.equal(r.data.configuration.enabled, false);
    const u = (await s.call('/nimserver/user/getUinfos.action', { accids: '["banned0"]' })) as Loose;
    assert.equal(u.uinfos[0].valid, false);
  });

  it('A1 errors name the v2 fields', async () => {
    const cases: [unknown, number, string][] = [
      [{}, 414, 'account_id is empty'],
      [{ account_id: '' }, 414, 'account_id is empty'],
      [{ account_id: 5 }, 414, 'bad account_id'],
      [{ account_id: 'a'.repeat(33) }, 414, 'account_id too long'],
      [{ account_id: 'a b' }, 414, 'bad account_id'],
      [{ account_id: 'zhangsan' }, 102405, 'account_id already exists'],
      [{ account_id: 'ZHANGSAN' }, 102405, 'account_id already exists'],
      [{ account_id: 'n1', token: 't'.repeat(129) }, 414, 'token too long'],
      [{ account_id: 'n1', token: 7 }, 414, 'bad token'],
      [{ account_id: 'n1', user_information: 'x' }, 414, 'bad user_information'],
      [{ account_id: 'n1', user_information: { avatar: 'x'.repeat(1025) } }, 414, 'avatar too long'],
      [{ account_id: 'n1', user_information: { birthday: 'x'.repeat(17) } }, 414, 'birthday too long'],
      [{ account_id: 'n1', user_information: { extension: 'x'.repeat(1025) } }, 414, 'extension too long'],
      [{ account_id: 'n1', user_information: { name: 'x'.repeat(65) } }, 414, 'name too long'],
      [{ account_id: 'n1', user_information: { gender: 3 } }, 414, 'bad gender'],
      [{ account_id: 'n1', user_information: { gender: '1' } }, 414, 'bad gender'],
      [{ account_id: 'n1', user_information: { email: 'nope' } }, 414, 'nope not email'],
      [
        { account_id: 'n1', user_information: { email_validation_mode: 9 } },
        414,
        'bad email_validation_mode',
      ],
      [{ account_id: 'n1', configuration: { enabled: 'no' } }, 414, 'bad enabled'],
      [{ account_id: 'n1', configuration: [] }, 414, 'bad configuration'],
      [{ account_id: 'n1', antispam_configuration: 1 }, 414, 'bad antispam_configuration'],
    ];
    for (const [body, code, msg] of cases)
      assert.deepEqual(await v2(s, 'POST', '/im/v2/accounts', body), { code, msg }, msg);
    const none = (await s.call('/nimserver/user/getUinfos.action', { accids: '["n1"]' })) as Loose;
    assert.deepEqual(none.uinfos, [], 'nothing was stored');
  });

  it('A1 email_validation_mode 1 and 2 relax the email check', async () => {
    const r1 = await v2(s, 'POST', '/im/v2/accounts', {
      account_id: 'mail1',
      user_information: { email: 'josé@exämple.com', email_validation_mode: 1 },
    });
    assert.equal(r1.code, 200);
    const r2 = await v2(s, 'POST', '/im/v2/accounts', {
      account_id: 'mail2',
      user_information: { email: 'anything', email_validation_mode: 2 },
    });
    assert.equal(r2.data.user_information.email, 'anything');
  });

  it('malformed JSON, a non-object body and a form body are 414 in the v2 envelope', async () => {
    assert.deepEqual(await v2(s, 'POST', '/im/v2/accounts', undefined, { raw: '{"account_id":' }), {
      code: 414,
      msg: 'bad JSON body',
    });
    assert.deepEqual(await v2(s, 'POST', '/im/v2/accounts', undefined, { raw: '["a"]' }), {
      code: 414,
      msg: 'bad JSON body: not an object',
    });
    const r = await v2(s, 'POST', '/im/v2/accounts', undefined, {
      raw: 'account_id=x',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(r.code, 414);
  });

  it('A6 get one: account_id, token, configuration; unknown → account_id not exist', async () => {
    assert.deepEqual(await v2(s, 'GET', '/im/v2/accounts/zhangsan'), {
      code: 200,
      msg: 'success',
      data: {
        account_id: 'zhangsan',
        token: 'tk',
        configuration: { ...DEFAULT_CONFIGURATION, p2p_chat_banned: true },
      },
    });
    assert.deepEqual(await v2(s, 'GET', '/im/v2/accounts/nobody'), {
      code: 102404,
      msg: 'account_id not exist',
    });
    assert.deepEqual(await v2(s, 'GET', '/im/v2/accounts/ZhangSan'), {
      code: 102404,
      msg: 'account_id not exist',
    });
    assert.deepEqual(await v2(s, 'GET', `/im/v2/accounts/${'a'.repeat(33)}`), {
      code: 414,
      msg: 'account_id too long',
    });
  });

  it('A7 get many: success_list and failed_list', async () => {
    assert.deepEqual(await v2(s, 'GET', '/im/v2/accounts?account_ids=lisi,nobody,zhangsan'), {
      code: 200,
      msg: 'success',
      data: {
        success_list: [
          { account_id: 'lisi', configuration: DEFAULT_CONFIGURATION },
          { account_id: 'zhangsan', configuration: { ...DEFAULT_CONFIGURATION, p2p_chat_banned: true } },
        ],
        failed_list: [{ account_id: 'nobody', error_code: 102404, error_msg: 'account_id not exist' }],
      },
    });
    assert.deepEqual(await v2(s, 'GET', '/im/v2/accounts'), { code: 414, msg: 'account_ids is empty' });
    const many = Array.from({ length: 101 }, (_, i) => `a${i}`).join(',');
    assert.deepEqual(await v2(s, 'GET', `/im/v2/accounts?account_ids=${many}`), {
      code: 414,
      msg: 'account_ids exceeds 100',
    });
    assert.deepEqual(await v2(s, 'GET', '/im/v2/accounts?account_ids=a,,b'), {
      code: 414,
      msg: 'bad account_ids',
    });
  });

  it('A2 update: token, configuration, profile in one call; events', async () => {
    const rec = await recordEvents(s);
    const r = await v2(s, 'PATCH', '/im/v2/accounts/lisi', {
      token: 'lisi-2',
      configuration: { team_chat_banned: true, push_enabled_when_desktop_online: false },
      user_information: { name: 'Li Si', avatar: '' },
      need_kick: true,
      kick_notify_extension: 'moved',
    });
    assert.deepEqual(r, {
      code: 200,
      msg: 'success',
      data: {
        account_id: 'lisi',
        token: 'lisi-2',
        configuration: {
          ...DEFAULT_CONFIGURATION,
          team_chat_banned: true,
          push_enabled_when_desktop_online: false,
        },
      },
    });
    assert.equal(await s.runtime.accounts.verifyToken(s.appKey, 'lisi', 'lisi-2'), true);
    await settle();
    rec.stop();
    assert.deepEqual(
      rec.events.map((e) => e.type),
      ['tokenChanged', 'muteChanged', 'kick'],
    );
    assert.deepEqual(rec.events[2], {
      type: 'kick',
      appKey: s.appKey,
      accid: 'lisi',
      mode: 1,
      kickNotifyExt: 'moved',
    });
    const u = (await v2(s, 'GET', '/im/v2/users/lisi')).data;
    assert.equal(u.name, 'Li Si');
  });

  it('A2 errors', async () => {
    assert.deepEqual(await v2(s, 'PATCH', '/im/v2/accounts/nobody', { token: 'x' }), {
      code: 102404,
      msg: 'account_id not exist',
    });
    assert.deepEqual(await v2(s, 'PATCH', '/im/v2/accounts/lisi', { need_kick: 'yes' }), {
      code: 414,
      msg: 'bad need_kick',
    });
    assert.deepEqual(
      await v2(s, 'PATCH', '/im/v2/accounts/lisi', { kick_notify_extension: 'x'.repeat(257) }),
      {
        code: 414,
        msg: 'kick_notify_extension too long',
      },
    );
    assert.deepEqual(
      await v2(s, 'PATCH', '/im/v2/accounts/lisi', { user_information: { mobile: 'x'.repeat(33) } }),
      {
        code: 414,
        msg: 'mobile too long',
      },
    );
  });

  it('A3 refresh_token: empty body, new token', async () => {
    const r = await v2(s, 'PATCH', '/im/v2/accounts/lisi/actions/refresh_token');
    assert.equal(r.code, 200);
    assert.deepEqual(Object.keys(r.data).sort(), ['account_id', 'token']);
    assert.match(r.data.token, /^[0-9a-f]{32}$/);
    assert.equal(await s.runtime.accounts.verifyToken(s.appKey, 'lisi', r.data.token), true);
    const again = await v2(s, 'PATCH', '/im/v2/accounts/lisi/actions/refresh_token', {});
    assert.equal(again.code, 200);
    assert.deepEqual(await v2(s, 'PATCH', '/im/v2/accounts/nobody/actions/refresh_token'), {
      code: 102404,
      msg: 'account_id not exist',
    });
  });

  it('A4 disable / enable with kick', async () => {
    const rec = await recordEvents(s);
    const r = await v2(s, 'PATCH', '/im/v2/accounts/lisi/actions/disable', {
      enabled: false,
      need_kick: true,
      kick_notify_extension: 'ban',
    });
    assert.equal(r.code, 200);
    assert.equal(r.data.account_id, 'lisi');
    assert.equal(r.data.enabled, false);
    assert.equal(r.data.configuration.enabled, false);
    const back = await v2(s, 'PATCH', '/nimserver/im/v2/accounts/lisi/actions/disable', { enabled: true });
    assert.equal(back.data.enabled, true);
    await settle();
    rec.stop();
    assert.deepEqual(rec.events, [
      { type: 'blocked', appKey: s.appKey, accid: 'lisi', kick: true, kickNotifyExt: 'ban' },
      { type: 'unblocked', appKey: s.appKey, accid: 'lisi' },
    ]);
    assert.deepEqual(await v2(s, 'PATCH', '/im/v2/accounts/lisi/actions/disable', {}), {
      code: 414,
      msg: 'enabled is empty',
    });
    assert.deepEqual(await v2(s, 'PATCH', '/im/v2/accounts/lisi/actions/disable', { enabled: 0 }), {
      code: 414,
      msg: 'bad enabled',
    });
  });

  it('A5 push_config', async () => {
    assert.deepEqual(
      await v2(s, 'PATCH', '/im/v2/accounts/lisi/actions/push_config', {
        push_enabled_when_desktop_online: false,
      }),
      { code: 200, msg: 'success', data: { account_id: 'lisi', push_enabled_when_desktop_online: false } },
    );
    assert.deepEqual(await v2(s, 'PATCH', '/im/v2/accounts/lisi/actions/push_config', {}), {
      code: 414,
      msg: 'push_enabled_when_desktop_online is empty',
    });
  });

  it('A8 kick publishes a kick event and answers from presence', async () => {
    const rec = await recordEvents(s);
    assert.deepEqual(await v2(s, 'POST', '/im/v2/accounts/lisi/actions/kick', { type: 1 }), {
      code: 200,
      msg: 'success',
      data: { success_list: [], failed_list: [] },
    });
    s.runtime.accounts.usePresence({
      sessionsOf: async () =>
        new Map([
          [
            'lisi',
            [
              { clientType: 1, loginTime: 1, deviceId: 'phone', consid: 'c1' },
              { clientType: 16, loginTime: 2, deviceId: 'web', consid: 'c2' },
            ],
          ],
        ]),
    });
    try {
      const r = await v2(s, 'POST', '/im/v2/accounts/lisi/actions/kick', {
        type: 2,
        device_id_list: ['web', 'tablet'],
        kick_notify_extension: 'x',
      });
      assert.deepEqual(r.data, {
        success_list: [{ device_id: 'web', client_type: 16, consid: 'c2', login_time: 2 }],
        failed_list: [{ device_id: 'tablet', error_code: 404, error_msg: 'device_id not online' }],
      });
      const r3 = await v2(s, 'POST', '/im/v2/accounts/lisi/actions/kick', {
        type: 3,
        device_id_list: ['web'],
      });
      assert.deepEqual(
        r3.data.success_list.map((x: Loose) => x.device_id),
        ['phone'],
      );
    } finally {
      s.runtime.accounts.usePresence({ sessionsOf: async () => new Map() });
    }
    await settle();
    rec.stop();
    assert.deepEqual(rec.events[0], { type: 'kick', appKey: s.appKey, accid: 'lisi', mode: 1 });
    assert.deepEqual(rec.events[1], {
      type: 'kick',
      appKey: s.appKey,
      accid: 'lisi',
      mode: 2,
      deviceIds: ['web', 'tablet'],
      kickNotifyExt: 'x',
    });
  });

  it('A8 errors', async () => {
    const cases: [unknown, number, string][] = [
      [{}, 414, 'type is empty'],
      [{ type: 4 }, 414, 'bad type'],
      [{ type: '1' }, 414, 'bad type'],
      [{ type: 2 }, 414, 'device_id_list is empty'],
      [{ type: 2, device_id_list: 'web' }, 414, 'bad device_id_list'],
      [{ type: 2, device_id_list: [1] }, 414, 'bad device_id_list'],
      [
        { type: 2, device_id_list: Array.from({ length: 21 }, (_, i) => `d${i}`) },
        414,
        'device_id_list exceeds 20',
      ],
      [{ type: 1, kick_notify_extension: 'x'.repeat(257) }, 414, 'kick_notify_extension too long'],
    ];
    for (const [body, code, msg] of cases)
      assert.deepEqual(await v2(s, 'POST', '/im/v2/accounts/lisi/actions/kick', body), { code, msg }, msg);
    assert.deepEqual(await v2(s, 'POST', '/im/v2/accounts/nobody/actions/kick', { type: 1 }), {
      code: 102404,
      msg: 'account_id not exist',
    });
  });

  it("another app sees none of this app's accounts", async () => {
    const other = await s.runtime.apps.createApp('other');
    assert.deepEqual(await v2(s, 'GET', '/im/v2/accounts/zhangsan', undefined, { creds: other }), {
      code: 102404,
      msg: 'account_id not exist',
    });
    const r = await v2(s, 'POST', '/im/v2/accounts', { account_id: 'zhangsan' }, { creds: other });
    assert.equal(r.code, 200, 'the same accid is free in another app');
  });

  it('v2 calls are signed: a bad CheckSum is refused in the v2 envelope', async () => {
    const res = await s.fetch('/im/v2/accounts/zhangsan', {
      headers: {
        AppKey: s.appKey,
        Nonce: '1',
        CurTime: String(Math.floor(Date.now() / 1000)),
        CheckSum: 'f'.repeat(40),
      },
    });
    assert.deepEqual(await res.json(), { code: 414, msg: 'checksum' });
  });
});

describe('v2 A2 disabling with need_kick', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
    await v2(s, 'POST', '/im/v2/accounts', { account_id: 'dk' });
  });
  after(() => s.close());

  it('is one blocked event carrying the kick', async () => {
    const rec = await recordEvents(s);
    const r = await v2(s, 'PATCH', '/im/v2/accounts/dk', {
      configuration: { enabled: false },
      need_kick: true,
      kick_notify_extension: 'off',
    });
    assert.equal(r.data.configuration.enabled, false);
    await settle();
    rec.stop();
    assert.deepEqual(rec.events, [
      { type: 'blocked', appKey: s.appKey, accid: 'dk', kick: true, kickNotifyExt: 'off' },
    ]);
  });
});
