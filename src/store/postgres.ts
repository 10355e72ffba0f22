/**
 * The scale-out store: PostgreSQL through a `pg` connection pool, shared by every nimbase node.
 * SQL lives in named constants and runs as named prepared statements (`name` makes pg prepare each
 * once per connection). Correctness across nodes rests on the database alone: unique keys and
 * single-statement writes (`ON CONFLICT DO NOTHING`, `UPDATE … WHERE`), never read-then-write.
 *
 * Account inserts use group commit like the SQLite adapter: the inserts that arrive in one
 * event-loop turn become ONE multi-row statement (`INSERT … SELECT … ON CONFLICT DO NOTHING`, the
 * rows as one JSON parameter: postgres-inserts.ts), run in autocommit, so each promise resolves
 * after that statement's COMMIT and an answered create is durable (PostgreSQL's own
 * synchronous_commit decides the fsync). At most `maxInsertBatches` such statements run at once;
 * creates arriving meanwhile go together in the next (postgres-batches.ts). A thread of its own
 * (postgres-writer.ts) seals the tokens and runs these statements, off the event loop.
 *
 * Account reads are grouped the same way (one statement per turn for every getAccount/getAccounts)
 * and go through a cache that can never serve stale data, whichever node wrote: each row version has
 * a number of its own (`row_version`, migration 20), the statement sends the number of the cached
 * copy, and the database sends the whole row only when its number differs. A cached record is used
 * only when PostgreSQL confirmed it in that very statement, so a read is exactly as fresh as an
 * uncached one; the cache only saves transferring and parsing rows that did not change.
 */

import type { Worker } from 'node:worker_threads';
import pg from 'pg';
import { AccountCache } from './account-cache.js';
import { POSTGRES_MIGRATIONS } from './migrations/postgres.js';
import {
  type AccountPatch,
  type AccountRecord,
  type AppRecord,
  type IdempotencyRecord,
  type MessageRecord,
  type NewAccountRecord,
  type NewMessage,
  type RelationRecord,
  type Store,
  wellFormed,
} from './port.js';
import { runGroup, TurnBatcher } from './postgres-batches.js';
import {
  AccountInserter,
  distinct,
  type EncodedGroup,
  encodeGroup,
  errorFromInsert,
  type InsertResult,
  toSql,
} from './postgres-inserts.js';
import { PostgresMessages } from './postgres-messages.js';
import { encodeUpdates, keyOf, type PendingUpdate, UPDATE_ACCOUNTS } from './postgres-updates.js';
import type { FromPgWriter, PgWriterData, ToPgWriter } from './postgres-writer.js';
import { spawnStoreWorker } from './worker.js';

export interface PostgresOptions {
  /** `postgres://user@host:port/db`. */
  url: string;
  /** Pool size (default 10). */
  maxConnections?: number;
  /**
   * Insert batches in flight at once (default 2). Creates arriving while that many are running wait
   * for one to finish and then go together in the next: fewer, larger statements cost PostgreSQL
   * (one transaction and one WAL flush each) and the event loop (one round trip each) less per create.
   */
  maxInsertBatches?: number;
  /** Read statements in flight at once (default 2); see maxInsertBatches. */
  maxReadBatches?: number;
  /**
   * Update statements in flight at once (default 1: two measured the same; each statement locks its
   * rows in key order, so groups in flight wait for each other rather than deadlock).
   */
  maxUpdateBatches?: number;
  /** Account records kept for validated reads (default 50,000; 0 = none). */
  accountCacheSize?: number;
  /**
   * Seal and insert new accounts on a thread of their own (default true), with a pool of
   * `maxInsertBatches` connections besides `maxConnections`; false: on the event loop.
   */
  insertThread?: boolean;
}

/** Rows of one insert statement at most; more pending creates wait for the next statement. */
const MAX_INSERT_ROWS = 1000;
/** Accounts of one update statement at most; more pending updates wait for the next statement. */
const MAX_UPDATE_ROWS = 1000;
/** Accids of one read statement at most (a group is cut after the read that reaches it). */
const MAX_READ_ACCIDS = 4000;
const DEFAULT_ACCOUNT_CACHE = 50_000;
/** The version sent for an account this node has no copy of: no row has it (versions are ≥ 0). */
const NO_VERSION = '-1';

