/**
 * Hostile input, property-based (issue 6): random and mutated bodies, headers and encodings against
 * every server-API endpoint. Every answer to well-formed HTTP is a CommsEase body (HTTP 200, JSON,
 * numeric code, string desc); malformed framing gets a 4xx with a CommsEase body or a closed
 * connection; never a 5xx, never a crash; a rejected call leaves the stored data unchanged.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ACCID_MAX, ACCID_PATTERN } from '../../src/accounts/rules.js';
import { signHeaders } from '../../src/client/server-api.js';
import {
  encode,
  FC_OPTIONS,
  hasLoneSurrogate,
  type RawResponse,
  RUNS,
  rawRequest,
  SPECIAL,
  StoreWatch,
  type Style,
  send,
  value,
} from '../helpers/hostile.js';
import { startServer, type TestServer } from '../helpers/server.js';

/** Every v1 form field the server reads, offered to every endpoint (unknown ones must be ignored). */
const V1_FIELDS = [
  'accid',
  'accids',
  'accounts',
  'token',
  'name',
  'icon',
  'sign',
  'email',
  'birth',
  'mobile',
  'ex',
  'gender',
  'props',
  'muteStatus',
  'mute',
  'muteP2P',
  'muteTeam',
  'muteRoom',
  'muteQChat',
  'donnopOpen',
  'needkick',
  'kickNotifyExt',
  'needUnbindPushToken',
  'relationType',
  'targetAcc',
  'value',
  // msg/sendMsg.action
  'from',
  'ope',
  'to',
  'type',
  'body',
  'option',
  'pushcontent',
  'pushContent',
  'payload',
  'ext',
] as const;

/** Every v1 server-API endpoint (grow this list with the API; v2 JSON: server-api-v2.test.ts). */
const ENDPOINTS = [
  'create',
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
]
  .map((name) => `/nimserver/user/${name}.action`)
  .concat('/nimserver/msg/sendMsg.action')
  .map((path) => ({ path, fields: V1_FIELDS }));
const CREATE = '/nimserver/user/create.action';

// create.action gets the most runs; every other endpoint a smaller share (CI budget: < 60 s in all).
const runsFor = (path: string) => (path === CREATE ? RUNS : Math.max(10, Math.round(RUNS / 4)));
const FORM = 'application/x-www-form-urlencoded;charset=utf-8';

/** A well-formed CommsEase v1 answer: HTTP 200, JSON, integer code, and desc or a success payload. */
function assertCommsEaseBody(r: RawResponse, context: string): { code: number; [k: string]: unknown } {
  assert.equal(r.status, 200, `HTTP ${r.status} for ${context}: ${r.body}`);
  assert.match(r.headers['content-type'] ?? '', /^application\/json/, context);
  let body: { code: number; desc?: unknown };
  try {
    body = JSON.parse(r.body);
  } catch {
    assert.fail(`HTTP 200 without a JSON body (${context}): ${JSON.stringify(r)}`);
  }
  assert.ok(Number.isInteger(body.code), `numeric code for ${context}: ${r.body}`);
  if (body.code !== 200) {
    assert.equal(typeof body.desc, 'string', `string desc for ${context}: ${r.body}`);
    assert.deepEqual(Object.keys(body).sort(), ['code', 'desc'], context);
  }
  return body;
}

/** Parser-level rejection: a 4xx with a CommsEase body, or the connection closed without an answer. */
function assertRejectedOrAnswered(r: RawResponse, context: string): number | undefined {
  if (r.status === 0) return undefined;
  assert.ok(r.status < 500, `never a 5xx (${context}): ${r.status} ${r.body}`);
  if (r.status === 200) return assertCommsEaseBody(r, context).code;
  let body: { code: unknown; desc: unknown };
  try {
    body = JSON.parse(r.body);
  } catch {
    assert.fail(`HTTP ${r.status} without a JSON body (${context}): ${JSON.stringify(r)}`);
  }
  assert.ok(Number.isInteger(body.code) && typeof body.desc === 'string', `${context}: ${r.body}`);
  return body.code as number;
}

