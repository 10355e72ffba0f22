/**
 * Bad input anywhere is a protocol error, never a 500 or a hang: random parameters on every account
 * endpoint, v1 and v2, must answer 200 or a 4xx-range business code.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { startServer, type TestServer } from '../helpers/server.js';
import { v2 } from '../helpers/v2.js';

const V1 = [
  'update',
  'refreshToken',
  'block',
  'unblock',
  'updateUinfo',
  'getUinfos',
  'setDonnop',
  'mute',
  'muteAv',
  'muteModule',
  'userOnlineStatus',
  'setSpecialRelation',
  'listBlackAndMuteList',
  'batchCreate',
];
const PARAMS = [
  'accid',
  'accids',
  'token',
  'name',
  'email',
  'gender',
  'mute',
  'muteP2P',
  'donnopOpen',
  'needkick',
  'targetAcc',
  'relationType',
  'value',
  'accounts',
  'muteStatus',
];

const value = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    'true',
    'false',
    '1',
    '["fz"]',
    '[',
    '[1]',
    'fz',
    'FZ',
    '{"a":1}',
    'null',
    '[{"accid":"q"}]',
  ),
);
const okCode = (code: unknown) => code === 200 || code === 414 || code === 102404 || code === 102405;

describe('account endpoints under random input', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
    await s.call('/nimserver/user/create.action', { accid: 'fz' });
  });
  after(() => s.close());

  /** Every account of the app and fz's relations, as stored (sealed tokens compared as bytes). */
  const snapshot = async () => ({
    accounts: (await s.runtime.store.listAccountsPage(s.appKey, undefined, 10_000)).map((a) => ({
      ...a,
      tokenSealed: Buffer.from(a.tokenSealed).toString('hex'),
    })),
    relations: await s.runtime.store.listRelations(s.appKey, 'fz'),
  });

  it('v1: every answer is 200 or 414', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...V1),
        fc.dictionary(fc.constantFrom(...PARAMS), value, { maxKeys: 5 }),
        async (name, params) => {
          const before = await snapshot();
          const r = await s.call(`/nimserver/user/${name}.action`, params);
          assert.ok(okCode(r.code), `${name} ${JSON.stringify(params)} → ${JSON.stringify(r)}`);
          if (r.code !== 200) assert.deepEqual(await snapshot(), before, 'a rejected call changed nothing');
        },
      ),
      { numRuns: 120 },
    );
  });

  it('v2: every answer is 200, 414 or an account code', async () => {
    const json = fc.jsonValue({ maxDepth: 3 });
    const routes: [string, string][] = [
      ['POST', '/im/v2/accounts'],
      ['PATCH', '/im/v2/accounts/fz'],
      ['PATCH', '/im/v2/accounts/fz/actions/disable'],
      ['PATCH', '/im/v2/accounts/fz/actions/push_config'],
      ['POST', '/im/v2/accounts/fz/actions/kick'],
      ['POST', '/im/v2/accounts/actions/batch_create'],
      ['PATCH', '/im/v2/users/fz'],
      ['POST', '/im/v2/users/actions/online_status'],
    ];
    const fields = fc.dictionary(
      fc.constantFrom(
        'account_id',
        'token',
        'configuration',
        'user_information',
        'enabled',
        'need_kick',
        'type',
        'device_id_list',
        'accounts',
        'account_ids',
        'name',
        'avatar',
        'gender',
        'email_validation_mode',
        'push_enabled_when_desktop_online',
      ),
      json,
      { maxKeys: 4 },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.oneof(fields, json), async ([method, path], body) => {
        const before = await snapshot();
        const r = await v2(s, method, path, body);
        assert.ok(okCode(r.code), `${method} ${path} ${JSON.stringify(body)} → ${JSON.stringify(r)}`);
        if (r.code !== 200) assert.deepEqual(await snapshot(), before, 'a rejected call changed nothing');
      }),
      { numRuns: 120 },
    );
  });
});
