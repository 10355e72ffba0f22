/**
 * The SQLite write path, shared by the writer thread (sqlite-writer.ts) and the in-process writer
 * (':memory:' databases, which one connection must own). A write is a plain, structured-cloneable
 * op, so it can cross a thread boundary; `runGroup` applies the ops queued during one turn in ONE
 * transaction (group commit: one COMMIT, one fsync), each op in its own savepoint so that a failing
 * statement rolls back and fails alone.
 *
 * Account tokens are sealed here, where the row is written: AES-GCM costs a few µs per token, and on
 * the writer thread that work leaves the request path.
 */
import type Database from 'better-sqlite3';
import { SecretVault, tokenOwner } from '../security/vault.js';
import { type MessageInsertValues, wellFormed } from './port.js';
import { ResendWindow } from './resend-window.js';
import type { CheckpointSettings, StoreNotice } from './sqlite-checkpoints.js';

export const WRITE_SQL = {
  // Positional (an array clones faster than an object across threads); see AccountInsertParams.
  insertAccount: `INSERT INTO accounts (app_key, accid, name, icon, sign, email, birth, mobile, ex, props,
      gender, blocked, mute, mute_p2p, mute_team, mute_room, mute_qchat, mute_av, donnop, created_at, updated_at,
      token_sealed)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (app_key, accid) DO NOTHING`,
  addRelation: `INSERT INTO account_relations (app_key, accid, type, target_accid, created_at)
    VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  removeRelation:
    'DELETE FROM account_relations WHERE app_key = ? AND accid = ? AND type = ? AND target_accid = ?',
  insertIdempotency: `INSERT INTO idempotency_keys (app_key, key, response_sealed, created_at)
    VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  deleteIdempotencyBefore: 'DELETE FROM idempotency_keys WHERE created_at < ?',
  insertApp: `INSERT INTO apps (app_key, name, secret_sealed, previous_secret_sealed, previous_secret_expires_at, created_at)
    VALUES (@appKey, @name, @secretSealed, @previousSecretSealed, @previousSecretExpiresAt, @createdAt)
    ON CONFLICT (app_key) DO NOTHING`,
  updateAppSecrets: `UPDATE apps SET secret_sealed = @secretSealed, previous_secret_sealed = @previousSecretSealed,
    previous_secret_expires_at = @previousSecretExpiresAt WHERE app_key = @appKey`,
  // Positional, like insertAccount: see MessageInsertParams.
  // No UNIQUE (app_key, from_accid, id_client): resends are found through the ResendWindow.
  insertMessage: `INSERT INTO messages (app_key, scene, from_accid, to_id, id_client, time, fields)
    VALUES (?, ?, ?, ?, ?, ?, ?)`,
  getMessageById: 'SELECT * FROM messages WHERE id = ?',
  // To fill the ResendWindow (rowid order is arrival order): where its newest `capacity` messages
  // above an id begin (none: fewer are there), then their keys, oldest first.
  windowStart: 'SELECT id FROM messages WHERE id > ? ORDER BY id DESC LIMIT 1 OFFSET ?',
  messageKeysAfter: 'SELECT id, app_key, from_accid, id_client FROM messages WHERE id > ? ORDER BY id',
  insertOffline: 'INSERT OR IGNORE INTO offline_messages (app_key, accid, message_id) VALUES (?, ?, ?)',
  generation: "SELECT v FROM nimbase_meta WHERE k = 'writes'",
  totalChanges: 'SELECT total_changes()',
  nextGeneration: "UPDATE nimbase_meta SET v = v + 1 WHERE k = 'writes' RETURNING v",
  ackOffline: `DELETE FROM offline_messages WHERE app_key = ? AND accid = ?
    AND message_id IN (SELECT value FROM json_each(?))`,
} as const;

export type WriteSqlName = keyof typeof WRITE_SQL;

/**
 * insertAccount's columns in order, app_key to updated_at (booleans as 0/1, unset strings null); the
 * sealed token is appended where it is sealed.
 */
