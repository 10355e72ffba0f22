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
  {
    // PostgreSQL only (versions 20–29; SQLite keeps its account cache exact by its write generation,
    // version 11 there). Every version of an account row carries a number that no other version of
    // the same (app_key, accid) ever had: new rows draw it from the sequence, and the trigger draws a
    // new one on every UPDATE, whoever runs it (any node, a migration, an operator's psql). PostgresStore caches
    // account records by it and serves one only when the database confirms, in the same statement,
    // that the row still has that number (postgres.ts, "Account reads"). Rows older than this
    // migration keep 0 until their first update: unique too, since a row inserted later (even
    // after a delete) draws from the sequence, which starts at 1.
    version: 20,
    name: 'account row versions',
    sql: `
      CREATE SEQUENCE account_row_versions;
      ALTER TABLE accounts ADD COLUMN row_version BIGINT NOT NULL DEFAULT 0;
      ALTER TABLE accounts ALTER COLUMN row_version SET DEFAULT nextval('account_row_versions');
      CREATE FUNCTION account_row_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          NEW.row_version := nextval('account_row_versions');
          RETURN NEW;
        END
      $$;
      CREATE TRIGGER account_row_version BEFORE UPDATE ON accounts
        FOR EACH ROW EXECUTE FUNCTION account_row_version_bump();
    `,
  },
];
