/**
 * The embedded default store: one SQLite file in WAL mode. Reads run on this thread's connection;
 * every write goes through one write path (sqlite-write-path.ts: a writer thread that owns the only
 * write connection, so the single-writer rule holds by construction). Writes use group commit: the
 * writes that arrive in one event-loop turn share one transaction, and each promise resolves only
 * after that transaction's COMMIT, so an answered write is durable (synchronous=FULL by default).
 */

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { AccountCache } from './account-cache.js';
import { SQLITE_MIGRATIONS } from './migrations/sqlite.js';
import {
  type AccountPatch,
  type AccountRecord,
  type AppRecord,
  type IdempotencyRecord,
  type MessageRecord,
  messageInsertValues,
  type NewAccountRecord,
  type NewMessage,
  type RelationRecord,
  type Store,
} from './port.js';
import type { CheckpointSettings, StoreNotice } from './sqlite-checkpoints.js';
import { InProcessWriter, ThreadWriter, type WritePath } from './sqlite-write-path.js';
import {
  type AccountInsertParams,
  type Durability,
  type InsertedMessage,
  openConnection,
  WRITE_SQL,
  type WriteOp,
} from './sqlite-writes.js';

export type { Durability } from './sqlite-writes.js';

/** ~0.5 KiB each: some 25 MiB at most. */
const DEFAULT_ACCOUNT_CACHE = 50_000;

export interface SqliteOptions {
  /** File path, or ':memory:'. */
  path: string;
  /** Accounts kept in memory for reads (default 50,000; 0 turns the cache off). */
  accountCacheSize?: number;
  /** 'full' (default): every answered write is fsync-durable. 'normal': WAL-safe, may lose the last commits on power loss. */
  durability?: Durability;
  /** WAL checkpoint settings of the writer thread (sqlite-checkpoints.ts); tests shrink them. */
  checkpoints?: CheckpointSettings;
  /** Hears what the writer thread reports about its checkpoints (`serve` logs it). */
  onNotice?: ((notice: StoreNotice) => void) | undefined;
  /**
   * A resend (same sender and idClient) of one of the last this-many messages is answered with the
   * stored message; older ones are stored anew (default DEFAULT_RESEND_WINDOW; 0: never). See
   * resend-window.ts for why this is a window and not an index.
   */
  resendWindow?: number | undefined;
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
  getAccount: 'SELECT * FROM accounts WHERE app_key = ? AND accid = ?',
  getAccountsJson: 'SELECT * FROM accounts WHERE app_key = ? AND accid IN (SELECT value FROM json_each(?))',
  countAccounts: 'SELECT count(*) AS n FROM accounts WHERE app_key = ?',
  listAccountsFirst: 'SELECT * FROM accounts WHERE app_key = ? ORDER BY accid LIMIT ?',
  listAccountsAfter: 'SELECT * FROM accounts WHERE app_key = ? AND accid > ? ORDER BY accid LIMIT ?',
  listRelations: `SELECT type, target_accid, created_at FROM account_relations WHERE app_key = ? AND accid = ?
    ORDER BY created_at, target_accid`,
  getIdempotency: 'SELECT * FROM idempotency_keys WHERE app_key = ? AND key = ?',
  getApp: 'SELECT * FROM apps WHERE app_key = ?',
  listApps: 'SELECT * FROM apps ORDER BY created_at, app_key',
  listOffline: `SELECT m.* FROM offline_messages o JOIN messages m ON m.id = o.message_id
    WHERE o.app_key = ? AND o.accid = ? ORDER BY o.message_id LIMIT ?`,
} as const;

