/**
 * PostgreSQL schema, one entry per version; applied in order by PostgresStore.migrate() under an
 * advisory lock, so nodes starting together migrate once. Version numbers mirror the SQLite list
 * (migrations/sqlite.ts) so one number means one schema change on both engines. Never edit a
 * shipped entry.
 */
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
        accid TEXT NOT NULL,
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
];
