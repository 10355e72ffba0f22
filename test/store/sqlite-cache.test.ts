/**
 * SqliteStore's account cache and writer thread: reads served from memory must never be stale,
 * whoever wrote (this store, or another process on the same file, such as a CLI import).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite.js';
import { newAccount } from '../helpers/accounts.js';

const KEY = randomBytes(32);
const APP = 'cacheapp';

const account = (accid: string, name: string) => newAccount(APP, accid, { name });

async function open(path: string, accountCacheSize?: number): Promise<SqliteStore> {
  const s = new SqliteStore({ path, accountCacheSize });
  s.useSealingKey(KEY);
  await s.migrate();
  return s;
}

describe('SqliteStore account cache', () => {
  let dir: string;
  let path: string;
  let server: SqliteStore;
  let tool: SqliteStore;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nimbase-cache-'));
    path = join(dir, 'nimbase.db');
    server = await open(path);
    tool = await open(path);
    await server.insertApp({ appKey: APP, name: APP, secretSealed: Buffer.from([1]), createdAt: 1 });
  });
  after(async () => {
    await server.close();
    await tool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves repeated reads from memory: the same frozen record', async () => {
    await server.insertAccount(account('a', 'A'));
    const first = await server.getAccount(APP, 'a');
    assert.equal(first?.name, 'A');
    assert.equal(await server.getAccount(APP, 'a'), first, 'the second read is the cached record');
    assert.ok(Object.isFrozen(first));
    const [viaBatch] = await server.getAccounts(APP, ['a']);
    assert.equal(viaBatch, first);
  });

  it('keeps the row an update of its own returned: the next read of it needs no statement', async () => {
    await server.insertAccount(account('u', 'U'));
    assert.equal((await server.getAccount(APP, 'u'))?.name, 'U');
    await server.updateAccount(APP, 'u', { name: 'U2', sign: 's' });
    // Count the statements that read a row (better-sqlite3's Statement#get, on every connection).
    const db = new Database(':memory:');
    const proto = Object.getPrototypeOf(db.prepare('SELECT 1')) as { get: (...a: unknown[]) => unknown };
    db.close();
    const original = proto.get;
    let reads = 0;
    proto.get = function (this: { source: string }, ...args: unknown[]) {
      if (this.source.includes('FROM accounts')) reads++;
      return original.apply(this, args);
    };
    try {
      const got = await server.getAccount(APP, 'u');
      assert.deepEqual([got?.name, got?.sign], ['U2', 's']);
      assert.ok(Object.isFrozen(got));
    } finally {
      proto.get = original;
    }
    assert.equal(reads, 0);
  });

  it('never goes back: with groups in flight, a later read never sees an older row than an earlier one', async () => {
    const turn = () => new Promise((r) => setImmediate(r));
    for (let k = 0; k < 60; k++) {
      const accid = `mono${k}`;
      await server.insertAccount(account(accid, 'n0')); // not cached: the first read will miss
      // Two updates in two turns (two groups, both possibly committed before either is answered),
      // and a read every turn until both are answered.
      let open = 2;
      const done = () => {
        open--;
      };
      void server.updateAccount(APP, accid, { name: 'n1' }).then(done);
      await turn();
      void server.updateAccount(APP, accid, { name: 'n2' }).then(done);
      const seen: number[] = [];
      while (open > 0) {
        await turn();
        seen.push(Number((await server.getAccount(APP, accid))!.name!.slice(1)));
      }
      seen.push(Number((await server.getAccount(APP, accid))!.name!.slice(1)));
      for (let i = 1; i < seen.length; i++)
        assert.ok(seen[i]! >= seen[i - 1]!, `${accid}: reads saw ${seen.map((n) => `n${n}`).join(', ')}`);
      assert.equal(seen.at(-1), 2);
    }
  });

  it("drops a row this store updated, before the update's caller is answered", async () => {
    await server.insertAccount(account('b', 'B'));
    assert.equal((await server.getAccount(APP, 'b'))?.name, 'B');
    assert.equal((await server.updateAccount(APP, 'b', { name: 'B2' }))?.name, 'B2');
    assert.equal((await server.getAccount(APP, 'b'))?.name, 'B2');
    assert.deepEqual((await server.getAccounts(APP, ['b', 'a'])).map((r) => r.name).sort(), ['A', 'B2']);
  });

  it('sees what another process committed: the cache starts over', async () => {
    await server.insertAccount(account('c', 'C'));
    assert.equal((await server.getAccount(APP, 'c'))?.name, 'C');
    assert.equal((await server.getAccounts(APP, ['c', 'a'])).length, 2);
    // Another handle on the file (a CLI import while the server runs) changes the row...
    assert.equal((await tool.updateAccount(APP, 'c', { name: 'C-by-tool' }))?.name, 'C-by-tool');
    // ...and the server's next reads see it, single and batched.
    assert.equal((await server.getAccount(APP, 'c'))?.name, 'C-by-tool');
    assert.equal((await server.getAccounts(APP, ['c']))[0]?.name, 'C-by-tool');
    // Both write again in turn: each still sees the other's commits.
    await server.updateAccount(APP, 'c', { name: 'C3' });
    assert.equal((await tool.getAccount(APP, 'c'))?.name, 'C3');
    await tool.updateAccount(APP, 'c', { name: 'C4' });
    await server.updateAccount(APP, 'a', { name: 'A2' });
    assert.equal((await server.getAccount(APP, 'c'))?.name, 'C4', 'a foreign commit between two of ours');
  });

  it('keeps a read that races its own commit correct (writes in flight)', async () => {
    await server.insertAccount(account('d', 'D0'));
    for (let i = 1; i <= 20; i++) {
      const write = server.updateAccount(APP, 'd', { name: `D${i}` });
      const during = await server.getAccount(APP, 'd');
      assert.ok(during?.name === `D${i - 1}` || during?.name === `D${i}`, `read during write ${i}`);
      await write;
      assert.equal((await server.getAccount(APP, 'd'))?.name, `D${i}`, `read after write ${i}`);
    }
  });

  it("sees another process's commit that lands while groups of ours are in flight", async () => {
    await server.insertAccount(account('e', 'E0'));
    assert.equal((await server.getAccount(APP, 'e'))?.name, 'E0'); // cached
    for (let i = 1; i <= 10; i++) {
      // Our writes keep the writer busy across turns...
      const ours = Array.from({ length: 5 }, (_, k) => server.insertAccount(account(`e${i}_${k}`, 'X')));
      await new Promise((r) => setImmediate(r));
      // ...while another process changes a row we have cached.
      assert.equal((await tool.updateAccount(APP, 'e', { name: `E${i}` }))?.name, `E${i}`);
      let done = false;
      const more = server.insertAccount(account(`e${i}_more`, 'X')).then(() => {
        done = true;
      });
      // Read on every turn until our last group is answered: some of these reads fall after its
      // COMMIT and before its report, where only the writer's commit record tells ours from theirs.
      for (let turn = 0; !done && turn < 10_000; turn++) {
        await new Promise((r) => setImmediate(r));
        assert.equal((await server.getAccount(APP, 'e'))?.name, `E${i}`, `round ${i}, writes in flight`);
      }
      await Promise.all([...ours, more]);
      assert.equal((await server.getAccount(APP, 'e'))?.name, `E${i}`, `round ${i}, after`);
    }
  });

  it('answers each caller its own result when turns post groups while earlier ones commit', async () => {
    // Ten turns of writes, none awaited before the next turn: the writer thread receives groups
    // while it is committing earlier ones and may join them; every caller still gets its own value.
    const pending: Promise<boolean>[] = [];
    for (let turn = 0; turn < 10; turn++) {
      for (let i = 0; i < 20; i++) pending.push(server.insertAccount(account(`t${turn}_${i}`, 'T')));
      pending.push(server.insertAccount(account('a', 'dup'))); // exists: false, alone
      await new Promise((r) => setImmediate(r));
    }
    const results = await Promise.all(pending);
    for (let k = 0; k < results.length; k++) assert.equal(results[k], k % 21 !== 20, `write ${k}`);
    const stored = await tool.getAccounts(APP, ['t0_0', 't9_19', 'a']);
    assert.deepEqual(stored.map((r) => r.accid).sort(), ['a', 't0_0', 't9_19']);
    assert.notEqual(stored.find((r) => r.accid === 'a')?.name, 'dup', 'a duplicate changes nothing');
    assert.equal((await server.getAccount(APP, 't5_7'))?.name, 'T');
  });

  it('fails only the op whose statement fails, wherever it sits in the groups in flight', async () => {
    // A relation of an account that does not exist breaks the foreign key: that op fails alone, in
    // a group joined from several turns' messages; the ops around it still commit and answer.
    const relation = { type: 1, targetAccid: 'a', createdAt: 1 } as const;
    const pending: Promise<PromiseSettledResult<unknown>>[] = [];
    // Settled at once: a rejection may come while later turns are still being queued.
    const settle = (p: Promise<unknown>) => pending.push(Promise.allSettled([p]).then(([r]) => r!));
    for (let turn = 0; turn < 4; turn++) {
      settle(server.insertAccount(account(`f${turn}_a`, 'F')));
      settle(server.setRelation(APP, `ghost${turn}`, relation, true));
      settle(server.insertAccount(account(`f${turn}_b`, 'F')));
      await new Promise((r) => setImmediate(r));
    }
    const settled = await Promise.all(pending);
    settled.forEach((r, k) => {
      if (k % 3 === 1) assert.equal(r.status, 'rejected', `op ${k} (the ghost relation) fails`);
      else assert.deepEqual(r, { status: 'fulfilled', value: true }, `op ${k} commits`);
    });
    assert.match(String((settled[1] as PromiseRejectedResult).reason), /FOREIGN KEY/);
    const stored = await tool.getAccounts(APP, ['f0_a', 'f0_b', 'f3_a', 'f3_b']);
    assert.equal(stored.length, 4);
  });

  it('works with the cache off, and bounds it', async () => {
    const off = await open(path, 0);
    try {
      assert.equal((await off.getAccount(APP, 'a'))?.name, 'A2');
      assert.notEqual(await off.getAccount(APP, 'a'), await off.getAccount(APP, 'a'), 'fresh objects');
    } finally {
      await off.close();
    }
    const tiny = await open(path, 2);
    try {
      const names = await Promise.all(
        ['a', 'b', 'c', 'd'].map(async (id) => (await tiny.getAccount(APP, id))?.name),
      );
      assert.deepEqual(names, ['A2', 'B2', 'C4', 'D20']);
      assert.equal((await tiny.getAccount(APP, 'a'))?.name, 'A2', 'an evicted row is read again');
    } finally {
      await tiny.close();
    }
  });

  it('fails every write, queued ones too, and readiness when the writer thread cannot run', async () => {
    const other = join(dir, 'doomed.db');
    const s = await open(other);
    assert.equal(await s.ping(), true);
    // The writer thread opens the file by path on the first write: make that impossible.
    for (const suffix of ['', '-wal', '-shm']) rmSync(other + suffix, { force: true });
    mkdirSync(other);
    const first = s.insertAccount(account('x', 'X'));
    // A second write queued behind the first group, a turn later.
    const second = new Promise<boolean>((resolve, reject) => {
      setImmediate(() => s.insertAccount(account('y', 'Y')).then(resolve, reject));
    });
    await assert.rejects(first, /SQLite writer thread/);
    await assert.rejects(second, /SQLite writer thread/);
    await assert.rejects(s.updateAccount(APP, 'x', { name: 'z' }), /SQLite writer thread/);
    assert.equal(await s.ping(), false);
    await s.close();
  });
});
