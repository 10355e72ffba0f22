/**
 * Account inserts on PostgreSQL: the columns, the one multi-row statement, and the group insert
 * that seals the tokens and answers each row on its own. Used on PostgresStore's insert thread
 * (postgres-writer.ts), so that sealing, building the statement and the round trip do not run on
 * the event loop, and in process when the thread is off (`insertThread: false`).
 *
 * A row travels as a positional array (`InsertRow`, plain data: it is posted to the thread, and
 * arrays clone faster than objects), its login token still in the clear; only the sealed form is
 * ever sent to the database.
 */
import type pg from 'pg';
import { SecretVault, tokenOwner } from '../security/vault.js';
import type { AccountRecord, NewAccountRecord } from './port.js';

export type AccountField = keyof Omit<AccountRecord, 'appKey' | 'accid'>;

/** Field → column and its PostgreSQL array type (the unnest batch insert casts each parameter). */
export const ACCOUNT_COLUMNS: Record<AccountField, readonly [column: string, type: string]> = {
  tokenSealed: ['token_sealed', 'bytea'],
  name: ['name', 'text'],
  icon: ['icon', 'text'],
  sign: ['sign', 'text'],
  email: ['email', 'text'],
  birth: ['birth', 'text'],
  mobile: ['mobile', 'text'],
  ex: ['ex', 'text'],
  props: ['props', 'text'],
  gender: ['gender', 'smallint'],
  blocked: ['blocked', 'boolean'],
  mute: ['mute', 'boolean'],
  muteP2P: ['mute_p2p', 'boolean'],
  muteTeam: ['mute_team', 'boolean'],
  muteRoom: ['mute_room', 'boolean'],
  muteQChat: ['mute_qchat', 'boolean'],
  muteAv: ['mute_av', 'boolean'],
  donnop: ['donnop', 'boolean'],
  createdAt: ['created_at', 'bigint'],
  updatedAt: ['updated_at', 'bigint'],
};
const ACCOUNT_FIELDS = Object.keys(ACCOUNT_COLUMNS) as AccountField[];
const ALL_COLUMNS = ['app_key', 'accid', ...ACCOUNT_FIELDS.map((f) => ACCOUNT_COLUMNS[f][0])];
const ALL_TYPES = ['text', 'text', ...ACCOUNT_FIELDS.map((f) => ACCOUNT_COLUMNS[f][1])];
/** Position of the token (plain in an InsertRow, sealed once sent). */
const TOKEN = 2;

const INSERT_ACCOUNTS = {
  name: 'insertAccounts',
  text: `INSERT INTO accounts (${ALL_COLUMNS.join(', ')})
    SELECT * FROM unnest(${ALL_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})
    ON CONFLICT (app_key, accid) DO NOTHING
    RETURNING app_key, accid`,
};

/** [appKey, accid, token (plain), then every other field in ACCOUNT_COLUMNS order]. */
export type InsertRow = unknown[];

export function insertRow(a: NewAccountRecord): InsertRow {
  const row: unknown[] = [a.appKey, a.accid];
  for (const f of ACCOUNT_FIELDS) row.push(f === 'tokenSealed' ? a.token : a[f]);
  return row;
}

/** Per row: inserted (true), existed (false), or the error that refused the row on its own. */
export type InsertResult = boolean | { message: string; code?: string | undefined };

export function errorFromInsert(e: { message: string; code?: string | undefined }): Error {
  const err = new Error(e.message) as Error & { code?: string };
  if (e.code !== undefined) err.code = e.code;
  return err;
}

export class AccountInserter {
  readonly #vault: SecretVault;

  constructor(
    private readonly pool: pg.Pool,
    key: Uint8Array,
  ) {
    this.#vault = new SecretVault(key);
  }

  /**
   * One statement (one transaction) for `rows`; a row that makes it fail must not fail its
   * neighbours (possibly other apps' creates), so then each row is tried on its own and only the
   * ones that fail alone get their error.
   */
  async insertGroup(rows: readonly InsertRow[]): Promise<InsertResult[]> {
    const sealed = rows.map((r) => this.#seal(r));
    return this.#insertOrSplit(sealed);
  }

  async #insertOrSplit(rows: readonly unknown[][]): Promise<InsertResult[]> {
    try {
      return await insertMany(this.pool, rows);
    } catch (err) {
      if (rows.length === 1) {
        const e = err as { message?: unknown; code?: unknown };
        return [
          { message: String(e?.message ?? err), code: typeof e?.code === 'string' ? e.code : undefined },
        ];
      }
      return (await Promise.all(rows.map((r) => this.#insertOrSplit([r])))).flat();
    }
  }

  /** The row with its token sealed: what the database stores. */
  #seal(row: InsertRow): unknown[] {
    const out = row.slice();
    out[TOKEN] = this.#vault.seal(row[TOKEN] as string, tokenOwner(row[0] as string, row[1] as string));
    return out;
  }

  /** For `insertAccountBatch` (one transaction, all or nothing): sealed rows, not split on error. */
  sealAll(accounts: readonly NewAccountRecord[]): unknown[][] {
    return accounts.map((a) => this.#seal(insertRow(a)));
  }
}

/**
 * Inserts `rows` (sealed) with ONE statement, so one transaction, committed when it resolves; per
 * row true when inserted. A key twice in the list: only its first occurrence goes to the database.
 */
export async function insertMany(pool: pg.Pool, rows: readonly unknown[][]): Promise<boolean[]> {
  const keyOf = (r: unknown[]) => `${r[0]}\u0000${r[1]}`;
  const first = new Map<string, number>();
  rows.forEach((r, i) => {
    const k = keyOf(r);
    if (!first.has(k)) first.set(k, i);
  });
  const columns: unknown[][] = ALL_COLUMNS.map(() => []);
  for (const i of first.values()) {
    const row = rows[i]!;
    for (let c = 0; c < columns.length; c++) columns[c]!.push(toSql(row[c]));
  }
  const res = await pool.query<{ app_key: string; accid: string }>({ ...INSERT_ACCOUNTS, values: columns });
  const inserted = new Set(res.rows.map((r) => `${r.app_key}\u0000${r.accid}`));
  return rows.map((r, i) => {
    const k = keyOf(r);
    return first.get(k) === i && inserted.has(k);
  });
}

/**
 * `s` as it reaches PostgreSQL through a text parameter (pg sends the UTF-8 of the JavaScript
 * string, where a lone surrogate becomes U+FFFD). Strings put in JSON text need this first: JSON
 * keeps a lone surrogate as a `\ud800` escape, which PostgreSQL refuses.
 */
export function wellFormed(s: string): string {
  const w = s as unknown as { isWellFormed(): boolean; toWellFormed(): string };
  return w.isWellFormed() ? s : w.toWellFormed();
}

export function toSql(value: unknown): unknown {
  if (value instanceof Uint8Array && !Buffer.isBuffer(value))
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return value ?? null;
}
