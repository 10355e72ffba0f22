/**
 * The MessageStore contract (store/port.ts). Written as a loop over adapters so every adapter runs
 * the same suite (STYLE.md §8); the PostgreSQL adapter joins the list when it implements the port.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import type { MessageStore, NewMessage } from '../../src/store/port.js';
import {
  MESSAGE_SQL,
  POSTGRES_MESSAGES_MIGRATION,
  PostgresMessages,
} from '../../src/store/postgres-messages.js';
import { SqliteStore } from '../../src/store/sqlite.js';

type Opened = MessageStore & { close(): Promise<void> };

/** PostgreSQL: a fresh database per run on the server named by NIMBASE_TEST_PG_URL (default local). */
const PG_ADMIN_URL = process.env.NIMBASE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
let pgSkip: string | false = false;
let pgDatabase: string | undefined;
let pgAdmin: pg.Client | undefined;
try {
  pgAdmin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
  await pgAdmin.connect();
  pgDatabase = `nimbase_msg_${randomBytes(4).toString('hex')}`;
  await pgAdmin.query(`CREATE DATABASE ${pgDatabase}`);
} catch (err) {
  if (process.env.CI === 'true') throw err;
  pgSkip = `PostgreSQL unreachable at ${PG_ADMIN_URL}: ${(err as Error).message}`;
  await pgAdmin?.end().catch(() => {});
  pgAdmin = undefined;
}

const ADAPTERS: { name: string; skip: string | false; open(): Promise<Opened> }[] = [
  {
    name: 'sqlite',
    skip: false,
    async open() {
      const s = new SqliteStore({ path: ':memory:' });
      await s.migrate();
      return s;
    },
  },
  {
    name: 'postgres',
    skip: pgSkip,
    async open() {
      const url = new URL(PG_ADMIN_URL);
      url.pathname = `/${pgDatabase}`;
      const pool = new pg.Pool({ connectionString: url.toString(), max: 4 });
      // The database is dropped WITH (FORCE) at the end; an idle client losing it must not throw.
      pool.on('error', () => {});
      // Each open starts from empty tables, as the SQLite adapter's fresh :memory: database does.
      await pool.query('DROP TABLE IF EXISTS offline_messages; DROP TABLE IF EXISTS messages;');
      await pool.query(POSTGRES_MESSAGES_MIGRATION.sql);
      const store = new PostgresMessages(pool);
      return Object.assign(store, {
        close: async () => {
          await store.drain();
          await pool.end();
        },
      });
    },
  },
];

after(async () => {
  if (pgAdmin && pgDatabase) {
    await pgAdmin.query(`DROP DATABASE IF EXISTS ${pgDatabase} WITH (FORCE)`);
    await pgAdmin.end();
  }
});

const msg = (idClient: string, over: Partial<NewMessage> = {}): NewMessage => ({
  appKey: 'app',
  scene: 0,
  from: 'alice',
  to: 'bob',
  idClient,
  time: 1_795_639_282_917,
  fields: { '0': '0', '1': 'bob', '2': 'alice', '9': `text ${idClient}`, '11': idClient },
  ...over,
});

