/**
 * Hostile input on the v2 (JSON) server API, property-based (issue 6): random JSON and non-JSON
 * bodies, hostile path ids and query strings, wrong content types. Every answer is a CommsEase v2
 * body (HTTP 200, JSON, integer code, string msg on errors), never a 5xx or a crash, and a rejected
 * call leaves the stored data unchanged.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { signHeaders } from '../../src/client/server-api.js';
import { encode, FC_OPTIONS, RUNS, rawRequest, StoreWatch, send, value, wtf8 } from '../helpers/hostile.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { v2 } from '../helpers/v2.js';

/** Every v2 route (method, path with `{id}` for the account id); grow with the API. */
const ROUTES: readonly [string, string][] = [
  ['POST', '/im/v2/accounts'],
  ['POST', '/im/v2/accounts/actions/batch_create'],
  ['GET', '/im/v2/accounts'],
  ['GET', '/im/v2/accounts/{id}'],
  ['PATCH', '/im/v2/accounts/{id}'],
  ['PATCH', '/im/v2/accounts/{id}/actions/refresh_token'],
  ['PATCH', '/im/v2/accounts/{id}/actions/disable'],
  ['PATCH', '/im/v2/accounts/{id}/actions/push_config'],
  ['POST', '/im/v2/accounts/{id}/actions/kick'],
  ['PATCH', '/im/v2/users/{id}'],
  ['GET', '/im/v2/users/{id}'],
  ['GET', '/im/v2/users'],
  ['POST', '/im/v2/users/actions/online_status'],
  ['POST', '/nimserver/im/v2/accounts'],
];

/** JSON keys the v2 families read (plus a few they must ignore). */
const KEYS = [
  'account_id',
  'token',
  'name',
  'avatar',
  'sign',
  'email',
  'birthday',
  'mobile',
  'extension',
  'gender',
  'user_information',
  'configuration',
  'enabled',
  'push_enabled_when_desktop_online',
  'need_kick',
  'kick_notify_extension',
  'device_id_list',
  'accounts',
  'account_ids',
  'accids',
  'antispam_configuration',
  'business_id_map',
  'email_validation_mode',
  'type',
  '__proto__',
  'constructor',
  'unknown_key',
] as const;

const jsonScalar = fc.oneof(
  { weight: 4, arbitrary: value },
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(0, 1, 2, -1, 2 ** 53, 1e308),
);
const jsonValue = fc.oneof(
  { weight: 5, arbitrary: jsonScalar },
  fc.array(jsonScalar, { maxLength: 5 }),
  fc.dictionary(fc.constantFrom(...KEYS), jsonScalar, { maxKeys: 4 }),
  fc.array(fc.dictionary(fc.constantFrom(...KEYS), jsonScalar, { maxKeys: 4 }), { maxLength: 3 }),
);

/** Body bytes: mostly an object of known keys, else any JSON, else something that is not JSON. */
const bodyArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .array(fc.tuple(fc.constantFrom(...KEYS), jsonValue), { maxLength: 8 })
      // Built by hand so `__proto__` and repeated keys reach the server as sent.
      .map((pairs) => `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`)
      .map((s) => Buffer.from(s)),
  },
  { weight: 2, arbitrary: fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          '',
          '{',
          '{"name":',
          '[',
          '{"a":1}}',
          'null',
          '"x"',
          '\0',
          '{"name":"\\ud800"}',
          '['.repeat(5000),
        ),
        fc.string({ unit: 'binary', maxLength: 40 }),
      )
      .map(wtf8),
  },
);

const idArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('victim', 'nobody', 'VICTIM') },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_@.-]{1,36}$/) },
  { weight: 2, arbitrary: value.filter((v) => v.length > 0) },
);

const queryArb = fc
  .array(fc.tuple(fc.constantFrom(...KEYS, 'limit', 'offset', 'page'), value), { maxLength: 4 })
  .map((pairs) =>
    pairs.length === 0
      ? ''
      : `?${pairs.map(([k, v]) => `${k}=${encode(v, 'percent').toString('latin1')}`).join('&')}`,
  );

describe('hostile input on the v2 server API', () => {
  let s: TestServer;
  let port: number;
  let watch: StoreWatch;
  before(async () => {
    s = await startServer();
    port = Number(new URL(s.url).port);
    watch = new StoreWatch(join(s.dataDir, 'nimbase.db'));
    const created = await v2(s, 'POST', '/im/v2/accounts', { account_id: 'victim', token: 'victim-token' });
    assert.equal(created.code, 200, JSON.stringify(created));
  });
  after(async () => {
    watch.close();
    await s.close();
  });

  for (const [method, template] of ROUTES) {
    it(`${method} ${template}: random bodies, ids, queries and content types`, async (t) => {
      const seen = new Map<unknown, number>();
      await fc.assert(
        fc.asyncProperty(
          bodyArb,
          idArb,
          queryArb,
          fc.constantFrom(
            'application/json;charset=UTF-8',
            'application/json;charset=UTF-8',
            'application/json',
            'application/x-www-form-urlencoded',
            'text/plain',
            undefined,
          ),
          async (body, id, query, contentType) => {
            const path = template.replace('{id}', encode(id, 'percent').toString('latin1')) + query;
            const headers: [string, string][] = Object.entries(signHeaders(s));
            if (contentType !== undefined) headers.push(['Content-Type', contentType]);
            const context = `${method} ${path} ${contentType} ${JSON.stringify(body.toString('latin1').slice(0, 300))}`;
            const before = watch.version();
            const r = await send(
              port,
              rawRequest({ method, path, headers, body: method === 'GET' ? undefined : body }),
            );
            assert.equal(r.status, 200, `HTTP ${r.status} for ${context}: ${r.body}`);
            assert.match(r.headers['content-type'] ?? '', /^application\/json/, context);
            let answer: { code: unknown; msg?: unknown };
            try {
              answer = JSON.parse(r.body);
            } catch {
              assert.fail(`not JSON for ${context}: ${r.body}`);
            }
            assert.ok(Number.isInteger(answer.code), `integer code for ${context}: ${r.body}`);
            seen.set(answer.code, (seen.get(answer.code) ?? 0) + 1);
            if (answer.code !== 200) {
              assert.equal(typeof answer.msg, 'string', `string msg for ${context}: ${r.body}`);
              assert.equal(watch.version(), before, `a rejected call changed the store: ${context}`);
            }
          },
        ),
        { ...FC_OPTIONS, numRuns: Math.max(10, Math.round(RUNS / 4)) },
      );
      t.diagnostic(`codes: ${JSON.stringify(Object.fromEntries(seen))}`);
      const again = await v2(s, 'POST', '/im/v2/accounts', { account_id: 'victim' });
      assert.notEqual(again.code, 200, 'the server still answers normally (victim exists)');
      assert.equal(typeof again.msg, 'string');
    });
  }
});
