/**
 * PostgreSQL schema, one entry per version; applied in order by PostgresStore.migrate() under an
 * advisory lock, so nodes starting together migrate once. Version numbers mirror the SQLite list
 * (migrations/sqlite.ts) so one number means one schema change on both engines. Never edit a
 * shipped entry. accids sort bytewise (COLLATE "C"), as in SQLite, so export paging agrees.
 */
import { POSTGRES_MESSAGES_MIGRATION } from '../postgres-messages.js';

export const POSTGRES_MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'apps and accounts',
    sql: `
      CREATE TABLE apps (
        app_key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        secret_sealed BYTEA NOT NULL,
        previous_secret_sealed BYTEA,
        previous_secret_expires_at BIGINT,
        created_at BIGINT NOT NULL
      );
      CREATE TABLE accounts (
        app_key TEXT NOT NULL REFERENCES apps(app_key),
        accid TEXT COLLATE "C" NOT NULL,
        token_sealed BYTEA NOT NULL,
        name TEXT, icon TEXT, sign TEXT, email TEXT, birth TEXT, mobile TEXT, ex TEXT, props TEXT,
        gender SMALLINT NOT NULL DEFAULT 0,
        blocked BOOLEAN NOT NULL DEFAULT FALSE,
        mute BOOLEAN NOT NULL DEFAULT FALSE,
        mute_p2p BOOLEAN NOT NULL DEFAULT FALSE,
        mute_team BOOLEAN NOT NULL DEFAULT FALSE,
        mute_room BOOLEAN NOT NULL DEFAULT FALSE,
        mute_qchat BOOLEAN NOT NULL DEFAULT FALSE,
        mute_av BOOLEAN NOT NULL DEFAULT FALSE,
        donnop BOOLEAN NOT NULL DEFAULT FALSE,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (app_key, accid)
      );
    `,
  },
  {
    version: 2,
    name: 'account relations (blacklist, mute list)',
    sql: `
      CREATE TABLE account_relations (
        app_key TEXT NOT NULL,
        accid TEXT COLLATE "C" NOT NULL,
        type SMALLINT NOT NULL,
        target_accid TEXT COLLATE "C" NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (app_key, accid, type, target_accid),
        FOREIGN KEY (app_key, accid) REFERENCES accounts(app_key, accid)
      );
    `,
  },
  {
    version: 3,
    name: 'idempotency keys',
    sql: `
      CREATE TABLE idempotency_keys (
        app_key TEXT NOT NULL,
        key TEXT NOT NULL,
        response_sealed BYTEA NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (app_key, key)
      );
      CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
    `,
  },
  POSTGRES_MESSAGES_MIGRATION,
];
