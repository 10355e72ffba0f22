/**
 * The embedded default store: one SQLite file in WAL mode. better-sqlite3 is synchronous, so the
 * single-writer rule holds by construction. Account inserts use group commit: the inserts that
 * arrive in one event-loop turn share one transaction, and each promise resolves only after that
 * transaction's COMMIT, so an answered create is durable (synchronous=FULL by default).
 */

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { SQLITE_MIGRATIONS } from './migrations/sqlite.js';
import type {
  AccountPatch,
  AccountRecord,
  AppRecord,
  IdempotencyRecord,
  MessageRecord,
  NewMessage,
  RelationRecord,
  Store,
} from './port.js';

export type Durability = 'full' | 'normal';

export interface SqliteOptions {
  /** File path, or ':memory:'. */
  path: string;
  /** 'full' (default): every answered write is fsync-durable. 'normal': WAL-safe, may lose the last commits on power loss. */
  durability?: Durability;
}

type Row = Record<string, unknown>;

const ACCOUNT_COLUMNS: Record<keyof Omit<AccountRecord, 'appKey' | 'accid'>, string> = {
  tokenSealed: 'token_sealed',
  name: 'name',
  icon: 'icon',
  sign: 'sign',
  email: 'email',
  birth: 'birth',
  mobile: 'mobile',
  ex: 'ex',
  props: 'props',
  gender: 'gender',
  blocked: 'blocked',
  mute: 'mute',
  muteP2P: 'mute_p2p',
  muteTeam: 'mute_team',
  muteRoom: 'mute_room',
  muteQChat: 'mute_qchat',
  muteAv: 'mute_av',
  donnop: 'donnop',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
};
const BOOLEAN_FIELDS = new Set([
  'blocked',
  'mute',
  'muteP2P',
  'muteTeam',
  'muteRoom',
  'muteQChat',
  'muteAv',
  'donnop',
]);

const SQL = {
  insertAccount: `INSERT INTO accounts (app_key, accid, token_sealed, name, icon, sign, email, birth, mobile, ex, props,
      gender, blocked, mute, mute_p2p, mute_team, mute_room, mute_qchat, mute_av, donnop, created_at, updated_at)
    VALUES (@appKey, @accid, @tokenSealed, @name, @icon, @sign, @email, @birth, @mobile, @ex, @props,
      @gender, @blocked, @mute, @muteP2P, @muteTeam, @muteRoom, @muteQChat, @muteAv, @donnop, @createdAt, @updatedAt)
    ON CONFLICT (app_key, accid) DO NOTHING`,
  getAccount: 'SELECT * FROM accounts WHERE app_key = ? AND accid = ?',
  getAccountsJson: 'SELECT * FROM accounts WHERE app_key = ? AND accid IN (SELECT value FROM json_each(?))',
  countAccounts: 'SELECT count(*) AS n FROM accounts WHERE app_key = ?',
  listAccountsFirst: 'SELECT * FROM accounts WHERE app_key = ? ORDER BY accid LIMIT ?',
  listAccountsAfter: 'SELECT * FROM accounts WHERE app_key = ? AND accid > ? ORDER BY accid LIMIT ?',
  addRelation: `INSERT INTO account_relations (app_key, accid, type, target_accid, created_at)
    VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  removeRelation:
    'DELETE FROM account_relations WHERE app_key = ? AND accid = ? AND type = ? AND target_accid = ?',
  listRelations: `SELECT type, target_accid, created_at FROM account_relations WHERE app_key = ? AND accid = ?
    ORDER BY created_at, target_accid`,
  getIdempotency: 'SELECT * FROM idempotency_keys WHERE app_key = ? AND key = ?',
  insertIdempotency: `INSERT INTO idempotency_keys (app_key, key, response_sealed, created_at)
    VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  deleteIdempotencyBefore: 'DELETE FROM idempotency_keys WHERE created_at < ?',
  insertApp: `INSERT INTO apps (app_key, name, secret_sealed, previous_secret_sealed, previous_secret_expires_at, created_at)
    VALUES (@appKey, @name, @secretSealed, @previousSecretSealed, @previousSecretExpiresAt, @createdAt)
    ON CONFLICT (app_key) DO NOTHING`,
  getApp: 'SELECT * FROM apps WHERE app_key = ?',
  listApps: 'SELECT * FROM apps ORDER BY created_at, app_key',
  updateAppSecrets: `UPDATE apps SET secret_sealed = @secretSealed, previous_secret_sealed = @previousSecretSealed,
    previous_secret_expires_at = @previousSecretExpiresAt WHERE app_key = @appKey`,
  insertMessage: `INSERT INTO messages (app_key, scene, from_accid, to_id, id_client, time, fields)
    VALUES (@appKey, @scene, @from, @to, @idClient, @time, @fields)
    ON CONFLICT (app_key, from_accid, id_client) DO NOTHING`,
  getMessageByClientId: 'SELECT * FROM messages WHERE app_key = ? AND from_accid = ? AND id_client = ?',
  insertOffline: 'INSERT OR IGNORE INTO offline_messages (app_key, accid, message_id) VALUES (?, ?, ?)',
  listOffline: `SELECT m.* FROM offline_messages o JOIN messages m ON m.id = o.message_id
    WHERE o.app_key = ? AND o.accid = ? ORDER BY o.message_id LIMIT ?`,
  ackOffline: `DELETE FROM offline_messages WHERE app_key = ? AND accid = ?
    AND message_id IN (SELECT value FROM json_each(?))`,
} as const;