export type AccountInsertParams = unknown[];
/** insertMessage's columns in order (port.ts, messageInsertValues). */
export type MessageInsertParams = MessageInsertValues;
type Params = readonly unknown[] | Record<string, unknown>;

export type WriteOp =
  /** One statement; its value is the number of changed rows. `sql` is a WRITE_SQL name or, for the
   * few statements built per shape (account updates), the SQL text itself. */
  | { kind: 'run'; sql: string; params: Params }
  /** One statement with a RETURNING clause (account updates); its value is the first row, or null. */
  | { kind: 'returning'; sql: string; params: Params }
  /** An account insert; `token` is sealed here. Value: true when inserted, false when it existed. */
  | { kind: 'insertAccount'; params: AccountInsertParams; token: string }
  /** A message and its offline entries, stored together. Value: InsertedMessage. */
  | { kind: 'insertMessage'; params: MessageInsertParams; offlineFor: readonly string[] }
  /** Several ops that succeed or fail together (batch create, import). Value: their values. */
  | { kind: 'atomic'; ops: readonly WriteOp[] };

/** What an insertMessage op resolves to: the new id, or the row stored earlier under the same idClient. */
export type InsertedMessage =
  | { inserted: true; id: number }
  | { inserted: false; row: Record<string, unknown> };

/**
 * A group's results, compact because they cross a thread boundary: `values[i]` is op i's value,
 * unless `failures` names op i (usually empty); and the write generation before and after the
 * group (undefined: not migrated yet).
 */
export interface GroupResult {
  values: unknown[];
  failures: WriteFailure[];
  before: number | undefined;
  after: number | undefined;
}
export interface WriteFailure {
  at: number;
  error: WriteError;
}
/** A failed op, as it crosses the thread boundary (Error objects lose their class there). */
export interface WriteError {
  message: string;
  code?: string | undefined;
}

export const writeErrorOf = (err: unknown): WriteError => ({
  message: err instanceof Error ? err.message : String(err),
  code:
    (err as { code?: unknown } | null)?.code === undefined
      ? undefined
      : String((err as { code: unknown }).code),
});

/** The Error a caller sees for a failed op. */
export function errorFromWrite(e: WriteError): Error {
  const err = new Error(e.message) as Error & { code?: string };
  if (e.code !== undefined) err.code = e.code;
  return err;
}

export class SqliteWriteExecutor {
  readonly #db: Database.Database;
  readonly #stmts = new Map<string, Database.Statement>();
  #vault: SecretVault | undefined;
  /** One op in a SAVEPOINT (a transaction function nested in another); made once, not per op. */
  readonly #inSavepoint: (op: WriteOp) => unknown;
  /** The group transaction (runGroup calls it with BEGIN IMMEDIATE); made once, not per group. */
  readonly #group: Database.Transaction<(ops: readonly WriteOp[]) => GroupResult>;

  /** The keys of the most recent messages, so a resend is found without a UNIQUE index. */
  readonly #window: ResendWindow;
  /** False until the window holds the table's newest messages (see fill()). */
  #windowFilled = false;
  /** The window may miss committed messages (a group failed; its COMMIT may still have landed). */
  #windowBehind = false;
  /** The write generation our last committed group left (another process's commits move it on). */
  #lastAfter: number | undefined;
  /** Messages inserted by the current group: added to the window once it commits. */
  readonly #pending = new PendingMessages();

  constructor(db: Database.Database, sealingKey?: Uint8Array, resendWindow: number = DEFAULT_RESEND_WINDOW) {
    this.#db = db;
    this.#window = new ResendWindow(resendWindow);
    this.#inSavepoint = db.transaction((op: WriteOp) => this.#run(op));
    this.#group = db.transaction((ops: readonly WriteOp[]) => this.#groupBody(ops));
    if (sealingKey) this.useSealingKey(sealingKey);
  }

  useSealingKey(key: Uint8Array): void {
    this.#vault = new SecretVault(key);
  }

