/**
 * Hostile input, property-based (issue 6): random and mutated bodies, headers and encodings against
 * every server-API endpoint. Every answer to well-formed HTTP is a CommsEase body (HTTP 200, JSON,
 * numeric code, string desc); malformed framing gets a 4xx with a CommsEase body or a closed
 * connection; never a 5xx, never a crash; a rejected call leaves the stored data unchanged.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { ACCID_MAX, ACCID_PATTERN } from '../../src/accounts/rules.js';
import { signHeaders } from '../../src/client/server-api.js';
import { type RawResponse, rawRequest, send } from '../helpers/raw-http.js';
import { startServer, type TestServer } from '../helpers/server.js';

/** Every server-API endpoint with the form fields it reads (grow this list with the API). */
const ENDPOINTS = [
  {
    path: '/nimserver/user/create.action',
    fields: ['accid', 'token', 'name', 'icon', 'sign', 'email', 'birth', 'mobile', 'ex', 'gender', 'props'],
  },
] as const;

const RUNS = Number(process.env.HOSTILE_RUNS ?? 120);
const FORM = 'application/x-www-form-urlencoded;charset=utf-8';

// ---- values a hostile client sends ----
const SPECIAL = [
  '',
  ' ',
  '0',
  '1',
  '2',
  '3',
  '-1',
  '01',
  '1.0',
  '1e0',
  '+1',
  ' 1',
  '1 ',
  '0x1',
  'NaN',
  'Infinity',
  '-0',
  '１',
  '٣',
  '9'.repeat(400),
  'e\u0301\u0301\u0301',
  '\u202Eevil\u202C',
  'שלום',
  '\u200F\u200E',
  '\0',
  'a\0b',
  '\uD800',
  'x\uDFFFy',
  '\uD83D\uDE00',
  '😀'.repeat(40),
  'a'.repeat(ACCID_MAX),
  'a'.repeat(ACCID_MAX + 1),
  'x'.repeat(129),
  'x'.repeat(1025),
  '%',
  '%zz',
  '%C3%28',
  '%ED%A0%80',
  '&',
  '=',
  '&accid=evil',
  'null',
  '[]',
  '{"a":1}',
  '<script>alert(1)</script>',
  "'; DROP TABLE accounts; --",
  'zhang@example.com',
  '邮件',
  '\r\n',
  '\t',
] as const;

const value = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SPECIAL) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 60 }) },
  { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9_@.-]{1,36}$/) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double()).map(String) },
);

/** UTF-16 → bytes, keeping lone surrogates as their 3-byte (invalid UTF-8) form. */
function wtf8(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Buffer.from(out);
}