interface PendingWrite {
  /** Runs inside the group transaction; its value resolves the caller's promise. */
  run: () => unknown;
  resolve: (value: never) => void;
  reject: (err: unknown) => void;
}

type InsertOneMessage = (
  m: NewMessage,
  params: Row,
  offlineFor: readonly string[],
) => { message: MessageRecord; inserted: boolean };

export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly #db: Database.Database;
  #stmts: { -readonly [K in keyof typeof SQL]?: Database.Statement } = {};
  #pending: PendingWrite[] = [];
  #flushScheduled = false;
  #closed = false;

  constructor(options: SqliteOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.#db = new Database(options.path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma(`synchronous = ${options.durability === 'normal' ? 'NORMAL' : 'FULL'}`);
    this.#db.pragma('foreign_keys = ON');
    this.#db.pragma('busy_timeout = 5000');
  }

  #stmt(name: keyof typeof SQL): Database.Statement {
    let s = this.#stmts[name];
    if (!s) {
      s = this.#db.prepare(SQL[name]);
      this.#stmts[name] = s;
    }
    return s;
  }

  async migrate(): Promise<number> {
    const db = this.#db;
    db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    const done = new Set(
      (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map(
        (r) => r.version,
      ),
    );
    let applied = 0;
    for (const m of SQLITE_MIGRATIONS) {
      if (done.has(m.version)) continue;
      db.transaction(() => {
        db.exec(m.sql);
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
          m.version,
          m.name,
          Date.now(),
        );
      }).immediate();
      applied++;
    }
    return applied;
  }

  async ping(): Promise<boolean> {
    return this.#db.prepare('SELECT 1 AS ok').get() !== undefined;
  }

  insertAccount(account: AccountRecord): Promise<boolean> {
    const params = accountParams(account);
    return this.#groupWrite(() => this.#stmt('insertAccount').run(params).changes === 1);
  }

  /** Queues a write for the group commit; resolves after its transaction's COMMIT. */
  #groupWrite<T>(run: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ run, resolve: resolve as (value: never) => void, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  /**
   * One transaction for every write queued during the last event-loop turn. A statement that fails
   * is rolled back alone (SQLite statements are atomic) and rejects only its own caller.
   */
  #flush(): void {
    const batch = this.#pending;
    this.#pending = [];
    this.#flushScheduled = false;
    if (batch.length === 0) return;
    let results: ({ value: unknown } | { err: unknown })[];
    try {
      results = this.#db
        .transaction(() =>
          batch.map((p) => {
            try {
              return { value: p.run() };
            } catch (err) {
              // Some errors (disk full, I/O) roll the whole transaction back: then fail them all.
              if (!this.#db.inTransaction) throw err;
              return { err };
            }
          }),
        )
        .immediate();
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    for (let i = 0; i < batch.length; i++) {
      const r = results[i]!;
      if ('err' in r) batch[i]!.reject(r.err);
      else batch[i]!.resolve(r.value as never);
    }
  }

  async getAccount(appKey: string, accid: string): Promise<AccountRecord | undefined> {
    const row = this.#stmt('getAccount').get(appKey, accid) as Row | undefined;
    return row ? accountFromRow(row) : undefined;
  }

  async getAccounts(appKey: string, accids: readonly string[]): Promise<AccountRecord[]> {
    if (accids.length === 0) return [];
    const rows = this.#stmt('getAccountsJson').all(appKey, JSON.stringify(accids)) as Row[];
    return rows.map(accountFromRow);
  }

  async updateAccount(appKey: string, accid: string, patch: AccountPatch): Promise<boolean> {
    const sets: string[] = [];
    const params: Row = { appKey, accid };
    for (const [key, value] of Object.entries(patch)) {
      const column = ACCOUNT_COLUMNS[key as keyof typeof ACCOUNT_COLUMNS];
      if (!column) throw new Error(`unknown account field ${key}`);
      sets.push(`${column} = @${key}`);
      params[key] = toSql(key, value);
    }
    if (sets.length === 0) return (await this.getAccount(appKey, accid)) !== undefined;
    // Dynamic column lists are prepared per shape; better-sqlite3 caches nothing, so keep a small cache.
    const sql = `UPDATE accounts SET ${sets.join(', ')} WHERE app_key = @appKey AND accid = @accid`;
    const update = this.#prepareCached(sql);
    // Group-committed like inserts: one fsync per event-loop turn, not one per update.
    return this.#groupWrite(() => update.run(params).changes === 1);
  }

  #dynamic = new Map<string, Database.Statement>();
  #prepareCached(sql: string): Database.Statement {
    let s = this.#dynamic.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      if (this.#dynamic.size < 512) this.#dynamic.set(sql, s);
    }
    return s;
  }

  async countAccounts(appKey: string): Promise<number> {
    return (this.#stmt('countAccounts').get(appKey) as { n: number }).n;
  }

  async insertAccountBatch(accounts: readonly AccountRecord[]): Promise<boolean[]> {
    if (this.#closed) throw new Error('store is closed');
    if (accounts.length === 0) return [];
    const insert = this.#stmt('insertAccount');
    const params = accounts.map(accountParams);
    return this.#db.transaction(() => params.map((p) => insert.run(p).changes === 1)).immediate();
  }

  async listAccountsPage(
    appKey: string,
    afterAccid: string | undefined,
    limit: number,
  ): Promise<AccountRecord[]> {
    const rows = (
      afterAccid === undefined
        ? this.#stmt('listAccountsFirst').all(appKey, limit)
        : this.#stmt('listAccountsAfter').all(appKey, afterAccid, limit)
    ) as Row[];
    return rows.map(accountFromRow);
  }

  async setRelation(appKey: string, accid: string, r: RelationRecord, on: boolean): Promise<void> {
    if (on) this.#stmt('addRelation').run(appKey, accid, r.type, r.targetAccid, r.createdAt);
    else this.#stmt('removeRelation').run(appKey, accid, r.type, r.targetAccid);
  }

  async listRelations(appKey: string, accid: string): Promise<RelationRecord[]> {
    return (this.#stmt('listRelations').all(appKey, accid) as Row[]).map((r) => ({
      type: r.type as number,
      targetAccid: r.target_accid as string,
      createdAt: r.created_at as number,
    }));
  }

  async getIdempotency(appKey: string, key: string): Promise<IdempotencyRecord | undefined> {
    const r = this.#stmt('getIdempotency').get(appKey, key) as Row | undefined;
    if (!r) return undefined;
    return {
      appKey: r.app_key as string,
      key: r.key as string,
      responseSealed: r.response_sealed as Buffer,
      createdAt: r.created_at as number,
    };
  }

  async insertIdempotency(r: IdempotencyRecord): Promise<boolean> {
    return (
      this.#stmt('insertIdempotency').run(r.appKey, r.key, Buffer.from(r.responseSealed), r.createdAt)
        .changes === 1
    );
  }

  async deleteIdempotencyBefore(createdBefore: number): Promise<number> {
    return this.#stmt('deleteIdempotencyBefore').run(createdBefore).changes;
  }

  async insertApp(app: AppRecord): Promise<boolean> {
    return (
      this.#stmt('insertApp').run({
        appKey: app.appKey,
        name: app.name,
        secretSealed: Buffer.from(app.secretSealed),
        previousSecretSealed: app.previousSecretSealed ? Buffer.from(app.previousSecretSealed) : null,
        previousSecretExpiresAt: app.previousSecretExpiresAt ?? null,
        createdAt: app.createdAt,
      }).changes === 1
    );
  }

  async getApp(appKey: string): Promise<AppRecord | undefined> {
    const row = this.#stmt('getApp').get(appKey) as Row | undefined;
    return row ? appFromRow(row) : undefined;
  }

  async listApps(): Promise<AppRecord[]> {
    return (this.#stmt('listApps').all() as Row[]).map(appFromRow);
  }

  async updateAppSecrets(
    appKey: string,
    s: Pick<AppRecord, 'secretSealed' | 'previousSecretSealed' | 'previousSecretExpiresAt'>,
  ): Promise<boolean> {
    return (
      this.#stmt('updateAppSecrets').run({
        appKey,
        secretSealed: Buffer.from(s.secretSealed),
        previousSecretSealed: s.previousSecretSealed ? Buffer.from(s.previousSecretSealed) : null,
        previousSecretExpiresAt: s.previousSecretExpiresAt ?? null,
      }).changes === 1
    );
  }

  /**
   * Joins the group commit like account writes: the messages of one event-loop turn share one
   * COMMIT (one fsync), each answered after it. The message and its offline entries are one
   * savepoint inside the group, so they are stored together or not at all.
   */
  insertMessage(
    m: NewMessage,
    offlineFor: readonly string[],
  ): Promise<{ message: MessageRecord; inserted: boolean }> {
    const params = { ...m, fields: JSON.stringify(m.fields) };
    this.#insertMessageSavepoint ??= this.#db.transaction(this.#insertOneMessage);
    const savepoint = this.#insertMessageSavepoint;
    return this.#groupWrite(() => savepoint(m, params, offlineFor));
  }

  /**
   * One message and its offline entries; run as a savepoint made once, because better-sqlite3's
   * `transaction()` builds four wrapper functions per call, which cost more than the inserts.
   */
  readonly #insertOneMessage: InsertOneMessage = (m, params, offlineFor) => {
    const run = this.#stmt('insertMessage').run(params);
    if (run.changes === 0) {
      const row = this.#stmt('getMessageByClientId').get(m.appKey, m.from, m.idClient) as Row;
      return { message: messageFromRow(row), inserted: false };
    }
    const id = Number(run.lastInsertRowid);
    for (const accid of offlineFor) this.#stmt('insertOffline').run(m.appKey, accid, id);
    return { message: { ...m, id }, inserted: true };
  };
  #insertMessageSavepoint: Database.Transaction<InsertOneMessage> | undefined;

  async listOffline(appKey: string, accid: string, limit: number): Promise<MessageRecord[]> {
    return (this.#stmt('listOffline').all(appKey, accid, limit) as Row[]).map(messageFromRow);
  }

  /**
   * Joins the group commit too: on its own, each ack was a transaction with its own fsync that
   * blocked the event loop (receivers ack every ~250 ms, so hundreds per second under load).
   */
  ackOffline(appKey: string, accid: string, ids: readonly number[]): Promise<number> {
    if (ids.length === 0) return Promise.resolve(0);
    const list = JSON.stringify(ids);
    return this.#groupWrite(() => this.#stmt('ackOffline').run(appKey, accid, list).changes);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#flush();
    this.#db.close();
  }
}