type Row = Record<string, unknown>;
const SQL = {
  // The accounts found among the (app_key, accid, version of the cached copy) triples, as ONE row:
  // `hits`, the positions (from 0) whose cached copy is current, comma-separated; `misses`, a JSON
  // array of [position, row version, whole row] for the others. One row, not one per account: parsing hundreds
  // of DataRow messages was the larger part of a grouped read's cost. The three lists travel as
  // JSON text (JSON.stringify is native; pg would quote each array element in JavaScript).
  readAccounts: `SELECT
      string_agg((k.i - 1)::text, ',') FILTER (WHERE a.row_version = k.v::bigint) AS hits,
      json_agg(json_build_array(k.i - 1, a.row_version::text, row_to_json(a))) FILTER (WHERE a.row_version <> k.v::bigint) AS misses
    FROM ROWS FROM (json_array_elements_text($1::json), json_array_elements_text($2::json),
      json_array_elements_text($3::json)) WITH ORDINALITY AS k(app_key, accid, v, i)
    JOIN accounts a ON a.app_key = k.app_key AND a.accid = k.accid`,
  countAccounts: 'SELECT count(*)::int AS n FROM accounts WHERE app_key = $1',
  insertApp: `INSERT INTO apps (app_key, name, secret_sealed, previous_secret_sealed, previous_secret_expires_at, created_at)
    VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (app_key) DO NOTHING`,
  getApp: 'SELECT * FROM apps WHERE app_key = $1',
  listApps: 'SELECT * FROM apps ORDER BY created_at, app_key',
  updateAppSecrets: `UPDATE apps SET secret_sealed = $2, previous_secret_sealed = $3,
    previous_secret_expires_at = $4 WHERE app_key = $1`,
  ping: 'SELECT 1 AS ok',
  listAccountsFirst: 'SELECT * FROM accounts WHERE app_key = $1 ORDER BY accid LIMIT $2',
  listAccountsAfter: 'SELECT * FROM accounts WHERE app_key = $1 AND accid > $2 ORDER BY accid LIMIT $3',
  addRelation: `INSERT INTO account_relations (app_key, accid, type, target_accid, created_at)
    VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
  removeRelation:
    'DELETE FROM account_relations WHERE app_key = $1 AND accid = $2 AND type = $3 AND target_accid = $4',
  listRelations: `SELECT type, target_accid, created_at FROM account_relations WHERE app_key = $1 AND accid = $2
    ORDER BY created_at, target_accid`,
  getIdempotency: 'SELECT * FROM idempotency_keys WHERE app_key = $1 AND key = $2',
  insertIdempotency: `INSERT INTO idempotency_keys (app_key, key, response_sealed, created_at)
    VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
  deleteIdempotencyBefore: 'DELETE FROM idempotency_keys WHERE created_at < $1',
} as const;

/** Any stable 64-bit number: the advisory lock that serialises migrations across nodes. */
const MIGRATION_LOCK = 7_314_159_265;

interface PendingInsert {
  account: NewAccountRecord;
  resolve: (inserted: boolean) => void;
  reject: (err: unknown) => void;
}

interface PendingRead {
  appKey: string;
  /** Distinct. */
  accids: string[];
  resolve: (found: AccountRecord[]) => void;
  reject: (err: unknown) => void;
}

export class PostgresStore implements Store {
  readonly kind = 'postgres';
  /** One message statement at a time, rows in call order (postgres-messages.ts). */
  readonly messagesInCallOrder = true;
  readonly #pool: pg.Pool;
  readonly #inserts: TurnBatcher<PendingInsert>;
  readonly #reads: TurnBatcher<PendingRead>;
  readonly #updates: TurnBatcher<PendingUpdate>;
  readonly #cache: AccountCache;
  /** The row version of each cached record (records are frozen, so identity is the key). */
  readonly #versions = new WeakMap<AccountRecord, string>();
  #closed = false;
  readonly #messages: PostgresMessages;
  readonly #url: string;
  readonly #insertThread: boolean;
  readonly #insertConnections: number;
  #key: Uint8Array | undefined;
  /** Sealing and inserting in process: insertAccountBatch, and inserts with insertThread off. */
  #inserter: AccountInserter | undefined;
  #writer: Worker | undefined;
  #writerExited: Promise<void> | undefined;
  readonly #writerCalls = new Map<
    number,
    { resolve: (r: InsertResult[]) => void; reject: (e: Error) => void }
  >();
  #writerSeq = 0;

