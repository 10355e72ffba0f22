/**
 * The store contract: the same cases on every adapter (DESIGN.md: "every store adapter passes the
 * same contract test suite"). SQLite always runs; PostgreSQL runs on a fresh database
 * (nimbase_test_<pid>_<random>, dropped at the end) when reachable, is skipped with a visible reason
 * otherwise, and fails when CI=true. Each case works in its own app so cases share one database.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SecretVault, tokenOwner } from '../../src/security/vault.js';
import type { AccountRecord, AppRecord, NewAccountRecord, Store } from '../../src/store/port.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { newAccount } from '../helpers/accounts.js';
import { createTestDatabase, pgSkip } from '../helpers/pg.js';

interface Adapter {
  name: string;
  skip: string | false;
  /** Opens a new store on the adapter's shared database (a second handle, as another node would). */
  setup(): Promise<{ open(): Promise<Store>; teardown(): Promise<void> }>;
}

const ADAPTERS: Adapter[] = [
  {
    name: 'sqlite',
    skip: false,
    async setup() {
      const dir = mkdtempSync(join(tmpdir(), 'nimbase-contract-'));
      const path = join(dir, 'nimbase.db');
      return {
        async open() {
          const s = new SqliteStore({ path });
          s.useSealingKey(KEY);
          await s.migrate();
          return s;
        },
        async teardown() {
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    skip: await pgSkip(),
    async setup() {
      const db = await createTestDatabase();
      return {
        async open() {
          const s = new PostgresStore({ url: db.url, maxConnections: 4 });
          s.useSealingKey(KEY);
          await s.migrate();
          return s;
        },
        teardown: () => db.drop(),
      };
    },
  },
];

const token = () => new Uint8Array(randomBytes(40));
/** Every store of the suite seals new accounts' tokens with this key. */
const KEY = randomBytes(32);
const vault = new SecretVault(KEY);

function app(appKey: string, over: Partial<AppRecord> = {}): AppRecord {
  return { appKey, name: `app ${appKey}`, secretSealed: token(), createdAt: 1_700_000_000_000, ...over };
}

const account = newAccount;

/** The stored row equals the inserted account, and its sealed token opens to the inserted token. */
function assertStored(got: AccountRecord | undefined, want: NewAccountRecord): void {
  assert.ok(got, `${want.accid} is stored`);
  const { tokenSealed, ...rest } = got;
  const { token: plainToken, ...wantRest } = want;
  assert.deepEqual(plain(rest), plain(wantRest));
  assert.ok(!Buffer.from(tokenSealed).includes(plainToken), 'the token is not stored in the clear');
  assert.equal(vault.open(tokenSealed, tokenOwner(want.appKey, want.accid)), plainToken);
}

/** Compares records with byte arrays as plain arrays (Buffer vs Uint8Array). */
function plain<T extends object>(r: T | undefined): unknown {
  if (r === undefined) return undefined;
  return Object.fromEntries(
    Object.entries(r)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, v instanceof Uint8Array ? [...v] : v]),
  );
}

for (const adapter of ADAPTERS) {
  describe(`Store contract on ${adapter.name}`, { skip: adapter.skip }, () => {
    let env: Awaited<ReturnType<Adapter['setup']>>;
    let store: Store;
    let n = 0;
    /** A new app for one case, so cases never see each other's rows. */
    const newApp = async () => {
      const key = `app${++n}${randomBytes(3).toString('hex')}`;
      assert.equal(await store.insertApp(app(key)), true);
      return key;
    };

    before(async () => {
      env = await adapter.setup();
      store = await env.open();
    });
    after(async () => {
      await store?.close();
      await env?.teardown();
    });

    it('reports its kind, answers ping, and a second migrate applies nothing', async () => {
      assert.equal(store.kind, adapter.name);
      assert.equal(await store.ping(), true);
      assert.equal(await store.migrate(), 0);
    });

    it('stores apps: insert, duplicate, get, list, secret rotation', async () => {
      const a = app(`apps${randomBytes(4).toString('hex')}`);
      assert.equal(await store.insertApp(a), true);
      assert.equal(await store.insertApp({ ...a, name: 'other' }), false);
      assert.deepEqual(plain(await store.getApp(a.appKey)), plain(a));
      assert.equal(await store.getApp('nope-no-such-app'), undefined);
      assert.ok((await store.listApps()).some((x) => x.appKey === a.appKey));
      const rotated = {
        secretSealed: token(),
        previousSecretSealed: a.secretSealed,
        previousSecretExpiresAt: 1_800_000_000_000,
      };
      assert.equal(await store.updateAppSecrets(a.appKey, rotated), true);
      assert.deepEqual(plain(await store.getApp(a.appKey)), plain({ ...a, ...rotated }));
      assert.equal(await store.updateAppSecrets('nope-no-such-app', rotated), false);
      const back = {
        secretSealed: token(),
        previousSecretSealed: undefined,
        previousSecretExpiresAt: undefined,
      };
      assert.equal(await store.updateAppSecrets(a.appKey, back), true);
      assert.deepEqual(plain(await store.getApp(a.appKey)), plain({ ...a, ...back }));
    });

    it('round-trips every account field', async () => {
      const key = await newApp();
      const full = account(key, 'full', {
        name: '张三',
        icon: 'https://x/y.png',
        sign: 's',
        email: 'a@b.cn',
        birth: '1990-01-01',
        mobile: '+86-13800000000',
        ex: '{"k":1}',
        props: '{}',
        gender: 2,
        blocked: true,
        mute: true,
        muteP2P: true,
        muteTeam: true,
        muteRoom: true,
        muteQChat: true,
        muteAv: true,
        donnop: true,
        createdAt: 1_799_999_999_999,
        updatedAt: 1_800_000_000_001,
      });
      assert.equal(await store.insertAccount(full), true);
      assertStored(await store.getAccount(key, 'full'), full);
      const bare = account(key, 'bare');
      assert.equal(await store.insertAccount(bare), true);
      const got = await store.getAccount(key, 'bare');
      assertStored(got, bare);
      assert.equal(got?.name, undefined);
    });

    it('refuses a duplicate accid with false, keeping the first row', async () => {
      const key = await newApp();
      const first = account(key, 'zhang');
      assert.equal(await store.insertAccount(first), true);
      assert.equal(await store.insertAccount(account(key, 'zhang', { name: 'second' })), false);
      assertStored(await store.getAccount(key, 'zhang'), first);
    });

    it('keeps apps apart: one accid in two apps is two accounts', async () => {
      const [k1, k2] = [await newApp(), await newApp()];
      const [r1, r2] = await Promise.all([
        store.insertAccount(account(k1, 'same', { name: 'one' })),
        store.insertAccount(account(k2, 'same', { name: 'two' })),
      ]);
      assert.deepEqual([r1, r2], [true, true]);
      assert.equal((await store.getAccount(k1, 'same'))?.name, 'one');
      assert.equal((await store.getAccount(k2, 'same'))?.name, 'two');
      assert.equal(await store.countAccounts(k1), 1);
    });

    it('gives exactly one true among concurrent inserts of one accid (one batch)', async () => {
      const key = await newApp();
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => store.insertAccount(account(key, 'race', { name: `n${i}` }))),
      );
      assert.equal(results.filter(Boolean).length, 1);
      const winner = results.indexOf(true);
      assert.equal((await store.getAccount(key, 'race'))?.name, `n${winner}`);
    });

    it('gives exactly one true across two store handles (two nodes) racing on one accid', async () => {
      const key = await newApp();
      const other = await env.open();
      try {
        const results = await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            (i % 2 ? other : store).insertAccount(account(key, 'race2', { name: `n${i}` })),
          ),
        );
        assert.equal(results.filter(Boolean).length, 1);
        assert.equal((await other.getAccount(key, 'race2'))?.name, `n${results.indexOf(true)}`);
      } finally {
        await other.close();
      }
    });

    it('inserts many distinct accounts concurrently and counts them', async () => {
      const key = await newApp();
      const results = await Promise.all(
        Array.from({ length: 300 }, (_, i) => store.insertAccount(account(key, `u${i}`))),
      );
      assert.ok(results.every(Boolean));
      assert.equal(await store.countAccounts(key), 300);
      assert.equal(await store.countAccounts('nope-no-such-app'), 0);
    });

    it('reads several accounts at once, ignoring the missing ones', async () => {
      const key = await newApp();
      for (const id of ['a', 'b', 'c']) await store.insertAccount(account(key, id));
      const got = await store.getAccounts(key, ['c', 'a', 'zz']);
      assert.deepEqual(got.map((r) => r.accid).sort(), ['a', 'c']);
      // Named twice (a cached read, then again), still returned once.
      const twice = await store.getAccounts(key, ['a', 'b', 'a', 'b']);
      assert.deepEqual(twice.map((r) => r.accid).sort(), ['a', 'b']);
      assert.deepEqual(await store.getAccounts(key, []), []);
      assert.deepEqual(await store.getAccounts('nope-no-such-app', ['a']), []);
    });

    it('updates the patched fields only and answers the stored row; undefined clears; a missing account is undefined', async () => {
      const key = await newApp();
      const a = account(key, 'upd', { name: 'old', icon: 'i', email: 'e@x.cn' });
      await store.insertAccount(a);
      const t = token();
      const patch = {
        name: 'new',
        icon: undefined,
        blocked: true,
        muteAv: true,
        gender: 1,
        tokenSealed: t,
        updatedAt: 1_800_000_000_000,
      };
      const updated = await store.updateAccount(key, 'upd', patch);
      const { token: _, ...aStored } = a;
      const expected = plain({ ...aStored, ...patch });
      assert.deepEqual(plain(updated), expected);
      assert.deepEqual(plain(await store.getAccount(key, 'upd')), expected);
      assert.equal(await store.updateAccount(key, 'missing', { name: 'x' }), undefined);
      assert.deepEqual(plain(await store.updateAccount(key, 'upd', {})), expected);
      assert.equal(await store.updateAccount(key, 'missing', {}), undefined);
    });

    it('concurrent updates all apply, in call order, and each caller gets a row that holds its own change', async () => {
      const key = await newApp();
      await store.insertAccount(account(key, 'c1', { name: 'n0', sign: 's0' }));
      await store.insertAccount(account(key, 'c2', { name: 'm0' }));
      // Issued in one turn: they may share one group (PostgreSQL) or one transaction (SQLite).
      const calls = [
        store.updateAccount(key, 'c1', { name: 'n1' }),
        store.updateAccount(key, 'c2', { name: 'm1', gender: 2 }),
        store.updateAccount(key, 'c1', { sign: 's1', mute: true }),
        store.updateAccount(key, 'nobody', { name: 'x' }),
        store.updateAccount(key, 'c1', { name: 'n2', icon: 'i2' }),
        store.updateAccount(key, 'c2', { gender: 1 }),
      ];
      const [a, b, c, missing, d, e] = await Promise.all(calls);
      assert.equal(missing, undefined);
      assert.equal(a?.name !== undefined && ['n1', 'n2'].includes(a.name), true);
      assert.equal(c?.sign, 's1');
      assert.equal(c?.mute, true);
      assert.equal(d?.name, 'n2');
      assert.equal(d?.icon, 'i2');
      assert.equal(b?.name, 'm1');
      assert.equal(e?.gender, 1);
      const c1 = await store.getAccount(key, 'c1');
      assert.deepEqual([c1?.name, c1?.sign, c1?.icon, c1?.mute], ['n2', 's1', 'i2', true]);
      const c2 = await store.getAccount(key, 'c2');
      assert.deepEqual([c2?.name, c2?.gender], ['m1', 1]);
    });

    it('inserts a batch in one go: per item true, false for an existing or repeated accid', async () => {
      const key = await newApp();
      await store.insertAccount(account(key, 'exists'));
      const results = await store.insertAccountBatch([
        account(key, 'b1', { name: 'first' }),
        account(key, 'exists'),
        account(key, 'b2'),
        account(key, 'b1', { name: 'again' }),
      ]);
      assert.deepEqual(results, [true, false, true, false]);
      assert.equal((await store.getAccount(key, 'b1'))?.name, 'first');
      assert.deepEqual(await store.insertAccountBatch([]), []);
      assert.equal(await store.countAccounts(key), 3);
    });

    it('pages accounts in bytewise accid order', async () => {
      const key = await newApp();
      const ids = ['b', 'a-1', 'a_1', 'a.1', 'a@1', 'a1', 'z', '0'];
      await store.insertAccountBatch(ids.map((id) => account(key, id)));
      const sorted = [...ids].sort(); // JS sorts by UTF-16 code unit: bytewise for ASCII
      const first = await store.listAccountsPage(key, undefined, 3);
      assert.deepEqual(
        first.map((a) => a.accid),
        sorted.slice(0, 3),
      );
      const rest = await store.listAccountsPage(key, first[2]!.accid, 100);
      assert.deepEqual(
        rest.map((a) => a.accid),
        sorted.slice(3),
      );
      assert.deepEqual(await store.listAccountsPage(key, 'zz', 10), []);
    });

    it('sets and clears relations idempotently, listing oldest first', async () => {
      const key = await newApp();
      await store.insertAccount(account(key, 'owner'));
      await store.setRelation(key, 'owner', { targetAccid: 'x', type: 1, createdAt: 2 }, true);
      await store.setRelation(key, 'owner', { targetAccid: 'y', type: 2, createdAt: 1 }, true);
      await store.setRelation(key, 'owner', { targetAccid: 'x', type: 1, createdAt: 3 }, true);
      assert.deepEqual(await store.listRelations(key, 'owner'), [
        { targetAccid: 'y', type: 2, createdAt: 1 },
        { targetAccid: 'x', type: 1, createdAt: 2 },
      ]);
      await store.setRelation(key, 'owner', { targetAccid: 'x', type: 1, createdAt: 4 }, false);
      await store.setRelation(key, 'owner', { targetAccid: 'nobody', type: 1, createdAt: 4 }, false);
      assert.deepEqual(
        (await store.listRelations(key, 'owner')).map((r) => r.targetAccid),
        ['y'],
      );
      assert.deepEqual(await store.listRelations(key, 'nobody'), []);
    });

    it('remembers idempotency records once and forgets old ones', async () => {
      const key = await newApp();
      const rec = { appKey: key, key: 'idem-1', responseSealed: token(), createdAt: 1000 };
      assert.equal(await store.insertIdempotency(rec), true);
      assert.equal(await store.insertIdempotency({ ...rec, responseSealed: token() }), false);
      assert.deepEqual(plain(await store.getIdempotency(key, 'idem-1')), plain(rec));
      assert.equal(await store.getIdempotency(key, 'idem-2'), undefined);
      await store.insertIdempotency({ ...rec, key: 'idem-new', createdAt: 9_000_000_000_000 });
      assert.ok((await store.deleteIdempotencyBefore(2000)) >= 1);
      assert.equal(await store.getIdempotency(key, 'idem-1'), undefined);
      assert.ok(await store.getIdempotency(key, 'idem-new'));
    });

    it('makes an insert queued before close durable for the next handle', async () => {
      const key = await newApp();
      const second = await env.open();
      const pending = second.insertAccount(account(key, 'atclose'));
      await second.close();
      assert.equal(await pending, true);
      assert.ok(await store.getAccount(key, 'atclose'));
    });
  });
}