function toSql(key: string, value: unknown): unknown {
  if (BOOLEAN_FIELDS.has(key)) return value ? 1 : 0;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return value ?? null;
}

function accountParams(a: AccountRecord): Row {
  const params: Row = { appKey: a.appKey, accid: a.accid };
  for (const key of Object.keys(ACCOUNT_COLUMNS)) params[key] = toSql(key, a[key as keyof AccountRecord]);
  return params;
}

const str = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : (v as string));

function accountFromRow(r: Row): AccountRecord {
  return {
    appKey: r.app_key as string,
    accid: r.accid as string,
    tokenSealed: r.token_sealed as Buffer,
    name: str(r.name),
    icon: str(r.icon),
    sign: str(r.sign),
    email: str(r.email),
    birth: str(r.birth),
    mobile: str(r.mobile),
    ex: str(r.ex),
    props: str(r.props),
    gender: r.gender as number,
    blocked: r.blocked === 1,
    mute: r.mute === 1,
    muteP2P: r.mute_p2p === 1,
    muteTeam: r.mute_team === 1,
    muteRoom: r.mute_room === 1,
    muteQChat: r.mute_qchat === 1,
    muteAv: r.mute_av === 1,
    donnop: r.donnop === 1,
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
  };
}

function messageFromRow(r: Row): MessageRecord {
  return {
    id: r.id as number,
    appKey: r.app_key as string,
    scene: r.scene as number,
    from: r.from_accid as string,
    to: r.to_id as string,
    idClient: r.id_client as string,
    time: r.time as number,
    fields: JSON.parse(r.fields as string) as Record<string, string>,
  };
}

function appFromRow(r: Row): AppRecord {
  return {
    appKey: r.app_key as string,
    name: r.name as string,
    secretSealed: r.secret_sealed as Buffer,
    previousSecretSealed: (r.previous_secret_sealed as Buffer | null) ?? undefined,
    previousSecretExpiresAt: (r.previous_secret_expires_at as number | null) ?? undefined,
    createdAt: r.created_at as number,
  };
}
