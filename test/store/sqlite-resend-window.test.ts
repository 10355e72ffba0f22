/**
 * SqliteStore finds a resend through its writer's window of recent messages (resend-window.ts),
 * not a UNIQUE index: exact within the window, across restarts, and across processes that share
 * the file; older messages are stored anew. Also the migration that dropped the index.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SQLITE_MIGRATIONS } from '../../src/store/migrations/sqlite.js';
import { messageInsertValues, type NewMessage } from '../../src/store/port.js';
import { ResendWindow } from '../../src/store/resend-window.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import {
  type GroupResult,
  type InsertedMessage,
  openConnection,
  SqliteWriteExecutor,
  type WriteOp,
} from '../../src/store/sqlite-writes.js';

const msg = (idClient: string, over: Partial<NewMessage> = {}): NewMessage => ({
  appKey: 'app',
  scene: 0,
  from: 'alice',
  to: 'bob',
  idClient,
  time: 1_795_639_282_917,
  fields: { '9': `text ${idClient}`, '11': idClient },
  ...over,
});

/** A database as schema version 11 left it (before the idClient index was dropped). */
function version11(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.exec(
    'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  for (const m of SQLITE_MIGRATIONS.filter((m) => m.version <= 11)) {
    db.exec(m.sql);
    db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, 1);
  }
  return db;
}

async function open(path: string, resendWindow?: number): Promise<SqliteStore> {
  const s = new SqliteStore({ path, resendWindow });
  await s.migrate();
  return s;
}