export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  /** The writer queue is first in, first out (sqlite-write-path.ts). */
  readonly messagesInCallOrder = true;
  readonly #db: Database.Database;
  readonly #writes: WritePath;
  #stmts: { -readonly [K in keyof typeof SQL]?: Database.Statement } = {};
  #closed = false;
  readonly #cache: AccountCache;
  /** The write generation the cache reflects (see #cacheUsable). */
  #known: number | undefined;
  #generation: Database.Statement | undefined;

  constructor(options: SqliteOptions) {
    const durability = options.durability ?? 'full';
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.#db = openConnection(options.path, durability, Database);
    // Another connection to ':memory:' would open another (empty) database.
    this.#writes =
      options.path === ':memory:'
        ? new InProcessWriter(this.#db, options.resendWindow)
        : new ThreadWriter(options.path, durability, options.checkpoints, options.resendWindow);
    this.#writes.onNotice = options.onNotice;
    this.#cache = new AccountCache(options.accountCacheSize ?? DEFAULT_ACCOUNT_CACHE);
    this.#writes.onCommit = (touched, values, before, after) => {
      // A generation we did not write in between: another process (a CLI import, say) committed.
      if (before !== this.#known) this.#cache.clear();
      else {
        // An update's RETURNING row is the account as of `after`. It is kept only when no other
        // group of ours is out (one of those may have changed the account again, and a read may
        // already have seen that); otherwise, and for any other write, the entry goes.
        const latest = !this.#writes.busy();
        for (let i = 0; i < touched.length; i++) {
          const t = touched[i]!;
          const row = values[i];
          if (latest && row !== null && typeof row === 'object') this.#cache.set(accountFromRow(row as Row));
          else this.#cache.delete(t.appKey, t.accid);
        }
      }
      this.#known = after;
    };
  }

  /**
   * Whether reads may use the account cache now. Every group commit moves the write generation on;
   * our own commits are reported with the generation they started from (onCommit above), so a
   * generation we cannot explain was written by another process: then the cache starts over. While
   * groups of ours are out, their COMMITs may be visible before their reports: the writer thread
   * publishes each commit's generation as it commits (CommitRecord), so a generation reached by our
   * commits alone keeps the cache usable. It may then still hold a row such a group changed: the
   * write has not been answered yet, so a read may see either side of it; its caller is answered
   * only after onCommit dropped or replaced the row. Otherwise, read the database.
   *
   * Checked once per event-loop turn (a statement costs a file lock and unlock: system calls): the
   * reads of one turn see the database as of that turn's first read. Our own writes stay exact
   * within the turn, since onCommit drops (or replaces) what they changed before their callers are
   * answered. A row read from the database while the cache cannot be used replaces nothing and
   * removes the cached copy (#past), so reads never go back to an older row.
   */
  #cacheUsable(): boolean {
    if (this.#usableThisTurn === undefined) {
      this.#usableThisTurn = this.#checkGeneration();
      setImmediate(() => {
        this.#usableThisTurn = undefined;
      });
    }
    return this.#usableThisTurn;
  }

  #usableThisTurn: boolean | undefined;

  #checkGeneration(): boolean {
    if (this.#cache.capacity === 0) return false;
    let now: number | undefined;
    try {
      this.#generation ??= this.#db.prepare(WRITE_SQL.generation).pluck();
      now = this.#generation.get() as number | undefined;
    } catch {
      return false; // not migrated yet
    }
    if (now === this.#known) return true;
    if (this.#writes.busy()) {
      // Groups of ours are out: the generation may have moved by their commits alone (the writer
      // says so as it commits, before reporting), or another process's commit may be in there.
      const how = now === undefined ? 'unknown' : this.#writes.generationSince(now);
      if (how === 'ours') return true;
      if (how === 'unknown') return false;
    }
    this.#cache.clear();
    this.#known = now;
    return true;
  }

  useSealingKey(key: Uint8Array): void {
    this.#writes.useSealingKey(key);
  }

  /**
   * Starts the writer and has it read what the first message write would otherwise read first:
   * the resend window's messages (2–5 µs each measured). `serve` calls it before it listens, so
   * the first clients after a restart do not wait for it. Call after migrate(). Resolves how many
   * messages the window holds.
   */
  warm(): Promise<number> {
    return this.#writes.warm();
  }

  #stmt(name: keyof typeof SQL): Database.Statement {
    let s = this.#stmts[name];
    if (!s) {
      s = this.#db.prepare(SQL[name]);
      this.#stmts[name] = s;
    }
    return s;
  }

  #write<T>(op: WriteOp): Promise<T> {
    return this.#writes.submit(op) as Promise<T>;
  }

  /** Runs before any write (the writer thread starts on the first one), on this connection. */
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
      // Outside a transaction: SQLite ignores this pragma inside one.
      if (m.rebuildsTables) db.pragma('foreign_keys = OFF');
      try {
        const ran = db
          .transaction(() => {
            // Another process may have applied it since `done` was read (two starting at once).
            if (db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(m.version)) return false;
            // References already broken before (foreign keys were off at some point) are not ours.
            const broken = () =>
              new Set((db.pragma('foreign_key_check') as unknown[]).map((r) => JSON.stringify(r)));
            const before = m.rebuildsTables ? broken() : new Set<string>();
            db.exec(m.sql);
            if (m.rebuildsTables && [...broken()].some((r) => !before.has(r)))
              throw new Error(
                `migration ${m.version} (${m.name}) left rows pointing at rows it did not keep; nothing was changed`,
              );
            db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
              m.version,
              m.name,
              Date.now(),
            );
            return true;
          })
          .immediate();
        if (ran) applied++;
      } finally {
        if (m.rebuildsTables) db.pragma('foreign_keys = ON');
      }
    }
    return applied;
  }

  async ping(): Promise<boolean> {
    if (this.#writes.broken()) return false;
    return this.#db.prepare('SELECT 1 AS ok').get() !== undefined;
  }

  insertAccount(account: NewAccountRecord): Promise<boolean> {
    return this.#write({ kind: 'insertAccount', params: accountParams(account), token: account.token });
  }

  async getAccount(appKey: string, accid: string): Promise<AccountRecord | undefined> {
    const cached = this.#cacheUsable();
    if (cached) {
      const hit = this.#cache.get(appKey, accid);
      if (hit) return hit;
    }
    const row = this.#stmt('getAccount').get(appKey, accid) as Row | undefined;
    if (!row) return undefined;
    return cached ? this.#cache.set(accountFromRow(row)) : this.#past(accountFromRow(row));
  }

  /**
   * A row read from the database while the cache could not be used: whatever the cache holds for
   * that account is older (a group of ours changed it, not answered yet) and goes, so that no later
   * read serves something older than what this one saw.
   */
  #past(record: AccountRecord): AccountRecord {
    this.#cache.delete(record.appKey, record.accid);
    return record;
  }

  async getAccounts(appKey: string, accids: readonly string[]): Promise<AccountRecord[]> {
    if (accids.length === 0) return [];
    const cached = this.#cacheUsable();
    const found: AccountRecord[] = [];
    let misses: string[] = [];
    if (!cached) misses = [...accids];
    else {
      // Each account once, however often named (a scan for short lists, a Set for long ones).
      const unique = accids.length > 32 ? [...new Set(accids)] : accids;
      for (let i = 0; i < unique.length; i++) {
        const accid = unique[i]!;
        if (unique !== accids || accids.indexOf(accid) === i) {
          const hit = this.#cache.get(appKey, accid);
          if (hit) found.push(hit);
          else misses.push(accid);
        }
      }
    }
    if (misses.length === 0) return found;
    const rows = this.#stmt('getAccountsJson').all(appKey, JSON.stringify(misses)) as Row[];
    for (const row of rows) {
      const record = accountFromRow(row);
      found.push(cached ? this.#cache.set(record) : this.#past(record));
    }
    return found;
  }

  async updateAccount(
    appKey: string,
    accid: string,
    patch: AccountPatch,
  ): Promise<AccountRecord | undefined> {
    const sets: string[] = [];
    const params: Row = { appKey, accid };
    for (const [key, value] of Object.entries(patch)) {
      const column = ACCOUNT_COLUMNS[key as keyof typeof ACCOUNT_COLUMNS];
      if (!column) throw new Error(`unknown account field ${key}`);
      sets.push(`${column} = @${key}`);
      params[key] = toSql(key, value);
    }
    if (sets.length === 0) return this.getAccount(appKey, accid);
    // The statement is prepared per set of columns (the writer keeps a small cache of them).
    const sql = `UPDATE accounts SET ${sets.join(', ')} WHERE app_key = @appKey AND accid = @accid RETURNING *`;
    // The row as this update left it, from the writer (no read-back on this thread).
    const row = (await this.#writes.submit(
      { kind: 'returning', sql, params },
      { appKey, accid },
    )) as Row | null;
    return row === null ? undefined : accountFromRow(row);
  }

  async countAccounts(appKey: string): Promise<number> {
    return (this.#stmt('countAccounts').get(appKey) as { n: number }).n;
  }

  async insertAccountBatch(accounts: readonly NewAccountRecord[]): Promise<boolean[]> {
    if (accounts.length === 0) return [];
    // One atomic op: the whole batch is stored, or (an error) none of it.
    return this.#write<boolean[]>({
      kind: 'atomic',
      ops: accounts.map((a) => ({ kind: 'insertAccount', params: accountParams(a), token: a.token })),
    });
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
    await this.#write(
      on
        ? { kind: 'run', sql: 'addRelation', params: [appKey, accid, r.type, r.targetAccid, r.createdAt] }
        : { kind: 'run', sql: 'removeRelation', params: [appKey, accid, r.type, r.targetAccid] },
    );
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
    const params = [r.appKey, r.key, Buffer.from(r.responseSealed), r.createdAt];
    return (await this.#write<number>({ kind: 'run', sql: 'insertIdempotency', params })) === 1;
  }

  deleteIdempotencyBefore(createdBefore: number): Promise<number> {
    return this.#write({ kind: 'run', sql: 'deleteIdempotencyBefore', params: [createdBefore] });
  }

  async insertApp(app: AppRecord): Promise<boolean> {
    const params = {
      appKey: app.appKey,
      name: app.name,
      secretSealed: Buffer.from(app.secretSealed),
      previousSecretSealed: app.previousSecretSealed ? Buffer.from(app.previousSecretSealed) : null,
      previousSecretExpiresAt: app.previousSecretExpiresAt ?? null,
      createdAt: app.createdAt,
    };
    return (await this.#write<number>({ kind: 'run', sql: 'insertApp', params })) === 1;
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
    const params = {
      appKey,
      secretSealed: Buffer.from(s.secretSealed),
      previousSecretSealed: s.previousSecretSealed ? Buffer.from(s.previousSecretSealed) : null,
      previousSecretExpiresAt: s.previousSecretExpiresAt ?? null,
    };
    return (await this.#write<number>({ kind: 'run', sql: 'updateAppSecrets', params })) === 1;
  }

  /**
   * Joins the group commit like account writes: the messages of one event-loop turn share one
   * COMMIT (one fsync), each answered after it. The message and its offline entries are one
   * savepoint inside the group, so they are stored together or not at all.
   */
  async insertMessage(
    m: NewMessage,
    offlineFor: readonly string[],
  ): Promise<{ message: MessageRecord; inserted: boolean }> {
    const params = messageInsertValues(m);
    const r = await this.#write<InsertedMessage>({ kind: 'insertMessage', params, offlineFor });
    return r.inserted
      ? { message: { ...m, id: r.id }, inserted: true }
      : { message: messageFromRow(r.row), inserted: false };
  }

  async listOffline(appKey: string, accid: string, limit: number): Promise<MessageRecord[]> {
    return (this.#stmt('listOffline').all(appKey, accid, limit) as Row[]).map(messageFromRow);
  }

  async ackOffline(appKey: string, accid: string, ids: readonly number[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.#write({ kind: 'run', sql: 'ackOffline', params: [appKey, accid, JSON.stringify(ids)] });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writes.close();
    this.#db.close();
  }
}

function toSql(key: string, value: unknown): unknown {
  if (BOOLEAN_FIELDS.has(key)) return value ? 1 : 0;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return value ?? null;
}

/** An insert's parameters in column order (AccountInsertParams); the writer appends the sealed token. */
function accountParams(a: NewAccountRecord): AccountInsertParams {
  return [
    a.appKey,
    a.accid,
    a.name ?? null,
    a.icon ?? null,
    a.sign ?? null,
    a.email ?? null,
    a.birth ?? null,
    a.mobile ?? null,
    a.ex ?? null,
    a.props ?? null,
    a.gender,
    a.blocked ? 1 : 0,
    a.mute ? 1 : 0,
    a.muteP2P ? 1 : 0,
    a.muteTeam ? 1 : 0,
    a.muteRoom ? 1 : 0,
    a.muteQChat ? 1 : 0,
    a.muteAv ? 1 : 0,
    a.donnop ? 1 : 0,
    a.createdAt,
    a.updatedAt,
  ];
}

const str = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : (v as string));

/** A BLOB that crossed from the writer thread arrives as a plain Uint8Array: the same bytes as a Buffer. */
const asBuffer = (b: Uint8Array): Buffer =>
  Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

function accountFromRow(r: Row): AccountRecord {
  return {
    appKey: r.app_key as string,
    accid: r.accid as string,
    tokenSealed: asBuffer(r.token_sealed as Uint8Array),
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
