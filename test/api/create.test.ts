/** POST /nimserver/user/create.action: every row of spec/accounts-v1.md §15 and the §0 limits. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ACCID_MAX, PROFILE_LIMITS, PROPS_MAX, TOKEN_MAX } from '../../src/accounts/rules.js';
import { startServer, type TestServer } from '../helpers/server.js';

const CREATE = '/nimserver/user/create.action';
type Body = { code: number; desc?: string; info?: { accid: string; token: string; name: string } };

describe('POST /nimserver/user/create.action', () => {
  let s: TestServer;
  let n = 0;
  const create = (params: Record<string, string>) => s.call(CREATE, params) as Promise<Body>;
  const fresh = () => `u${++n}`;
  before(async () => {
    s = await startServer();
  });
  after(() => s.close());

  it('new accid without token: 200 with a generated 32-hex token and name ""', async () => {
    const body = await create({ accid: 'abc' });
    assert.deepEqual(Object.keys(body).sort(), ['code', 'info']);
    assert.equal(body.code, 200);
    assert.deepEqual(Object.keys(body.info!).sort(), ['accid', 'name', 'token']);
    assert.equal(body.info!.accid, 'abc');
    assert.equal(body.info!.name, '');
    assert.match(body.info!.token, /^[0-9a-f]{32}$/);
  });

  it('generated tokens differ from account to account', async () => {
    const a = await create({ accid: fresh() });
    const b = await create({ accid: fresh() });
    assert.notEqual(a.info!.token, b.info!.token);
  });

  it('new accid Abc with token and name: the accid is lower-cased, token and name echoed', async () => {
    assert.deepEqual(await create({ accid: 'Xyz', token: 't', name: 'N' }), {
      code: 200,
      info: { token: 't', accid: 'xyz', name: 'N' },
    });
  });

  it('an existing accid in any case answers already register', async () => {
    for (const accid of ['abc', 'ABC', 'aBc']) {
      assert.deepEqual(await create({ accid }), { desc: 'already register', code: 414 });
    }
  });

  it('accid absent or empty answers accid is empty', async () => {
    assert.deepEqual(await create({}), { desc: 'accid is empty', code: 414 });
    assert.deepEqual(await create({ accid: '' }), { desc: 'accid is empty', code: 414 });
    assert.deepEqual(await create({ accid: '', name: 'x', gender: '9' }), {
      desc: 'accid is empty',
      code: 414,
    });
  });

  it(`accid over ${ACCID_MAX} characters or with bad characters answers 414 naming accid`, async () => {
    assert.equal((await create({ accid: 'a'.repeat(ACCID_MAX) })).code, 200);
    assert.deepEqual(await create({ accid: 'b'.repeat(ACCID_MAX + 1) }), {
      desc: 'accid too long',
      code: 414,
    });
    for (const accid of ['has space', 'ü', '张三', 'a/b', 'a#b', 'ａ', 'a+b']) {
      assert.deepEqual(await create({ accid }), { desc: 'bad accid', code: 414 }, accid);
    }
  });

  it('accepts every allowed accid character: letters, digits, _ @ . -', async () => {
    const body = await create({ accid: 'A-z_0.9@x' });
    assert.equal(body.info?.accid, 'a-z_0.9@x');
  });

  it(`token over ${TOKEN_MAX} characters answers token too long; exactly ${TOKEN_MAX} is fine`, async () => {
    assert.deepEqual(await create({ accid: fresh(), token: 't'.repeat(TOKEN_MAX + 1) }), {
      desc: 'token too long',
      code: 414,
    });
    assert.equal((await create({ accid: fresh(), token: 't'.repeat(TOKEN_MAX) })).code, 200);
  });

  for (const [field, max] of Object.entries({ ...PROFILE_LIMITS, props: PROPS_MAX })) {
    it(`${field}: ${max} characters (Chinese counted as characters) pass, ${max + 1} answer ${field} too long`, async () => {
      const fill =
        field === 'email' ? (k: number) => `${'a'.repeat(k - 6)}@x.com` : (k: number) => '张'.repeat(k);
      assert.equal((await create({ accid: fresh(), [field]: fill(max) })).code, 200);
      assert.deepEqual(await create({ accid: fresh(), [field]: fill(max + 1) }), {
        desc: `${field} too long`,
        code: 414,
      });
    });
  }

  it('gender 0, 1, 2 pass; anything else answers bad gender', async () => {
    for (const gender of ['0', '1', '2']) assert.equal((await create({ accid: fresh(), gender })).code, 200);
    for (const gender of ['3', '-1', 'x', '1.0', '01', ' 1']) {
      assert.deepEqual(await create({ accid: fresh(), gender }), { desc: 'bad gender', code: 414 }, gender);
    }
  });

  it('a NUL character in any text field answers bad <field>, on every store', async () => {
    for (const field of ['name', 'icon', 'sign', 'birth', 'mobile', 'ex', 'props', 'token']) {
      assert.deepEqual(
        await create({ accid: fresh(), [field]: 'a\u0000b' }),
        { desc: `bad ${field}`, code: 414 },
        field,
      );
    }
    // A neighbour in the same batch is not affected.
    const [bad, good] = await Promise.all([
      create({ accid: fresh(), name: '\u0000' }),
      create({ accid: fresh() }),
    ]);
    assert.equal(bad.code, 414);
    assert.equal(good.code, 200);
  });

  it('email must be an address: "<value> not email"', async () => {
    assert.deepEqual(await create({ accid: fresh(), email: 'abc' }), { desc: 'abc not email', code: 414 });
    assert.deepEqual(await create({ accid: fresh(), email: '邮件' }), { desc: '邮件 not email', code: 414 });
    for (const email of ['a@b', 'a@@b.com', '@b.com', 'a b@c.com']) {
      assert.equal((await create({ accid: fresh(), email })).code, 414, email);
    }
    for (const email of ['t1@163.com', 'first.last+tag@mail.example.co.uk']) {
      assert.equal((await create({ accid: fresh(), email })).code, 200, email);
    }
  });

  it('stores every profile field given at create', async () => {
    const accid = fresh();
    await create({
      accid,
      name: '名',
      icon: 'https://x/y.png',
      sign: 's',
      email: 'a@b.cn',
      birth: '2000-01-01',
      mobile: '+852-12345678',
      gender: '2',
      ex: '{"k":1}',
      props: '{}',
    });
    const a = await s.runtime.store.getAccount(s.appKey, accid);
    assert.equal(a?.name, '名');
    assert.equal(a?.icon, 'https://x/y.png');
    assert.equal(a?.mobile, '+852-12345678');
    assert.equal(a?.gender, 2);
    assert.equal(a?.ex, '{"k":1}');
    assert.equal(a?.props, '{}');
  });

  it('every answer is JSON with a numeric code and never a null desc', async () => {
    for (const params of [
      { accid: fresh() },
      { accid: '' },
      { accid: 'abc' },
      { accid: fresh(), gender: '7' },
    ] as Record<string, string>[]) {
      const body = (await create(params)) as Record<string, unknown>;
      assert.equal(typeof body.code, 'number');
      if ('desc' in body) assert.equal(typeof body.desc, 'string');
    }
  });

  it('the same accid may exist in two apps (multi-tenant)', async () => {
    const other = await s.runtime.apps.createApp('other');
    const { signHeaders } = await import('../../src/client/server-api.js');
    const res = await s.fetch(CREATE, {
      method: 'POST',
      headers: { ...signHeaders(other), 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'accid=abc&token=other',
    });
    assert.deepEqual(await res.json(), { code: 200, info: { token: 'other', accid: 'abc', name: '' } });
    assert.equal(await s.runtime.accounts.verifyToken(other.appKey, 'abc', 'other'), true);
    assert.equal(await s.runtime.accounts.verifyToken(s.appKey, 'abc', 'other'), false);
  });

  it('50 concurrent creates of one accid: exactly one 200 and 49 already register', async () => {
    const accid = fresh();
    const bodies = await Promise.all(Array.from({ length: 50 }, (_, i) => create({ accid, token: `t${i}` })));
    const ok = bodies.filter((b) => b.code === 200);
    assert.equal(ok.length, 1);
    assert.equal(bodies.filter((b) => b.desc === 'already register').length, 49);
    assert.equal(await s.runtime.accounts.verifyToken(s.appKey, accid, ok[0]!.info!.token), true);
  });
});

describe('create.action durability and secrecy', () => {
  it('accounts survive a restart with their tokens still verifiable, and no token is stored in plain text', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dataDir = mkdtempSync(join(tmpdir(), 'nimbase-restart-'));
    try {
      const first = await startServer({ dataDir });
      const token = 'plain-token-that-must-not-be-on-disk-0123456789';
      const created = (await first.call(CREATE, { accid: 'keeper', token })) as Body;
      const generated = (await first.call(CREATE, { accid: 'keeper2' })) as Body;
      assert.equal(created.code, 200);
      const creds = { appKey: first.appKey, appSecret: first.appSecret };
      await first.close();

      for (const file of ['nimbase.db', 'nimbase.db-wal']) {
        let bytes: Buffer;
        try {
          bytes = readFileSync(join(dataDir, file));
        } catch {
          continue;
        }
        assert.equal(bytes.includes(token), false, `${file} holds the token in plain text`);
        assert.equal(
          bytes.includes(generated.info!.token),
          false,
          `${file} holds a generated token in plain text`,
        );
        assert.equal(bytes.includes(creds.appSecret), false, `${file} holds the AppSecret in plain text`);
      }

      const second = await startServer({ dataDir });
      try {
        assert.equal(second.appKey, creds.appKey);
        assert.deepEqual(await second.call(CREATE, { accid: 'KEEPER' }), {
          desc: 'already register',
          code: 414,
        });
        assert.equal(await second.runtime.accounts.verifyToken(creds.appKey, 'keeper', token), true);
        assert.equal(
          await second.runtime.accounts.verifyToken(creds.appKey, 'keeper2', generated.info!.token),
          true,
        );
        assert.equal(await second.runtime.accounts.verifyToken(creds.appKey, 'keeper', 'wrong'), false);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('an unexpected internal error answers HTTP 200 code 500 with a request id, logged, and the server stays up', async () => {
    const lines: string[] = [];
    const s = await startServer({ logStream: { write: (l) => lines.push(l) } });
    try {
      const token = 'secret-token-never-logged-42';
      assert.equal(((await s.call(CREATE, { accid: 'before', token })) as Body).code, 200);
      // Break the store under the running server: the next create fails inside the adapter.
      await s.runtime.store.close();
      const body = (await s.call(
        CREATE,
        { accid: 'during', token },
        { headers: { RequestId: 'a'.repeat(32) } },
      )) as Body;
      assert.equal(body.code, 500);
      assert.match(body.desc ?? '', /a{32}/);
      const res = await s.fetch('/nimserver/health/liveness.action');
      assert.equal(res.status, 200, 'the server is still up');
      const logged = lines.join('');
      assert.match(logged, /"reqId":"a{32}"/);
      assert.equal(logged.includes(token), false, 'no token in the logs');
      assert.equal(logged.includes(s.appSecret), false, 'no AppSecret in the logs');
    } finally {
      await s.close().catch(() => {});
    }
  });
});