describe('SqliteStore resend window', () => {
  let dir: string;
  let n = 0;
  const freshPath = () => join(dir, `db-${++n}.db`);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nimbase-resend-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('recognises a resend among the last N messages and stores an older one anew', async () => {
    const s = await open(freshPath(), 3);
    try {
      const first = await s.insertMessage(msg('m1'), ['bob']);
      for (const c of ['m2', 'm3']) assert.ok((await s.insertMessage(msg(c), ['bob'])).inserted);
      // m1 is still among the last 3.
      const again = await s.insertMessage(msg('m1'), ['bob']);
      assert.equal(again.inserted, false);
      assert.deepEqual(again.message, first.message);
      assert.ok((await s.insertMessage(msg('m4'), ['bob'])).inserted);
      // Now m1 has left the window: documented, it is stored as a new message; m2 is still found.
      const late = await s.insertMessage(msg('m1'), ['bob']);
      assert.equal(late.inserted, true);
      assert.ok(late.message.id > first.message.id);
      assert.equal((await s.insertMessage(msg('m3'), ['bob'])).inserted, false);
      assert.equal((await s.listOffline('app', 'bob', 10)).length, 5);
    } finally {
      await s.close();
    }
  });

  it('finds resends of messages stored before a restart', async () => {
    const path = freshPath();
    const a = await open(path);
    const stored = [];
    for (let i = 0; i < 50; i++) stored.push((await a.insertMessage(msg(`r${i}`), ['bob'])).message);
    await a.close();
    const b = await open(path);
    try {
      for (const i of [0, 17, 49]) {
        const again = await b.insertMessage(msg(`r${i}`), ['bob']);
        assert.equal(again.inserted, false, `r${i} after the restart`);
        assert.deepEqual(again.message, stored[i]);
      }
      assert.equal((await b.listOffline('app', 'bob', 100)).length, 50);
    } finally {
      await b.close();
    }
  });

  it('finds a resend whose first copy another process stored on the same file', async () => {
    const path = freshPath();
    const server = await open(path);
    const other = await open(path);
    try {
      // Both writers have filled their windows before the other writes.
      await server.insertMessage(msg('s0'), ['bob']);
      await other.insertMessage(msg('o0'), ['bob']);
      const first = await other.insertMessage(msg('x1', { from: 'carol' }), ['bob']);
      const again = await server.insertMessage(msg('x1', { from: 'carol' }), ['bob']);
      assert.equal(again.inserted, false);
      assert.deepEqual(again.message, first.message);
      // And the other way round (the other writer's window was filled after s0 was stored).
      const back = await other.insertMessage(msg('s0'), ['bob']);
      assert.equal(back.inserted, false);
    } finally {
      await other.close();
      await server.close();
    }
  });

  it('warm() fills the window before any write; what another process writes after it is found too', async () => {
    const path = freshPath();
    const other = await open(path);
    const server = await open(path);
    try {
      const early = await other.insertMessage(msg('early'), ['bob']);
      await other.insertMessage(msg('early2'), ['bob']);
      assert.equal(await server.warm(), 2, 'the window holds the two messages already stored');
      // Written after the warm-up read, before the server's first group.
      const late = await other.insertMessage(msg('late'), ['bob']);
      assert.deepEqual((await server.insertMessage(msg('late'), ['bob'])).message, late.message);
      assert.deepEqual((await server.insertMessage(msg('early'), ['bob'])).message, early.message);
      assert.equal((await server.listOffline('app', 'bob', 10)).length, 3);
    } finally {
      await server.close();
      await other.close();
    }
    await assert.rejects(server.warm(), /closed/);
  });

  it('two keys whose hashes collide are two messages, and each resend gets its own', async () => {
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const idClient = `c${i}`;
      const h = ResendWindow.hash('app', 'alice', idClient);
      const other = seen.get(h);
      if (other) pair = [other, idClient];
      else seen.set(h, idClient);
    }
    // In process (':memory:'): the hash's random start is per thread, so the pair found here
    // collides only for a writer on this thread.
    const s = await open(':memory:');
    try {
      const a = await s.insertMessage(msg(pair[0]), ['bob']);
      const b = await s.insertMessage(msg(pair[1]), ['bob']);
      assert.ok(a.inserted && b.inserted, `${pair.join(' and ')} are both new`);
      assert.deepEqual((await s.insertMessage(msg(pair[1]), ['bob'])).message, b.message);
      assert.deepEqual((await s.insertMessage(msg(pair[0]), ['bob'])).message, a.message);
    } finally {
      await s.close();
    }
  });

  it('a group rolled back adds nothing: its id, reused by another writer, is found under that writer’s key', async () => {
    const path = freshPath();
    await (await open(path)).close(); // migrated
    const connA = openConnection(path, 'full', Database);
    const connB = openConnection(path, 'full', Database);
    const a = new SqliteWriteExecutor(connA, undefined, 100);
    const b = new SqliteWriteExecutor(connB, undefined, 100);
    const insert = (idClient: string): WriteOp => ({
      kind: 'insertMessage',
      params: messageInsertValues(msg(idClient)),
      offlineFor: [],
    });
    const stored = (r: GroupResult, at = 0) => r.values[at] as InsertedMessage;
    try {
      assert.equal(stored(a.runGroup([insert('k0')])).inserted, true);
      // The whole group fails after its insert: nothing of it may enter A's window.
      const failed = a.runGroup([insert('k1'), { kind: 'run', sql: 'ROLLBACK', params: [] }]);
      assert.equal(failed.failures.length, 2);
      // B's next message gets the id k1 would have had.
      const k2 = stored(b.runGroup([insert('k2')]));
      assert.ok(k2.inserted);
      const again = stored(a.runGroup([insert('k2')]));
      assert.equal(again.inserted, false, 'k2 is found by A');
      assert.equal(again.inserted === false && again.row.id, k2.id);
      assert.equal(a.fill(), 2, "A's window holds k0 and k2, nothing of the failed group");
      assert.equal(stored(a.runGroup([insert('k1')])).inserted, true, 'k1 was never stored');
    } finally {
      connA.close();
      connB.close();
    }
  });

  it('an idClient with a lone surrogate (the JSON framing can carry one) is found again', async () => {
    const s = await open(freshPath());
    try {
      const first = await s.insertMessage(msg('\ud800lone', { from: 'x\udfffy' }), ['bob']);
      const again = await s.insertMessage(msg('\ud800lone', { from: 'x\udfffy' }), ['bob']);
      assert.equal(again.inserted, false);
      assert.equal(again.message.id, first.message.id);
    } finally {
      await s.close();
    }
  });

  it('with a window of 0, every message is stored, resends included', async () => {
    const s = await open(freshPath(), 0);
    try {
      const [a, b] = await Promise.all([
        s.insertMessage(msg('same'), ['bob']),
        s.insertMessage(msg('same'), ['bob']),
      ]);
      assert.ok(a.inserted && b.inserted && a.message.id !== b.message.id);
    } finally {
      await s.close();
    }
  });

  it('migrating from version 11 keeps the id sequence when every message was deleted', async () => {
    const path = freshPath();
    const db = version11(path);
    db.prepare(
      "INSERT INTO messages (app_key, scene, from_accid, to_id, id_client, time, fields) VALUES ('app', 0, 'alice', 'bob', 'gone', 1, '{}')",
    ).run();
    db.prepare('DELETE FROM messages').run();
    db.close();
    const s = await open(path);
    try {
      assert.equal((await s.insertMessage(msg('after'), [])).message.id, 2);
    } finally {
      await s.close();
    }
  });

  it('migrating a store from version 11 keeps every message, id, offline entry and the id sequence', async () => {
    const path = freshPath();
    const db = version11(path);
    const insert = db.prepare(
      `INSERT INTO messages (app_key, scene, from_accid, to_id, id_client, time, fields)
       VALUES ('app', 0, 'alice', 'bob', ?, 1, '{}')`,
    );
    for (let i = 1; i <= 5; i++) insert.run(`old${i}`);
    db.prepare("INSERT INTO offline_messages VALUES ('app', 'bob', 2), ('app', 'bob', 4)").run();
    db.prepare('DELETE FROM messages WHERE id = 5').run(); // the sequence stays at 5
    db.close();

    const s = await open(path);
    try {
      assert.deepEqual(
        (await s.listOffline('app', 'bob', 10)).map((m) => [m.id, m.idClient]),
        [
          [2, 'old2'],
          [4, 'old4'],
        ],
      );
      // Ids are never reused: the next one continues the sequence, not max(id).
      const next = await s.insertMessage(msg('new'), []);
      assert.equal(next.message.id, 6);
      // Messages from before the migration are in the window.
      const again = await s.insertMessage(msg('old3'), []);
      assert.equal(again.inserted, false);
      assert.equal(again.message.id, 3);
    } finally {
      await s.close();
    }
    const check = new Database(path, { readonly: true });
    try {
      const indexes = check
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'messages'")
        .all();
      assert.deepEqual(indexes, []);
      assert.deepEqual(check.pragma('foreign_key_check'), []);
    } finally {
      check.close();
    }
  });
});
