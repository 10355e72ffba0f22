/**
 * PostgresStore's group commit with several insert statements in flight (maxInsertBatches): every
 * caller gets its own answer, a failing statement fails only its own callers, close() waits for
 * creates queued behind the limit. And its grouped, cached reads: never stale after another node's
 * (or an operator's) write. PostgreSQL only (the contract suite covers both engines).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import pg from 'pg';
import { PostgresStore } from '../../src/store/postgres.js';
import { UPDATE_ACCOUNTS } from '../../src/store/postgres-updates.js';
import { newAccount } from '../helpers/accounts.js';
import { createTestDatabase, pgSkip, type TestDatabase } from '../helpers/pg.js';

const KEY = randomBytes(32);

const SKIP = await pgSkip();

/** Runs `fn` and counts the grouped update statements sent meanwhile (every pool's query goes through the prototype). */
async function updateStatements<T>(fn: () => Promise<T>): Promise<{ result: T; statements: number }> {
  const original = pg.Pool.prototype.query;
  let statements = 0;
  pg.Pool.prototype.query = function (this: pg.Pool, ...args: unknown[]) {
    if ((args[0] as { name?: string } | undefined)?.name === 'updateAccounts') statements++;
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  try {
    return { result: await fn(), statements };
  } finally {
    pg.Pool.prototype.query = original;
  }
}

// Inserts on the insert thread (the default) and on the event loop: the same answers.
for (const insertThread of [true, false])
  describe(`PostgresStore insert batches and grouped reads (insertThread ${insertThread})`, {
    skip: SKIP,
  }, () => {
    let db: TestDatabase;
    let store: PostgresStore;
    let n = 0;
    const open = async (maxInsertBatches: number) => {
      const s = new PostgresStore({ url: db.url, maxConnections: 4, maxInsertBatches, insertThread });
      s.useSealingKey(KEY);
      await s.migrate();
      return s;
    };
    const newApp = async (s = store) => {
      const key = `app${++n}${randomBytes(3).toString('hex')}`;
      assert.equal(
        await s.insertApp({ appKey: key, name: key, secretSealed: Buffer.from([1]), createdAt: 1 }),
        true,
      );
      return key;
    };

    before(async () => {
      db = await createTestDatabase();
      store = await open(2);
    });
    after(async () => {
      await store?.close();
      await db?.drop();
    });

    it('creates spread over many turns, with duplicates, each get their own answer', async () => {
      const key = await newApp();
      const calls: Promise<boolean>[] = [];
      // 40 turns of 10 creates: more turns than statements may run at once, so later turns queue
      // behind the limit and go together. Every accid is created twice, in different turns.
      for (let turn = 0; turn < 40; turn++) {
        for (let i = 0; i < 10; i++) {
          const id = (turn * 10 + i) % 200;
          calls.push(store.insertAccount(newAccount(key, `u${id}`, { name: `t${turn}` })));
        }
        await nextTurn();
      }
      const results = await Promise.all(calls);
      assert.equal(await store.countAccounts(key), 200);
      const stored = new Map(
        (
          await store.getAccounts(
            key,
            Array.from({ length: 200 }, (_, i) => `u${i}`),
          )
        ).map((r) => [r.accid, r]),
      );
      // The two creates of one accid are concurrent: either may win, but exactly one does, and the
      // stored row is the winner's.
      for (let id = 0; id < 200; id++) {
        const first = results[id]!;
        const second = results[id + 200]!;
        assert.ok(first !== second, `exactly one create of u${id} succeeds`);
        const winnerTurn = Math.floor((first ? id : id + 200) / 10);
        assert.equal(stored.get(`u${id}`)?.name, `t${winnerTurn}`);
      }
      // The inserts went where they should: the insert thread has connections of its own.
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        const { rows } = await client.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'nimbase-writer'",
        );
        assert.equal(rows[0].n > 0, insertThread);
      } finally {
        await client.end();
      }
    });

    it('a failing create fails only its caller, in its own turn and in a queued one', async () => {
      const key = await newApp();
      const calls: { bad: boolean; p: Promise<boolean> }[] = [];
      for (let turn = 0; turn < 6; turn++) {
        for (let i = 0; i < 5; i++) {
          // No such app: the foreign key refuses the row, so the whole statement fails at first.
          const bad = i === 2;
          const p = store.insertAccount(newAccount(bad ? 'no-such-app' : key, `f${turn}-${i}`));
          // Handled now: a bad call may reject while this loop still waits for the next turn.
          p.catch(() => {});
          calls.push({ bad, p });
        }
        await nextTurn();
      }
      const settled = await Promise.allSettled(calls.map((c) => c.p));
      settled.forEach((s, i) => {
        if (calls[i]!.bad) assert.equal(s.status, 'rejected', `call ${i} fails`);
        else assert.deepEqual(s, { status: 'fulfilled', value: true }, `call ${i} succeeds`);
      });
      assert.equal(await store.countAccounts(key), 24);
    });

    it('with one statement at a time, the creates that wait still all commit', async () => {
      const one = await open(1);
      const key = await newApp(one);
      const calls: Promise<boolean>[] = [];
      for (let turn = 0; turn < 20; turn++) {
        for (let i = 0; i < 7; i++) calls.push(one.insertAccount(newAccount(key, `s${turn}-${i}`)));
        await nextTurn();
      }
      assert.ok((await Promise.all(calls)).every(Boolean));
      assert.equal(await one.countAccounts(key), 140);
      await one.close();
    });

    it('close() waits for the creates queued behind the limit, and they are durable', async () => {
      const s = await open(1);
      const key = await newApp(s);
      const calls: Promise<boolean>[] = [];
      for (let turn = 0; turn < 5; turn++) {
        for (let i = 0; i < 20; i++) calls.push(s.insertAccount(newAccount(key, `c${turn}-${i}`)));
        await nextTurn();
      }
      for (let i = 0; i < 20; i++) calls.push(s.insertAccount(newAccount(key, `last${i}`)));
      await s.close();
      assert.ok((await Promise.all(calls)).every(Boolean));
      await assert.rejects(s.insertAccount(newAccount(key, 'after')), /closed/);
      assert.equal(await store.countAccounts(key), 120);
    });

    it('reads of one turn go together, and each caller gets its own accounts', async () => {
      const k1 = await newApp();
      const k2 = await newApp();
      for (const k of [k1, k2])
        await Promise.all(
          ['a', 'b', 'c'].map((id) => store.insertAccount(newAccount(k, id, { name: `${k}-${id}` }))),
        );
      for (let round = 0; round < 2; round++) {
        // Round 0 reads rows this handle never saw; round 1 the same, now cached.
        const [r1, r2, r3, r4, r5] = await Promise.all([
          store.getAccounts(k1, ['a', 'zz', 'c', 'a']),
          store.getAccounts(k2, ['b']),
          store.getAccount(k1, 'b'),
          store.getAccount(k2, 'nope'),
          store.getAccounts(k2, ['c', 'b', 'a']),
        ]);
        const names = (rs: { name?: string | undefined }[]) => rs.map((r) => r.name).sort();
        assert.deepEqual(names(r1), [`${k1}-a`, `${k1}-c`]);
        assert.deepEqual(names(r2), [`${k2}-b`]);
        assert.equal(r3?.name, `${k1}-b`);
        assert.equal(r4, undefined);
        assert.deepEqual(names(r5), [`${k2}-a`, `${k2}-b`, `${k2}-c`]);
      }
    });

    it('a read PostgreSQL refuses fails only its caller', async () => {
      const key = await newApp();
      await store.insertAccount(newAccount(key, 'ok'));
      const [a, b, c] = await Promise.allSettled([
        store.getAccounts(key, ['ok']),
        store.getAccounts(key, ['ok', 'nul\u0000byte']), // not valid text for PostgreSQL
        store.getAccount(key, 'ok'),
      ]);
      assert.equal(a.status === 'fulfilled' && a.value.length, 1);
      assert.equal(b.status, 'rejected');
      assert.equal(c.status === 'fulfilled' && c.value?.accid, 'ok');
    });

    it('a lone surrogate reads and writes as U+FFFD, as pg sends any string', async () => {
      const key = await newApp();
      assert.equal(await store.insertAccount(newAccount(key, 'lone', { name: 'a\ud800b' })), true);
      assert.equal((await store.getAccount(key, 'lone'))?.name, 'a\ufffdb');
      // Lookups may name anything (getUinfos); created accids are ASCII (rules.ACCID_PATTERN).
      assert.deepEqual(await store.getAccounts(key, ['x\udc00', 'lone\ud800']), []);
    });

    it('updates of one turn go as one statement; one PostgreSQL refuses fails only its caller', async () => {
      const key = await newApp();
      for (const id of ['p', 'q', 'r']) await store.insertAccount(newAccount(key, id, { name: id }));
      // Valid updates of one turn, two of them to the same account: one statement.
      const good = await updateStatements(() =>
        Promise.all([
          store.updateAccount(key, 'p', { name: 'p1' }),
          store.updateAccount(key, 'q', { name: 'q1' }),
          store.updateAccount(key, 'p', { icon: 'pi' }),
        ]),
      );
      assert.equal(good.statements, 1);
      assert.deepEqual(
        good.result.map((r) => [r?.name, r?.icon]),
        [
          ['p1', 'pi'],
          ['q1', undefined],
          ['p1', 'pi'],
        ],
      );
      const bad = await updateStatements(() =>
        Promise.allSettled([
          store.updateAccount(key, 'p', { name: 'p2' }),
          store.updateAccount(key, 'q', { gender: 70_000 }), // out of smallint's range: refused
          store.updateAccount(key, 'r', { name: 'r\ud800' }),
          store.updateAccount(key, 'p', { sign: 'ps' }),
        ]),
      );
      // The group's statement failed, then each update ran alone, in order: 1 + 4.
      assert.equal(bad.statements, 5);
      const settled = bad.result;
      const [a, , c, d] = settled;
      assert.deepEqual(
        settled.map((x) => x.status),
        ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
      );
      assert.equal(a.status === 'fulfilled' && a.value?.name, 'p2');
      assert.equal(c.status === 'fulfilled' && c.value?.name, 'r\ufffd');
      assert.equal(d.status === 'fulfilled' && d.value?.sign, 'ps');
      assert.deepEqual(
        (await store.getAccounts(key, ['p', 'q', 'r']))
          .map((r) => [r.accid, r.name, r.sign, r.gender])
          .sort(),
        [
          ['p', 'p2', 'ps', 0],
          ['q', 'q1', undefined, 0],
          ['r', 'r\ufffd', undefined, 0],
        ],
      );
    });

    it('a grouped update locks its rows in key order before it updates them (no deadlock between groups)', async () => {
      // Whatever order the group names its accounts in and whatever plan the UPDATE gets, the rows
      // are locked by a sort on the key: two groups sharing accounts wait, never deadlock.
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        const rows = JSON.stringify(
          ['b', 'a'].map((accid) => ['k', accid, 2, null, 'x', ...Array(17).fill(null)]),
        );
        const plan = (
          await client.query(`EXPLAIN ${UPDATE_ACCOUNTS.text.replace('$1::jsonb', `'${rows}'::jsonb`)}`)
        ).rows
          .map((r) => r['QUERY PLAN'] as string)
          .join('\n');
        assert.match(
          plan,
          /CTE l\s+->\s+LockRows[^\n]*\n\s+->\s+Sort[^\n]*\n\s+Sort Key: \w+\.app_key, \w+\.accid/,
        );
      } finally {
        await client.end();
      }
    });

    it("a cached account is never served stale: another node's update, an operator's UPDATE, a re-created row", async () => {
      const key = await newApp();
      const other = await open(2); // a second node on the same database
      try {
        await store.insertAccount(newAccount(key, 'x', { name: 'v1' }));
        assert.equal((await store.getAccount(key, 'x'))?.name, 'v1');
        assert.equal((await store.getAccounts(key, ['x']))[0]?.name, 'v1'); // now cached here

        assert.equal((await other.updateAccount(key, 'x', { name: 'v2' }))?.name, 'v2');
        assert.equal((await store.getAccount(key, 'x'))?.name, 'v2');
        assert.equal((await store.getAccounts(key, ['x']))[0]?.name, 'v2');

        // Outside nimbase altogether: the trigger gives the row a new version all the same.
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        try {
          await client.query(
            "UPDATE accounts SET name = 'v3', mute = true WHERE app_key = $1 AND accid = 'x'",
            [key],
          );
          const got = await store.getAccounts(key, ['x']);
          assert.equal(got[0]?.name, 'v3');
          assert.equal(got[0]?.mute, true);
          // Deleted and created again (with the same values as a copy this node held): a new version.
          const before = await store.getAccount(key, 'x');
          await client.query("DELETE FROM accounts WHERE app_key = $1 AND accid = 'x'", [key]);
          assert.equal(await store.getAccount(key, 'x'), undefined);
          assert.equal(await other.insertAccount(newAccount(key, 'x', { name: 'v4' })), true);
          const again = await store.getAccount(key, 'x');
          assert.equal(again?.name, 'v4');
          assert.notEqual(again, before);
        } finally {
          await client.end();
        }
        // The cached copy is returned (the same frozen record) only while the row is unchanged.
        const r1 = await store.getAccount(key, 'x');
        const r2 = await store.getAccount(key, 'x');
        assert.equal(r1, r2);
        assert.ok(Object.isFrozen(r1));
      } finally {
        await other.close();
      }
    });
  });