  #stmt(sql: string): Database.Statement {
    let s = this.#stmts.get(sql);
    if (!s) {
      s = this.#db.prepare((WRITE_SQL as Record<string, string>)[sql] ?? sql);
      // Statements built per shape are few (one per set of updated columns); still, bound the cache.
      if (this.#stmts.size < 512) this.#stmts.set(sql, s);
    }
    return s;
  }

  /**
   * Applies `ops` in one transaction and commits it. A statement that fails rolls back alone and
   * fails only its own op. An error that aborts the whole transaction (disk full, I/O) fails every
   * op of the group. A group that changed rows also moves the write generation on by one: `before`
   * is the value it found, so a reader that saw `before` knows no other process wrote in between.
   */
  runGroup(ops: readonly WriteOp[]): GroupResult {
    let result: GroupResult;
    try {
      result = this.#group.immediate(ops);
    } catch (err) {
      // Rolled back, or a COMMIT that failed but may have landed: the next group reads back what
      // the table holds above the window.
      this.#pending.clear();
      this.#windowBehind = true;
      const error = writeErrorOf(err);
      const failures = ops.map((_, at) => ({ at, error }));
      return { values: [], failures, before: undefined, after: undefined };
    }
    // Committed: whatever happens to the window now, these ops succeeded.
    try {
      this.#pending.addTo(this.#window);
    } catch {
      this.#pending.clear();
      this.#window.clear();
      this.#windowFilled = false; // refilled from the table at the next message insert
    }
    this.#lastAfter = result.after;
    return result;
  }