type Style = 'percent' | 'plus' | 'raw' | 'double';
const UNRESERVED = /[A-Za-z0-9\-_.~*]/;
function encode(s: string, style: Style): Buffer {
  if (style === 'raw') return wtf8(s);
  if (style === 'double') return Buffer.from(encode(s, 'percent').toString('latin1').replaceAll('%', '%25'));
  let out = '';
  for (const b of wtf8(s)) {
    const ch = String.fromCharCode(b);
    if (b < 0x80 && UNRESERVED.test(ch)) out += ch;
    else if (style === 'plus' && ch === ' ') out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return Buffer.from(out, 'latin1');
}

const hasLoneSurrogate = (s: string) =>
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

// ---- what the store holds ----
function storeDigest(dbPath: string): string {
  const db = new Database(dbPath, { readonly: true });
  try {
    const h = createHash('sha256');
    const tables = db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .all() as { name: string }[];
    for (const { name } of tables) {
      h.update(`\0table ${name}\0`);
      for (const row of db.prepare(`SELECT * FROM "${name}" ORDER BY 1, 2`).iterate())
        h.update(
          JSON.stringify(row, (_k, v) => (v?.type === 'Buffer' ? Buffer.from(v.data).toString('hex') : v)),
        );
    }
    return h.digest('hex');
  } finally {
    db.close();
  }
}

/** A well-formed CommsEase v1 answer: HTTP 200, JSON, integer code, and desc or a success payload. */
function assertCommsEaseBody(r: RawResponse, context: string): { code: number; [k: string]: unknown } {
  assert.equal(r.status, 200, `HTTP ${r.status} for ${context}: ${r.body}`);
  assert.match(r.headers['content-type'] ?? '', /^application\/json/, context);
  const body = JSON.parse(r.body) as { code: number; desc?: unknown };
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
  const body = JSON.parse(r.body) as { code: unknown; desc: unknown };
  assert.ok(Number.isInteger(body.code) && typeof body.desc === 'string', `${context}: ${r.body}`);
  return body.code as number;
}

describe('hostile input on the server API', () => {
  let s: TestServer;
  let port: number;
  let dbPath: string;
  before(async () => {
    s = await startServer();
    port = Number(new URL(s.url).port);
    dbPath = join(s.dataDir, 'nimbase.db');
    // Something to protect: an existing account every rejected call must leave alone.
    assert.equal((await s.call(ENDPOINTS[0].path, { accid: 'victim', token: 'victim-token' })).code, 200);
  });
  after(() => s.close());

  const signed = (): [string, string][] => Object.entries(signHeaders(s));

  const healthy = async () => {
    const r = await s.call(ENDPOINTS[0].path, { accid: 'victim' });
    assert.deepEqual(r, { desc: 'already register', code: 414 }, 'the server still answers normally');
    assert.ok(await s.runtime.accounts.verifyToken(s.appKey, 'victim', 'victim-token'));
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
            const before = storeDigest(dbPath);
            const r = await send(
              port,
              rawRequest({ path: ep.path, headers: [...signed(), ['Content-Type', contentType]], body }),
            );
            const answer = assertCommsEaseBody(r, context);
            const label = `${answer.code} ${(answer as { desc?: string }).desc?.replace(/^.* not email$/, '… not email') ?? ''}`;
            seen.set(label, (seen.get(label) ?? 0) + 1);
            if (answer.code !== 200) {
              assert.equal(storeDigest(dbPath), before, `a rejected call changed the store: ${context}`);
              return;
            }
            // Faithfully encoded: an invalid accid or gender is never accepted.
            if (style === 'percent' || style === 'plus') {
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
            const info = (answer as { info?: { accid: string; token: string } }).info;
            assert.ok(info && typeof info.accid === 'string' && typeof info.token === 'string', context);
            assert.ok(await s.runtime.accounts.verifyToken(s.appKey, info.accid, info.token), context);
          },
        ),
        { numRuns: RUNS },
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
          let headers: [string, string][] = signed();
          let stillValid = true;
          for (const m of mutations) {
            const i = headers.findIndex(([k]) => k.toLowerCase() === m.header.toLowerCase());
            if (i === -1) continue;
            const [k, v] = headers[i]!;
            if (m.kind === 'case') headers[i] = [k.toUpperCase(), v];
            else {
              stillValid = false;
              if (m.kind === 'replace') headers[i] = [k, m.value];
              else if (m.kind === 'drop') headers = headers.filter((_, j) => j !== i);
              else if (m.kind === 'duplicate') headers.push([k, m.value === v ? `${v}x` : m.value]);
              else headers[i] = [k, `${v}${m.value || 'x'}`];
            }
          }
          const context = JSON.stringify(mutations);
          const before = storeDigest(dbPath);
          const r = await send(
            port,
            rawRequest({
              path: ep.path,
              headers: [...headers, ['Content-Type', FORM]],
              body: 'accid=victim',
            }),
          );
          const code = assertRejectedOrAnswered(r, context);
          // `accid=victim` exists: a valid signature gives 414 already register; anything else is an auth error.
          if (stillValid) assert.equal(code, 414, context);
          else assert.notEqual(code, 200, context);
          assert.equal(storeDigest(dbPath), before, `a rejected call changed the store: ${context}`);
        }),
        { numRuns: RUNS },
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
            const before = storeDigest(dbPath);
            const r = await send(port, req);
            const code = assertRejectedOrAnswered(r, context);
            if (code !== 200)
              assert.equal(storeDigest(dbPath), before, `a rejected call changed the store: ${context}`);
          },
        ),
        { numRuns: RUNS },
      );
      await healthy();
    });
  }
});