describe('hostile input on the server API', () => {
  let s: TestServer;
  let port: number;
  let watch: StoreWatch;
  before(async () => {
    s = await startServer();
    port = Number(new URL(s.url).port);
    watch = new StoreWatch(join(s.dataDir, 'nimbase.db'));
    // Something to protect: an existing account every rejected call must leave alone. And proof
    // that the watch sees the server's commits (and not its rejections).
    const [v0, d0] = [watch.version(), watch.digest()];
    assert.equal((await s.call(CREATE, { accid: 'victim', token: 'victim-token' })).code, 200);
    const [v1, d1] = [watch.version(), watch.digest()];
    assert.notEqual(v1, v0);
    assert.notEqual(d1, d0);
    assert.equal((await s.call(CREATE, { accid: 'victim', name: 'changed?' })).code, 414);
    assert.equal(watch.version(), v1);
    assert.equal(watch.digest(), d1);
  });
  after(async () => {
    watch.close();
    await s.close();
  });

  const signed = (): [string, string][] => Object.entries(signHeaders(s));

  /** Every write queued before this call has committed (the write queue is first in, first out). */
  const settled = async () => {
    assert.equal((await s.call(CREATE, { accid: 'victim' })).code, 414);
  };

  const healthy = async () => {
    const r = await s.call(CREATE, { accid: 'victim' });
    assert.deepEqual(r, { desc: 'already register', code: 414 }, 'the server still answers normally');
  };

  for (const ep of ENDPOINTS) {
    it(`${ep.path}: random parameters, values and encodings`, async (t) => {
      const seen = new Map<string, number>();
      const param = fc.tuple(
        fc.oneof(
          { weight: 5, arbitrary: fc.constantFrom(...ep.fields) },
          fc.constantFrom('ACCID', 'x', '', 'accid[]'),
        ),
        value,
      );
      await fc.assert(
        fc.asyncProperty(
          // Mostly lead with an accid (valid-looking or not) so the other fields get checked too.
          fc
            .tuple(
              fc.option(
                fc
                  .oneof(fc.stringMatching(/^[A-Za-z0-9_@.-]{1,32}$/), value)
                  .map((v): [string, string] => ['accid', v]),
                { freq: 5 },
              ),
              fc.array(param, { maxLength: 14 }),
            )
            .map(([lead, rest]) => (lead ? [lead, ...rest] : rest)),
          fc.constantFrom<Style>('percent', 'percent', 'plus', 'raw', 'double'),
          fc.constantFrom(
            FORM,
            'application/x-www-form-urlencoded',
            'application/x-www-form-urlencoded;charset=gbk',
          ),
          async (params, style, contentType) => {
            const body = Buffer.concat(
              params.flatMap(([k, v], i) => [
                Buffer.from(i === 0 ? '' : '&'),
                encode(k, style),
                Buffer.from('='),
                encode(v, style),
              ]),
            );
            const context = `${style} ${JSON.stringify(params)}`;
            const before = watch.version();
            const r = await send(
              port,
              rawRequest({ path: ep.path, headers: [...signed(), ['Content-Type', contentType]], body }),
            );
            const answer = assertCommsEaseBody(r, context);
            const label = `${answer.code} ${(answer as { desc?: string }).desc?.replace(/^.* not email$/, '… not email') ?? ''}`;
            seen.set(label, (seen.get(label) ?? 0) + 1);
            if (answer.code !== 200) {
              assert.equal(watch.version(), before, `a rejected call changed the store: ${context}`);
              return;
            }
            // Faithfully encoded: an invalid accid or gender is never accepted.
            if (ep.path === CREATE && (style === 'percent' || style === 'plus')) {
              const first = (name: string) => params.find(([k, v]) => k === name && v !== '')?.[1];
              const accid = first('accid');
              const gender = first('gender');
              if (accid !== undefined && !hasLoneSurrogate(accid))
                assert.ok(
                  accid.length <= ACCID_MAX && ACCID_PATTERN.test(accid),
                  `accepted accid ${context}`,
                );
              if (gender !== undefined && !hasLoneSurrogate(gender))
                assert.ok(['0', '1', '2'].includes(gender), `accepted gender ${context}`);
            }
            if (ep.path === CREATE) {
              const info = (answer as { info?: { accid: string; token: string } }).info;
              assert.ok(info && typeof info.accid === 'string' && typeof info.token === 'string', context);
              assert.ok(await s.runtime.accounts.verifyToken(s.appKey, info.accid, info.token), context);
            }
          },
        ),
        { ...FC_OPTIONS, numRuns: runsFor(ep.path) },
      );
      t.diagnostic(`answers: ${JSON.stringify(Object.fromEntries(seen))}`);
      await healthy();
    });

    it(`${ep.path}: hostile auth headers`, async () => {
      const headerValue = fc.oneof(
        fc.constantFrom(...SPECIAL.filter((v) => !/[\r\n\0]/.test(v) && !hasLoneSurrogate(v))),
        fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((v) => v.replace(/[\r\n\0]/g, '')),
        fc
          .uint8Array({ maxLength: 50 })
          .map((a) => Buffer.from(a.filter((b) => b !== 13 && b !== 10 && b !== 0)).toString('latin1')),
      );
      const mutation = fc.record({
        header: fc.constantFrom('AppKey', 'Nonce', 'CurTime', 'CheckSum'),
        kind: fc.constantFrom('replace', 'drop', 'duplicate', 'append', 'case'),
        value: headerValue,
      });
      await fc.assert(
        fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
          const original = signed();
          let headers: [string, string][] = [...original];
          for (const m of mutations) {
            const i = headers.findIndex(([k]) => k.toLowerCase() === m.header.toLowerCase());
            if (i === -1) continue;
            const [k, v] = headers[i]!;
            if (m.kind === 'case') headers[i] = [k.toUpperCase(), v];
            else if (m.kind === 'replace') headers[i] = [k, m.value];
            else if (m.kind === 'drop') headers = headers.filter((_, j) => j !== i);
            else if (m.kind === 'duplicate') headers.push([k, m.value]);
            else headers[i] = [k, `${v}${m.value || 'x'}`];
          }
          // Still validly signed when each auth header appears once with its value (HTTP trims the
          // surrounding spaces and tabs, and header names are case-insensitive).
          const stillValid = original.every(
            ([k, v]) =>
              headers.filter(([k2, v2]) => k2.toLowerCase() === k.toLowerCase() && v2.trim() === v).length ===
                1 && headers.filter(([k2]) => k2.toLowerCase() === k.toLowerCase()).length === 1,
          );
          const context = JSON.stringify(mutations);
          const before = watch.version();
          const r = await send(
            port,
            rawRequest({
              path: ep.path,
              headers: [...headers, ['Content-Type', FORM]],
              body: 'accid=victim',
            }),
          );
          const code = assertRejectedOrAnswered(r, context);
          // On create, `accid=victim` exists: a valid signature gives 414 already register; any
          // broken signature is an auth error on every endpoint.
          if (!stillValid) assert.notEqual(code, 200, context);
          else if (ep.path === CREATE) assert.equal(code, 414, context);
          if (code !== 200)
            assert.equal(watch.version(), before, `a rejected call changed the store: ${context}`);
        }),
        { ...FC_OPTIONS, numRuns: runsFor(ep.path) },
      );
      await healthy();
    });

    it(`${ep.path}: mutated request bytes`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              at: fc.nat(),
              op: fc.constantFrom('set', 'delete', 'insert'),
              bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
            }),
            { minLength: 1, maxLength: 6 },
          ),
          async (edits) => {
            let req = rawRequest({
              path: ep.path,
              headers: [...signed(), ['Content-Type', FORM]],
              body: 'accid=victim&name=%E5%BC%A0%E4%B8%89&gender=1',
            });
            for (const e of edits) {
              const at = e.at % req.length;
              const b = Buffer.from(e.bytes);
              if (e.op === 'set') req = Buffer.concat([req.subarray(0, at), b, req.subarray(at + b.length)]);
              else if (e.op === 'delete')
                req = Buffer.concat([req.subarray(0, at), req.subarray(at + b.length)]);
              else req = Buffer.concat([req.subarray(0, at), b, req.subarray(at)]);
            }
            const context = JSON.stringify(req.toString('latin1'));
            // A mutation can leave a whole request followed by garbage: the garbage's answer (or the
            // close) then reaches us first, and that request may still be committing when the next
            // run starts. Wait for what earlier runs sent: a duplicate create goes through the same
            // first-in-first-out write queue and changes nothing.
            await settled();
            const before = watch.version();
            const r = await send(port, req);
            const code = assertRejectedOrAnswered(r, context);
            // Only an answered rejection proves nothing was applied: when the mutation leaves a whole
            // request followed by garbage, the garbage's 4xx (or the close) can overtake that request's
            // answer, which is lost as with any dropped connection although the request was applied.
            if (r.status === 200 && code !== 200)
              assert.equal(watch.version(), before, `a rejected call changed the store: ${context}`);
          },
        ),
        { ...FC_OPTIONS, numRuns: runsFor(ep.path) },
      );
      await healthy();
    });
  }
});