  #groupBody(ops: readonly WriteOp[]): GroupResult {
    const before = this.#stmt('generation').pluck().get() as number | undefined;
    this.#catchUp(before);
    const totalChanges = this.#stmt('totalChanges').pluck();
    const start = totalChanges.get() as number;
    const values: unknown[] = new Array(ops.length);
    const failures: WriteFailure[] = [];
    for (let at = 0; at < ops.length; at++) {
      const op = ops[at]!;
      const pending = this.#pending.size;
      try {
        // One statement is atomic by itself; several run in a savepoint.
        values[at] =
          op.kind === 'run' || op.kind === 'returning' || op.kind === 'insertAccount'
            ? this.#run(op)
            : this.#inSavepoint(op);
      } catch (err) {
        if (!this.#db.inTransaction) throw err;
        this.#pending.truncate(pending); // the op's savepoint rolled its messages back
        values[at] = null;
        failures.push({ at, error: writeErrorOf(err) });
      }
    }
    const changed = (totalChanges.get() as number) !== start;
    const after = changed ? (this.#stmt('nextGeneration').pluck().get() as number | undefined) : before;
    return { values, failures, before, after };
  }

  #run(op: WriteOp): unknown {
    switch (op.kind) {
      case 'run':
        return this.#stmt(op.sql).run(bindable(op.params)).changes;
      case 'returning':
        return this.#stmt(op.sql).get(bindable(op.params)) ?? null;
      case 'insertAccount': {
        if (!this.#vault) throw new Error('the store has no sealing key (useSealingKey was not called)');
        const p = op.params;
        p.push(this.#vault.seal(op.token, tokenOwner(p[0] as string, p[1] as string)));
        return this.#stmt('insertAccount').run(p).changes === 1;
      }
      case 'insertMessage': {
        const p = op.params;
        // The key as SQLite will store it, so the row read back compares equal.
        p[0] = wellFormed(p[0]);
        p[2] = wellFormed(p[2]);
        p[4] = wellFormed(p[4]);
        const hash = ResendWindow.hash(p[0], p[2], p[4]);
        if (!this.#windowFilled) this.fill(); // in this group's transaction: nobody else writes now
        const row = this.#window.capacity === 0 ? undefined : this.#storedEarlier(hash, p);
        if (row) return { inserted: false, row } as InsertedMessage;
        const id = Number(this.#stmt('insertMessage').run(p).lastInsertRowid);
        const offline = this.#stmt('insertOffline');
        for (const accid of op.offlineFor) offline.run(p[0], accid, id);
        this.#pending.add(hash, id);
        return { inserted: true, id } as InsertedMessage;
      }
      case 'atomic':
        return op.ops.map((o) => this.#run(o));
    }
  }

  /** The message stored under p's (app, sender, idClient), if the window or this group has it. */
  #storedEarlier(hash: number, p: MessageInsertParams): Record<string, unknown> | undefined {
    for (const id of this.#pending.candidates(hash)) {
      const row = this.#sameKey(id, p);
      if (row) return row;
    }
    for (const id of this.#window.candidates(hash)) {
      const row = this.#sameKey(id, p);
      if (row) return row;
    }
    return undefined;
  }

  /** Message `id`, when it is stored under p's key (a hash names candidates; the row decides). */
  #sameKey(id: number, p: MessageInsertParams): Record<string, unknown> | undefined {
    const row = this.#stmt('getMessageById').get(id) as Record<string, unknown> | undefined;
    return row && row.app_key === p[0] && row.from_accid === p[2] && row.id_client === p[4] ? row : undefined;
  }

  /**
   * Fills the window with the table's newest `capacity` messages: at the first message insert, or
   * earlier through warm-up (the writer thread's start), since it reads every row of the window
   * (2–5 µs a message measured). Returns how many messages the window holds. Outside a group,
   * the first group then catches up with what others wrote meanwhile (its generation cannot
   * match: no group of ours has committed yet).
   */
  fill(): number {
    if (!this.#windowFilled) {
      this.#readNewer();
      this.#windowFilled = true;
    }
    return this.#window.size;
  }

  /**
   * At a group's start, in its transaction (nobody else can write now): once filled, the window
   * reads the messages another process (or a failed COMMIT that landed) added since, known by a
   * write generation our last group did not leave.
   */
  #catchUp(before: number | undefined): void {
    if (!this.#windowFilled || (!this.#windowBehind && before === this.#lastAfter)) return;
    this.#readNewer();
  }

  /** Adds the messages above the window's newest (at most the newest `capacity` of them). */
  #readNewer(): void {
    this.#windowBehind = false;
    if (this.#window.capacity === 0) return;
    const capacity = this.#window.capacity;
    const start = this.#stmt('windowStart')
      .pluck()
      .get(this.#window.through, capacity - 1) as number | undefined;
    // Row by row, not all(): a whole window of rows at once would cost hundreds of MB for a moment.
    const rows = this.#stmt('messageKeysAfter')
      .raw()
      .iterate(start === undefined ? this.#window.through : start - 1) as IterableIterator<
      [number, string, string, string]
    >;
    for (const [id, appKey, from, idClient] of rows) {
      this.#window.add(ResendWindow.hash(appKey, from, idClient), id);
    }
  }
}

/** The messages a group has inserted so far, found by hash until the group commits. */
class PendingMessages {
  #hashes: number[] = [];
  #ids: number[] = [];
  readonly #byHash = new Map<number, number[]>();

  get size(): number {
    return this.#ids.length;
  }

  add(hash: number, id: number): void {
    this.#hashes.push(hash);
    this.#ids.push(id);
    const at = this.#byHash.get(hash);
    if (at) at.push(id);
    else this.#byHash.set(hash, [id]);
  }

  candidates(hash: number): readonly number[] {
    return this.#byHash.get(hash) ?? [];
  }

  /** Forgets the messages added after the first `size` (their savepoint rolled back). */
  truncate(size: number): void {
    while (this.#ids.length > size) {
      const hash = this.#hashes.pop()!;
      this.#ids.pop();
      const at = this.#byHash.get(hash)!;
      at.pop();
      if (at.length === 0) this.#byHash.delete(hash);
    }
  }

  addTo(window: ResendWindow): void {
    for (let i = 0; i < this.#ids.length; i++) window.add(this.#hashes[i]!, this.#ids[i]!);
    this.clear();
  }

  clear(): void {
    this.#hashes = [];
    this.#ids = [];
    this.#byHash.clear();
  }
}

/**
 * Structured clone turns a Buffer into a plain Uint8Array, which better-sqlite3 does not bind: wrap
 * those again, in place (an op's params belong to the op).
 */
function bindable(params: Params): Params {
  const p = params as Record<string, unknown>;
  for (const k in p) {
    const v = p[k];
    if (v instanceof Uint8Array && !Buffer.isBuffer(v))
      p[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  }
  return params;
}

export type Durability = 'full' | 'normal';

/** Messages whose resends the SQLite store recognises (ResendWindow): 10 MB of memory. */
export const DEFAULT_RESEND_WINDOW = 500_000;

/** Opens a connection with the settings every connection of the store uses. */
export function openConnection(
  path: string,
  durability: Durability,
  Driver: typeof Database,
): Database.Database {
  const db = new Driver(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${durability === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}

/** Messages between the store and its writer thread. */
export type ToWriter =
  | { type: 'ops'; id: number; ops: WriteOp[] }
  /** Fill the resend window now (SqliteStore.warm); answered by 'warm'. */
  | { type: 'warm' }
  | { type: 'key'; key: Uint8Array }
  | { type: 'close' };
export type FromWriter =
  | ({
      type: 'results';
      /** The messages the group covered, in order, and their op counts; `values` runs over all their ops. */
      ids: number[];
      counts: number[];
    } & GroupResult)
  /** Something about the writer's checkpoints worth a log line (see StoreNotice). */
  | { type: 'notice'; notice: StoreNotice }
  /** The resend window is filled: how many messages it holds, or why it could not be. */
  | { type: 'warm'; messages: number; error?: WriteError | undefined }
  | { type: 'closed' };
export interface WriterData {
  path: string;
  durability: Durability;
  key?: Uint8Array | undefined;
  /** The writer's commit record, shared with the store (see CommitRecord). */
  commits: SharedArrayBuffer;
  /** When the writer restarts the WAL, and how often the checkpointer runs (sqlite-checkpoints.ts). */
  checkpoints: CheckpointSettings;
  /** Messages whose resends are recognised (DEFAULT_RESEND_WINDOW when undefined). */
  resendWindow?: number | undefined;
}

/**
 * What the writer thread publishes right after each COMMIT, before its results travel back: the
 * write generation its last group left, and how many times it found the generation moved by
 * someone else between two of its groups (or could not tell). The store reads it to tell, while
 * groups are still in flight, whether the generation it sees was reached by this writer alone.
 * Slot 0: foreign count; slot 1: last generation written (-1: none known). The count is stored
 * first and the generation read first, so a reader that sees a generation sees at least the count
 * stored with it.
 */
export class CommitRecord {
  readonly #slots: BigInt64Array;
  #last: number | undefined;

  /** Wraps a record made by `CommitRecord.create()` (the writer thread's side). */
  constructor(readonly buffer: SharedArrayBuffer) {
    this.#slots = new BigInt64Array(buffer);
  }

  /** A fresh record: nothing written yet. */
  static create(): CommitRecord {
    const record = new CommitRecord(new SharedArrayBuffer(16));
    Atomics.store(record.#slots, 1, -1n);
    return record;
  }

  /** Writer side: one committed (or failed: undefined) group. */
  committed(before: number | undefined, after: number | undefined): void {
    // The first group cannot know what came before it: counted as foreign, like a gap.
    if (before === undefined || after === undefined || before !== this.#last) Atomics.add(this.#slots, 0, 1n);
    this.#last = after;
    Atomics.store(this.#slots, 1, after === undefined ? -1n : BigInt(after));
  }

  /** Reader side: the generation the writer last left, then the foreign count (in that order). */
  read(): { last: number; foreign: number } {
    const last = Number(Atomics.load(this.#slots, 1));
    return { last, foreign: Number(Atomics.load(this.#slots, 0)) };
  }
}