for (const adapter of ADAPTERS) {
  describe(`MessageStore on ${adapter.name}`, { skip: adapter.skip }, () => {
    let current: Opened | undefined;
    // One store open at a time: the PostgreSQL adapter resets shared tables on open.
    const open = async () => {
      await current?.close();
      current = await adapter.open();
      return current;
    };
    after(async () => {
      await current?.close();
    });

    it('assigns increasing safe-integer ids and keeps the fields verbatim', async () => {
      const s = await open();
      const a = await s.insertMessage(msg('c1'), ['bob']);
      const b = await s.insertMessage(msg('c2'), ['bob']);
      assert.ok(a.inserted && b.inserted);
      assert.ok(Number.isSafeInteger(a.message.id) && b.message.id > a.message.id);
      assert.deepEqual(a.message.fields, msg('c1').fields);
    });

    it('returns the stored message for a repeated (appKey, from, idClient) and writes nothing', async () => {
      const s = await open();
      const first = await s.insertMessage(msg('dup'), ['bob']);
      const again = await s.insertMessage(msg('dup', { time: 5, fields: { '9': 'changed' } }), ['bob']);
      assert.equal(again.inserted, false);
      assert.deepEqual(again.message, first.message);
      assert.equal((await s.listOffline('app', 'bob', 10)).length, 1);
      // The same idClient from another sender or app is another message.
      assert.ok((await s.insertMessage(msg('dup', { from: 'carol' }), ['bob'])).inserted);
      assert.ok((await s.insertMessage(msg('dup', { appKey: 'other' }), ['bob'])).inserted);
    });

    it('close() waits for the writes queued before it: a new message and a resend are both answered', async () => {
      const s = await open();
      const first = await s.insertMessage(msg('c1'), ['bob']);
      const resend = s.insertMessage(msg('c1'), ['bob']);
      const next = s.insertMessage(msg('c2'), ['bob']);
      await s.close();
      current = undefined;
      const [again, second] = await Promise.all([resend, next]);
      assert.equal(again.inserted, false);
      assert.equal(again.message.id, first.message.id);
      assert.equal(second.inserted, true);
      assert.ok(second.message.id > first.message.id);
    });

    it('a resend is found even when its key holds a lone surrogate (the JSON framing can carry one)', async () => {
      const s = await open();
      const m = msg('\ud800lone', { from: 'x\udfffy' });
      const first = await s.insertMessage(m, ['bob']);
      const again = await s.insertMessage(m, ['bob']);
      assert.equal(again.inserted, false);
      assert.equal(again.message.id, first.message.id);
    });

    it('lists offline messages oldest first, per app and account, up to the limit', async () => {
      const s = await open();
      const ids: number[] = [];
      for (const c of ['o1', 'o2', 'o3']) ids.push((await s.insertMessage(msg(c), ['bob'])).message.id);
      await s.insertMessage(msg('x', { to: 'carol' }), ['carol']);
      await s.insertMessage(msg('y', { appKey: 'other' }), ['bob']);
      await s.insertMessage(msg('online-only'), []);
      assert.deepEqual(
        (await s.listOffline('app', 'bob', 10)).map((m) => m.id),
        ids,
      );
      assert.deepEqual(
        (await s.listOffline('app', 'bob', 2)).map((m) => m.id),
        ids.slice(0, 2),
      );
      assert.equal((await s.listOffline('app', 'nobody', 10)).length, 0);
    });

    it('acks retire only the account’s own entries', async () => {
      const s = await open();
      const m1 = (await s.insertMessage(msg('a1'), ['bob'])).message.id;
      const m2 = (await s.insertMessage(msg('a2'), ['bob'])).message.id;
      const mc = (await s.insertMessage(msg('a3', { to: 'carol' }), ['carol'])).message.id;
      assert.equal(await s.ackOffline('app', 'bob', [m1, mc, 999_999]), 1);
      assert.deepEqual(
        (await s.listOffline('app', 'bob', 10)).map((m) => m.id),
        [m2],
      );
      assert.equal((await s.listOffline('app', 'carol', 10)).length, 1);
      assert.equal(await s.ackOffline('app', 'bob', []), 0);
      assert.equal(await s.ackOffline('app', 'bob', [m1]), 0, 'acking twice is harmless');
    });

    it('messages sent together are stored in call order; a resend among them gets the first one', async () => {
      const s = await open();
      const before = await s.insertMessage(msg('t0'), ['bob']);
      // Issued in one turn: one group commit on either store.
      const sends = [
        s.insertMessage(msg('t1'), ['bob']),
        s.insertMessage(msg('t2', { from: 'carol', to: 'dave' }), ['dave']),
        s.insertMessage(msg('t1', { fields: { '9': 'resent' } }), ['zed']), // its recipients are not added
        s.insertMessage(msg('t0'), ['bob']), // a resend of an earlier turn's message
        s.insertMessage(msg('t3'), []),
        s.insertMessage(msg('t4'), ['bob', 'erin']),
      ];
      const [t1, t2, t1again, t0again, t3, t4] = await Promise.all(sends);
      assert.deepEqual(
        [t1, t2, t1again, t0again, t3, t4].map((r) => r!.inserted),
        [true, true, false, false, true, true],
      );
      const ids = [before, t1, t2, t3, t4].map((r) => r!.message.id);
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => a - b),
        'ids ascend in call order',
      );
      assert.equal(new Set(ids).size, ids.length);
      assert.deepEqual(t1again!.message, t1!.message);
      assert.deepEqual(t0again!.message, before.message);
      assert.deepEqual(
        (await s.listOffline('app', 'bob', 10)).map((m) => m.idClient),
        ['t0', 't1', 't4'],
      );
      assert.deepEqual(
        (await s.listOffline('app', 'erin', 10)).map((m) => m.idClient),
        ['t4'],
      );
      assert.deepEqual(
        (await s.listOffline('app', 'dave', 10)).map((m) => m.idClient),
        ['t2'],
      );
      assert.equal((await s.listOffline('app', 'zed', 10)).length, 0, 'a resend writes nothing');
      // Acks of one turn: each removes its own account's entries, each entry counted once.
      const bob = (await s.listOffline('app', 'bob', 10)).map((m) => m.id);
      const acks = await Promise.all([
        s.ackOffline('app', 'bob', [bob[0]!]),
        s.ackOffline('app', 'erin', [t4!.message.id, bob[0]!]),
        s.ackOffline('app', 'bob', [bob[0]!, bob[1]!]),
      ]);
      assert.deepEqual(acks, [1, 1, 1]);
      assert.deepEqual(
        (await s.listOffline('app', 'bob', 10)).map((m) => m.idClient),
        ['t4'],
      );
      assert.equal((await s.listOffline('app', 'erin', 10)).length, 0);
    });

    if (adapter.name === 'postgres')
      it('an ack finds each offline entry by its key, however large the offline table', async () => {
        await open();
        const url = new URL(PG_ADMIN_URL);
        url.pathname = `/${pgDatabase}`;
        const client = new pg.Client({ connectionString: url.toString() });
        await client.connect();
        try {
          await client.query(`INSERT INTO messages (app_key, scene, from_accid, to_id, id_client, time, fields)
            SELECT 'app', 0, 'a' || (g % 100), 'b' || (g % 100), 'c' || g, 0, '{}' FROM generate_series(1, 20000) g`);
          await client.query(
            "INSERT INTO offline_messages (app_key, accid, message_id) SELECT 'app', to_id, id FROM messages",
          );
          await client.query('ANALYZE messages, offline_messages');
          const args = [
            ['app', 'app'],
            ['b1', 'b2'],
            ['101', '102'],
          ].map((a) => `'${JSON.stringify(a)}'::json`);
          let text: string = MESSAGE_SQL.ackOffline;
          args.forEach((a, i) => {
            text = text.replace(`$${i + 1}::json`, a);
          });
          const plan = (await client.query(`EXPLAIN ${text}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
          assert.match(plan, /Index Scan using offline_messages_pkey/);
          assert.doesNotMatch(plan, /Seq Scan on offline_messages/);
        } finally {
          await client.end();
        }
      });

    if (adapter.name === 'postgres')
      it('a message PostgreSQL refuses fails alone; the others of its group are stored in order', async () => {
        const s = await open();
        const results = await Promise.allSettled([
          s.insertMessage(msg('r1'), ['bob']),
          s.insertMessage(msg('nul\u0000byte'), ['bob']), // not valid text for PostgreSQL
          s.insertMessage(msg('r2'), ['bob']),
        ]);
        assert.deepEqual(
          results.map((r) => r.status),
          ['fulfilled', 'rejected', 'fulfilled'],
        );
        assert.deepEqual(
          (await s.listOffline('app', 'bob', 10)).map((m) => m.idClient),
          ['r1', 'r2'],
        );
      });
  });
}
