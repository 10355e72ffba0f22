/**
 * Contract of the store methods the account API added (batch insert, export paging, relations,
 * idempotency records), run on every adapter listed in ADAPTERS.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Store } from '../../src/store/port.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { newAccount } from '../helpers/accounts.js';
import { createTestDatabase, pgSkip } from '../helpers/pg.js';

/** PostgreSQL: a fresh database per run, skipped with a reason when absent (fails when CI=true). */
const ADAPTERS: {
  name: string;
  skip: string | false;
  open: () => Promise<{ store: Store; drop(): Promise<void> }>;
}[] = [
  {
    name: 'sqlite',
    skip: false,
    open: async () => {
      const store = new SqliteStore({ path: ':memory:' });
      store.useSealingKey(randomBytes(32));
      await store.migrate();
      return { store, drop: async () => {} };
    },
  },
  {
    name: 'postgres',
    skip: await pgSkip(),
    open: async () => {
      const db = await createTestDatabase();
      const store = new PostgresStore({ url: db.url, maxConnections: 4 });
      store.useSealingKey(randomBytes(32));
      await store.migrate();
      return { store, drop: () => db.drop() };
    },
  },
];

const acct = (appKey: string, accid: string) => newAccount(appKey, accid);

for (const a of ADAPTERS)
  describe(`account store extensions on ${a.name}`, { skip: a.skip }, () => {
    let s: Store;
    let drop: () => Promise<void>;
    before(async () => {
      ({ store: s, drop } = await a.open());
      for (const k of ['app1', 'app2'])
        await s.insertApp({ appKey: k, name: k, secretSealed: Buffer.from([0]), createdAt: 1 });
    });
    after(async () => {
      await s.close();
      await drop();
    });

    it('insertAccountBatch: one result per item, duplicates (also within the batch) false', async () => {
      assert.deepEqual(
        await s.insertAccountBatch([acct('app1', 'a'), acct('app1', 'b'), acct('app1', 'a')]),
        [true, true, false],
      );
      assert.deepEqual(await s.insertAccountBatch([acct('app1', 'b'), acct('app2', 'b')]), [false, true]);
      assert.deepEqual(await s.insertAccountBatch([]), []);
      assert.equal(await s.countAccounts('app1'), 2);
    });

    it('insertAccountBatch is one transaction: a failing item stores nothing', async () => {
      await assert.rejects(s.insertAccountBatch([acct('app1', 'c'), acct('no-such-app', 'd')]));
      assert.equal(await s.getAccount('app1', 'c'), undefined);
    });

    it('listAccountsPage pages in accid order, per app', async () => {
      await s.insertAccountBatch(['e', 'd', 'f'].map((x) => acct('app1', x)));
      const p1 = await s.listAccountsPage('app1', undefined, 3);
      assert.deepEqual(
        p1.map((r) => r.accid),
        ['a', 'b', 'd'],
      );
      const p2 = await s.listAccountsPage('app1', 'd', 3);
      assert.deepEqual(
        p2.map((r) => r.accid),
        ['e', 'f'],
      );
      assert.deepEqual(
        (await s.listAccountsPage('app2', undefined, 10)).map((r) => r.accid),
        ['b'],
      );
    });

    it('relations: add, no-op add, remove, per type', async () => {
      await s.setRelation('app1', 'a', { targetAccid: 'b', type: 1, createdAt: 5 }, true);
      await s.setRelation('app1', 'a', { targetAccid: 'b', type: 1, createdAt: 6 }, true);
      await s.setRelation('app1', 'a', { targetAccid: 'd', type: 2, createdAt: 7 }, true);
      assert.deepEqual(await s.listRelations('app1', 'a'), [
        { targetAccid: 'b', type: 1, createdAt: 5 },
        { targetAccid: 'd', type: 2, createdAt: 7 },
      ]);
      await s.setRelation('app1', 'a', { targetAccid: 'b', type: 1, createdAt: 8 }, false);
      assert.deepEqual(await s.listRelations('app1', 'a'), [{ targetAccid: 'd', type: 2, createdAt: 7 }]);
      assert.deepEqual(await s.listRelations('app2', 'a'), []);
    });

    it('idempotency records: first writer wins, per app, purge by age', async () => {
      const rec = { appKey: 'app1', key: 'k', responseSealed: Buffer.from([9]), createdAt: 100 };
      assert.equal(await s.insertIdempotency(rec), true);
      assert.equal(await s.insertIdempotency({ ...rec, responseSealed: Buffer.from([8]) }), false);
      assert.deepEqual(Buffer.from((await s.getIdempotency('app1', 'k'))!.responseSealed), Buffer.from([9]));
      assert.equal(await s.getIdempotency('app2', 'k'), undefined);
      assert.equal(await s.deleteIdempotencyBefore(100), 0);
      assert.equal(await s.deleteIdempotencyBefore(101), 1);
      assert.equal(await s.getIdempotency('app1', 'k'), undefined);
    });
  });
