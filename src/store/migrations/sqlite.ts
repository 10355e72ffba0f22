/**
 * SQLite schema, one entry per version; applied in order by SqliteStore.migrate(). Never edit a
 * shipped entry. `rebuildsTables`: the entry recreates a table that others reference, so it runs
 * with foreign keys off and checks before it commits that it broke no reference (SQLite's
 * documented table rebuild).
 */
export const SQLITE_MIGRATIONS: readonly {
  version: number;
  name: string;
  sql: string;
  rebuildsTables?: true;
}[] = [
  {
    version: 1,
    name: 'apps and accounts',
    sql: `
      CREATE TABLE apps (
        app_key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        secret_sealed BLOB NOT NULL,
        previous_secret_sealed BLOB,
        previous_secret_expires_at INTEGER,
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE accounts (
        app_key TEXT NOT NULL REFERENCES apps(app_key),
        accid TEXT NOT NULL,
        token_sealed BLOB NOT NULL,
        name TEXT, icon TEXT, sign TEXT, email TEXT, birth TEXT, mobile TEXT, ex TEXT, props TEXT,
        gender INTEGER NOT NULL DEFAULT 0,
        blocked INTEGER NOT NULL DEFAULT 0,
        mute INTEGER NOT NULL DEFAULT 0,
        mute_p2p INTEGER NOT NULL DEFAULT 0,
        mute_team INTEGER NOT NULL DEFAULT 0,
        mute_room INTEGER NOT NULL DEFAULT 0,
        mute_qchat INTEGER NOT NULL DEFAULT 0,
        mute_av INTEGER NOT NULL DEFAULT 0,
        donnop INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (app_key, accid)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: 'account relations (blacklist, mute list)',
    sql: `
      CREATE TABLE account_relations (
        app_key TEXT NOT NULL,
        accid TEXT NOT NULL,
        type INTEGER NOT NULL,
        target_accid TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (app_key, accid, type, target_accid),
        FOREIGN KEY (app_key, accid) REFERENCES accounts(app_key, accid)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 3,
    name: 'idempotency keys',
    sql: `
      CREATE TABLE idempotency_keys (
        app_key TEXT NOT NULL,
        key TEXT NOT NULL,
        response_sealed BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (app_key, key)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
    `,
  },
  {
    // Gateway helper: versions 10–19. Messages keep their protocol tags as JSON; offline entries are
    // per recipient and retired by the client's 4_5 ack (spec/client-protocol.md §7.4, §7.6).
    version: 10,
    name: 'messages and offline queue',
    sql: `
      CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        app_key TEXT NOT NULL,
        scene INTEGER NOT NULL,
        from_accid TEXT NOT NULL,
        to_id TEXT NOT NULL,
        id_client TEXT NOT NULL,
        time INTEGER NOT NULL,
        fields TEXT NOT NULL,
        UNIQUE (app_key, from_accid, id_client)
      ) STRICT;
      CREATE TABLE offline_messages (
        app_key TEXT NOT NULL,
        accid TEXT NOT NULL,
        message_id INTEGER NOT NULL REFERENCES messages(id),
        PRIMARY KEY (app_key, accid, message_id)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    // The write generation: every group commit adds 1, so a process that caches rows can tell its
    // own commits from another process's (SqliteStore's account cache, sqlite-writes.ts).
    version: 11,
    name: 'write generation',
    sql: `
      CREATE TABLE nimbase_meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL) STRICT, WITHOUT ROWID;
      INSERT INTO nimbase_meta (k, v) VALUES ('writes', 0);
    `,
  },
  {
    // Messages lose UNIQUE (app_key, from_accid, id_client): every random idClient dirtied an index
    // page of its own, the largest single cost of a message write. Resends are now found through
    // the writer's window of recent messages (resend-window.ts). Ids and their sequence are kept:
    // offline entries point at them, and clients hold them as idServer.
    version: 12,
    name: 'messages without the idClient index',
    rebuildsTables: true,
    sql: `
      CREATE TABLE messages_rebuilt (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        app_key TEXT NOT NULL,
        scene INTEGER NOT NULL,
        from_accid TEXT NOT NULL,
        to_id TEXT NOT NULL,
        id_client TEXT NOT NULL,
        time INTEGER NOT NULL,
        fields TEXT NOT NULL
      ) STRICT;
      INSERT INTO messages_rebuilt (id, app_key, scene, from_accid, to_id, id_client, time, fields)
        SELECT id, app_key, scene, from_accid, to_id, id_client, time, fields FROM messages ORDER BY id;
      DELETE FROM sqlite_sequence WHERE name = 'messages_rebuilt';
      INSERT INTO sqlite_sequence (name, seq) SELECT 'messages_rebuilt', seq FROM sqlite_sequence
        WHERE name = 'messages';
      DROP TABLE messages;
      ALTER TABLE messages_rebuilt RENAME TO messages;
    `,
  },
];