  constructor(options: PostgresOptions) {
    this.#pool = new pg.Pool({
      connectionString: options.url,
      max: options.maxConnections ?? 10,
      application_name: 'nimbase',
    });
    // An idle client losing its server (restart, failover) must not crash the process; the pool
    // drops it and the next query opens a fresh connection.
    this.#pool.on('error', () => {});
    this.#url = options.url;
    this.#insertThread = options.insertThread ?? true;
    this.#insertConnections = options.maxInsertBatches ?? 2;
    this.#inserts = new TurnBatcher((b) => this.#flush(b), this.#insertConnections, MAX_INSERT_ROWS);
    this.#reads = new TurnBatcher(
      (b) => this.#read(b),
      options.maxReadBatches ?? 2,
      MAX_READ_ACCIDS,
      (r) => r.accids.length,
    );
    this.#updates = new TurnBatcher(
      (g) => runGroup(g, (once) => this.#update(once)),
      options.maxUpdateBatches ?? 1,
      MAX_UPDATE_ROWS,
    );
    this.#cache = new AccountCache(options.accountCacheSize ?? DEFAULT_ACCOUNT_CACHE);
    this.#messages = new PostgresMessages(this.#pool);
  }

  insertMessage(
    message: NewMessage,
    offlineFor: readonly string[],
  ): Promise<{ message: MessageRecord; inserted: boolean }> {
    return this.#messages.insertMessage(message, offlineFor);
  }

  listOffline(appKey: string, accid: string, limit: number): Promise<MessageRecord[]> {
    return this.#messages.listOffline(appKey, accid, limit);
  }

  ackOffline(appKey: string, accid: string, ids: readonly number[]): Promise<number> {
    return this.#messages.ackOffline(appKey, accid, ids);
  }

  #query(name: keyof typeof SQL, values: unknown[]): Promise<pg.QueryResult<Row>> {
    return this.#pool.query<Row>({ name, text: SQL[name], values });
  }

  async migrate(): Promise<number> {
    const client = await this.#pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await client.query(
          'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
        );
        const done = new Set(
          (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map(
            (r) => r.version,
          ),
        );
        let applied = 0;
        for (const m of POSTGRES_MIGRATIONS) {
          if (done.has(m.version)) continue;
          await client.query('BEGIN');
          try {
            await client.query(m.sql);
            await client.query(
              'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
              [m.version, m.name, Date.now()],
            );
            await client.query('COMMIT');
          } catch (err) {
            await client.query('ROLLBACK');
            throw err;
          }
          applied++;
        }
        return applied;
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      }
    } finally {
      client.release();
    }
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.#query('ping', [])).rows.length === 1;
    } catch {
      return false;
    }
  }

  useSealingKey(key: Uint8Array): void {
    this.#key = Uint8Array.from(key);
    this.#inserter = new AccountInserter(this.#pool, this.#key);
    this.#writer?.postMessage({ type: 'key', key: this.#key } satisfies ToPgWriter);
  }

  insertAccount(input: NewAccountRecord): Promise<boolean> {
    if (!this.#key) return Promise.reject(noKey());
    if (this.#closed) return Promise.reject(new Error('store is closed'));
    return new Promise((resolve, reject) => this.#inserts.add({ account: input, resolve, reject }));
  }

  /** One statement for the creates of the last turn(s), on the insert thread unless it is off. */
  async #flush(group: PendingInsert[]): Promise<void> {
    // A later create of an account created earlier in the group gets that create's outcome, never true.
    const { firsts, firstOf } = distinct(group, (p) => p.account);
    let results: InsertResult[];
    try {
      const encoded = encodeGroup(firsts.map((p) => p.account));
      results = this.#insertThread
        ? await this.#onWriter(encoded)
        : await this.#inserter!.insertGroup(encoded);
    } catch (err) {
      for (const p of group) p.reject(err);
      return;
    }
    group.forEach((p, i) => {
      const first = firstOf[i]!;
      const r = results[first]!;
      if (typeof r !== 'boolean') p.reject(errorFromInsert(r));
      else p.resolve(r && firsts[first] === p);
    });
  }

  #onWriter(group: EncodedGroup): Promise<InsertResult[]> {
    this.#writer ??= this.#startWriter();
    const id = ++this.#writerSeq;
    const writer = this.#writer;
    return new Promise((resolve, reject) => {
      this.#writerCalls.set(id, { resolve, reject });
      if (this.#writerCalls.size === 1) writer.ref();
      writer.postMessage({ type: 'insert', id, group } satisfies ToPgWriter);
    });
  }

  /** Started on the first create, so tools that only read never spawn a thread. */
  #startWriter(): Worker {
    const worker = spawnWriter({ url: this.#url, maxConnections: this.#insertConnections, key: this.#key! });
    const settle = (id: number) => {
      const call = this.#writerCalls.get(id);
      this.#writerCalls.delete(id);
      // Idle, the thread must not keep the process alive.
      if (this.#writerCalls.size === 0) worker.unref();
      return call;
    };
    worker.on('message', (m: FromPgWriter) => {
      if (m.type === 'results') settle(m.id)?.resolve(m.results);
      else if (m.type === 'failed') settle(m.id)?.reject(new Error(m.message));
    });
    const fail = (err: Error) => {
      if (this.#writer === worker) this.#writer = undefined; // the next create starts a new thread
      const calls = [...this.#writerCalls.values()];
      this.#writerCalls.clear();
      for (const c of calls) c.reject(err);
    };
    worker.on('error', (err) =>
      fail(new Error(`the PostgreSQL insert thread failed: ${err.message}`, { cause: err })),
    );
    this.#writerExited = new Promise((resolve) =>
      worker.once('exit', (code) => {
        fail(new Error(`the PostgreSQL insert thread exited (code ${code})`));
        resolve();
      }),
    );
    return worker;
  }

  async insertAccountBatch(accounts: readonly NewAccountRecord[]): Promise<boolean[]> {
    if (this.#closed) throw new Error('store is closed');
    if (!this.#inserter) throw noKey();
    if (accounts.length === 0) return [];
    return this.#inserter.insertAll(accounts);
  }

  async listAccountsPage(
    appKey: string,
    afterAccid: string | undefined,
    limit: number,
  ): Promise<AccountRecord[]> {
    const res =
      afterAccid === undefined
        ? await this.#query('listAccountsFirst', [appKey, limit])
        : await this.#query('listAccountsAfter', [appKey, afterAccid, limit]);
    return res.rows.map(accountFromRow);
  }

  async setRelation(appKey: string, accid: string, r: RelationRecord, on: boolean): Promise<void> {
    if (on) await this.#query('addRelation', [appKey, accid, r.type, r.targetAccid, r.createdAt]);
    else await this.#query('removeRelation', [appKey, accid, r.type, r.targetAccid]);
  }

  async listRelations(appKey: string, accid: string): Promise<RelationRecord[]> {
    return (await this.#query('listRelations', [appKey, accid])).rows.map((r) => ({
      type: r.type as number,
      targetAccid: r.target_accid as string,
      createdAt: num(r.created_at),
    }));
  }

  async getIdempotency(appKey: string, key: string): Promise<IdempotencyRecord | undefined> {
    const r = (await this.#query('getIdempotency', [appKey, key])).rows[0];
    if (!r) return undefined;
    return {
      appKey: r.app_key as string,
      key: r.key as string,
      responseSealed: r.response_sealed as Buffer,
      createdAt: num(r.created_at),
    };
  }

  async insertIdempotency(r: IdempotencyRecord): Promise<boolean> {
    const res = await this.#query('insertIdempotency', [
      r.appKey,
      r.key,
      toSql(r.responseSealed),
      r.createdAt,
    ]);
    return res.rowCount === 1;
  }

  async deleteIdempotencyBefore(createdBefore: number): Promise<number> {
    return (await this.#query('deleteIdempotencyBefore', [createdBefore])).rowCount ?? 0;
  }

  async getAccount(appKey: string, accid: string): Promise<AccountRecord | undefined> {
    return (await this.#readLater(appKey, [accid]))[0];
  }

  getAccounts(appKey: string, accids: readonly string[]): Promise<AccountRecord[]> {
    if (accids.length === 0) return Promise.resolve([]);
    // Each account once, however often named (short lists: a scan costs less than a Set).
    let distinct: string[];
    if (accids.length > 32) distinct = [...new Set(accids)];
    else {
      distinct = [];
      for (const a of accids) if (!distinct.includes(a)) distinct.push(a);
    }
    return this.#readLater(appKey, distinct);
  }

  #readLater(appKey: string, accids: string[]): Promise<AccountRecord[]> {
    if (this.#closed) return Promise.reject(new Error('store is closed'));
    return new Promise((resolve, reject) => this.#reads.add({ appKey, accids, resolve, reject }));
  }

  /** One statement for every read queued during the last turn; see "Account reads" above. */
  async #read(group: PendingRead[]): Promise<void> {
    const appKeys: string[] = [];
    const accids: string[] = [];
    const versions: string[] = [];
    const cached: (AccountRecord | undefined)[] = [];
    /** Position of each read's first triple, and one past the last (group.length + 1 entries). */
    const starts: number[] = [];
    for (const r of group) {
      starts.push(accids.length);
      for (const accid of r.accids) {
        const c = this.#cache.get(r.appKey, accid);
        appKeys.push(r.appKey);
        accids.push(wellFormed(accid));
        versions.push(c === undefined ? NO_VERSION : this.#versions.get(c)!);
        cached.push(c);
      }
    }
    starts.push(accids.length);
    let result: { hits: string | null; misses: [number, string, Row][] | null };
    try {
      const lists = [JSON.stringify(appKeys), JSON.stringify(accids), JSON.stringify(versions)];
      result = (await this.#query('readAccounts', lists)).rows[0] as typeof result;
    } catch (err) {
      // One bad read (an accid PostgreSQL refuses as text, say) must not fail its neighbours.
      if (group.length === 1) group[0]!.reject(err);
      else await Promise.all(group.map((r) => this.#read([r])));
      return;
    }
    const found: AccountRecord[][] = group.map(() => []);
    let g = 0;
    // Positions come in no particular order: find each one's read by its position.
    const add = (i: number, record: AccountRecord) => {
      if (i < starts[g]! || i >= starts[g + 1]!) {
        g = 0;
        while (i >= starts[g + 1]!) g++;
      }
      found[g]!.push(record);
    };
    if (result.hits !== null) for (const i of result.hits.split(',')) add(+i, cached[+i]!);
    if (result.misses !== null)
      for (const [i, version, row] of result.misses) {
        add(i, this.#cached(row, version));
      }
    group.forEach((r, k) => {
      r.resolve(found[k]!);
    });
  }

  async updateAccount(
    appKey: string,
    accid: string,
    patch: AccountPatch,
  ): Promise<AccountRecord | undefined> {
    // An empty patch writes nothing (an UPDATE would still make a new row version): read instead.
    if (Object.keys(patch).length === 0) return this.getAccount(appKey, accid);
    if (this.#closed) throw new Error('store is closed');
    return new Promise((resolve, reject) => this.#updates.add({ appKey, accid, patch, resolve, reject }));
  }

  /** A row PostgreSQL just sent, kept with its version for validated reads. */
  #cached(row: Row, version: string): AccountRecord {
    const record = this.#cache.set(accountFromRow(row));
    this.#versions.set(record, version);
    return record;
  }

  /** One statement for every update queued during the last turn (postgres-updates.ts). */
  async #update(group: PendingUpdate[]): Promise<void> {
    let encoded: ReturnType<typeof encodeUpdates>;
    try {
      encoded = encodeUpdates(group);
    } catch (err) {
      // A patch naming no column (a programming error) fails its own caller only: a data error
      // (SQLSTATE 22023, invalid parameter value) makes runGroup run the updates one by one.
      throw Object.assign(new Error((err as Error).message, { cause: err }), { code: '22023' });
    }
    const rows = (await this.#pool.query<Row>({ ...UPDATE_ACCOUNTS, values: [encoded.rows] })).rows;
    const byKey = new Map<string, AccountRecord>();
    for (const row of rows)
      byKey.set(
        keyOf(row.app_key as string, row.accid as string),
        this.#cached(row, String(row.row_version)),
      );
    group.forEach((u, i) => {
      u.resolve(byKey.get(encoded.keys[encoded.slot[i]!]!));
    });
  }

  async countAccounts(appKey: string): Promise<number> {
    return (await this.#query('countAccounts', [appKey])).rows[0]!.n as number;
  }

  async insertApp(app: AppRecord): Promise<boolean> {
    const res = await this.#query('insertApp', [
      app.appKey,
      app.name,
      toSql(app.secretSealed),
      toSql(app.previousSecretSealed),
      app.previousSecretExpiresAt ?? null,
      app.createdAt,
    ]);
    return res.rowCount === 1;
  }

  async getApp(appKey: string): Promise<AppRecord | undefined> {
    const row = (await this.#query('getApp', [appKey])).rows[0];
    return row ? appFromRow(row) : undefined;
  }

  async listApps(): Promise<AppRecord[]> {
    return (await this.#query('listApps', [])).rows.map(appFromRow);
  }

  async updateAppSecrets(
    appKey: string,
    s: Pick<AppRecord, 'secretSealed' | 'previousSecretSealed' | 'previousSecretExpiresAt'>,
  ): Promise<boolean> {
    const res = await this.#query('updateAppSecrets', [
      appKey,
      toSql(s.secretSealed),
      toSql(s.previousSecretSealed),
      s.previousSecretExpiresAt ?? null,
    ]);
    return res.rowCount === 1;
  }

  /** Flushes queued inserts, waits for the ones in flight, then ends the pool. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([
      this.#inserts.drain(),
      this.#reads.drain(),
      this.#updates.drain(),
      this.#messages.drain(),
    ]);
    const writer = this.#writer;
    if (writer) {
      writer.ref();
      writer.postMessage({ type: 'close' } satisfies ToPgWriter);
      await this.#writerExited;
    }
    await this.#pool.end();
  }
}

const noKey = () => new Error('the store has no sealing key (useSealingKey was not called)');

const spawnWriter = (workerData: PgWriterData) => spawnStoreWorker('postgres-writer', workerData);

const str = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : (v as string));
/** BIGINT columns arrive as strings (pg does not guess at 64-bit precision); ours are ms timestamps. */
const num = (v: unknown): number => (typeof v === 'string' ? Number(v) : (v as number));

/** A row as pg parses it, or as `row_to_json` renders it (bytea as `\\x…` hex, BIGINT as a number). */
function accountFromRow(r: Row): AccountRecord {
  const token = r.token_sealed;
  return {
    appKey: r.app_key as string,
    accid: r.accid as string,
    tokenSealed: typeof token === 'string' ? Buffer.from(token.slice(2), 'hex') : (token as Buffer),
    name: str(r.name),
    icon: str(r.icon),
    sign: str(r.sign),
    email: str(r.email),
    birth: str(r.birth),
    mobile: str(r.mobile),
    ex: str(r.ex),
    props: str(r.props),
    gender: r.gender as number,
    blocked: r.blocked === true,
    mute: r.mute === true,
    muteP2P: r.mute_p2p === true,
    muteTeam: r.mute_team === true,
    muteRoom: r.mute_room === true,
    muteQChat: r.mute_qchat === true,
    muteAv: r.mute_av === true,
    donnop: r.donnop === true,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

function appFromRow(r: Row): AppRecord {
  return {
    appKey: r.app_key as string,
    name: r.name as string,
    secretSealed: r.secret_sealed as Buffer,
    previousSecretSealed: (r.previous_secret_sealed as Buffer | null) ?? undefined,
    previousSecretExpiresAt:
      r.previous_secret_expires_at === null ? undefined : num(r.previous_secret_expires_at),
    createdAt: num(r.created_at),
  };
}
