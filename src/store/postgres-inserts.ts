/**
 * Account inserts on PostgreSQL: the columns, the one multi-row statement, and the group insert
 * that seals the tokens and answers each row on its own. Used on PostgresStore's insert thread
 * (postgres-writer.ts), so that sealing, building the statement and the round trip do not run on
 * the event loop, and in process for insertAccountBatch and when the thread is off.
 *
 * A group travels as a few strings (`EncodedGroup`: plain data, cheap to post to the thread), the
 * login tokens still in the clear; only their sealed form is ever sent to the database.
 */
import type pg from 'pg';
import { SecretVault, tokenOwner } from '../security/vault.js';
import { type AccountRecord, type NewAccountRecord, wellFormed } from './port.js';

export type AccountField = keyof Omit<AccountRecord, 'appKey' | 'accid'>;

/** Field → column and its PostgreSQL type. */
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
/** The fields after the token, in the order of a JSON row (after app key and accid). */
const ROW_FIELDS = ACCOUNT_FIELDS.filter((f) => f !== 'tokenSealed');
const TEXT_FIELDS = new Set(ROW_FIELDS.filter((f) => ACCOUNT_COLUMNS[f][1] === 'text'));

/**
 * The rows travel as JSON text (JSON.stringify is native, where pg would quote every element of 22
 * arrays in JavaScript), the sealed tokens as a JSON array of hex; ROWS FROM zips them back.
 */
const INSERT_ACCOUNTS = {
  name: 'insertAccounts',
  text: `INSERT INTO accounts (app_key, accid, ${ACCOUNT_FIELDS.map((f) => ACCOUNT_COLUMNS[f][0]).join(', ')})
    SELECT r->>0, r->>1, decode(t, 'hex'), ${ROW_FIELDS.map((f, i) => `(r->>${i + 2})::${ACCOUNT_COLUMNS[f][1]}`).join(', ')}
    FROM ROWS FROM (jsonb_array_elements($1::jsonb), jsonb_array_elements_text($2::jsonb)) AS x(r, t)
    ON CONFLICT (app_key, accid) DO NOTHING
    RETURNING app_key, accid`,
};

/** A group of creates, each (app key, accid) once (see `distinct`). */
export interface EncodedGroup {
  /** App key and accid of each row, flattened: [appKey0, accid0, appKey1, accid1, …]. */
  keys: string[];
  /** Each row's login token, in the clear: the thread seals it. */
  tokens: string[];
  /** A JSON array of rows: [appKey, accid, then the fields after the token in ACCOUNT_COLUMNS order]. */
  rows: string;
}

export function encodeGroup(accounts: readonly NewAccountRecord[]): EncodedGroup {
  const keys: string[] = [];
  const tokens: string[] = [];
  const rows: unknown[][] = [];
  for (const a of accounts) {
    keys.push(a.appKey, a.accid);
    tokens.push(a.token);
    const row: unknown[] = [a.appKey, a.accid];
    for (const f of ROW_FIELDS) {
      const v = a[f];
      row.push(typeof v === 'string' && TEXT_FIELDS.has(f) ? wellFormed(v) : v);
    }
    rows.push(row);
  }
  return { keys, tokens, rows: JSON.stringify(rows) };
}

/**
 * The first item of each (app key, accid), and for every item the position of its account's first
 * item in `firsts` (a later create of an account that the same statement creates gets that item's
 * outcome, never true).
 */
export function distinct<T>(
  items: readonly T[],
  accountOf: (item: T) => NewAccountRecord,
): { firsts: T[]; firstOf: number[] } {
  const firsts: T[] = [];
  const firstOf: number[] = [];
  const index = new Map<string, number>();
  for (const item of items) {
    const a = accountOf(item);
    const k = `${a.appKey}\u0000${a.accid}`;
    let first = index.get(k);
    if (first === undefined) {
      first = firsts.length;
      index.set(k, first);
      firsts.push(item);
    }
    firstOf.push(first);
  }
  return { firsts, firstOf };
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
   * One statement (one transaction) for the group; a row that makes it fail must not fail its
   * neighbours (possibly other apps' creates), so then each row is tried on its own and only the
   * ones that fail alone get their error.
   */
  async insertGroup(g: EncodedGroup): Promise<InsertResult[]> {
    try {
      return await this.#insert(g);
    } catch (err) {
      if (g.tokens.length === 1) {
        const e = err as { message?: unknown; code?: unknown };
        return [
          { message: String(e?.message ?? err), code: typeof e?.code === 'string' ? e.code : undefined },
        ];
      }
      const rows = JSON.parse(g.rows) as unknown[];
      const alone = g.tokens.map((token, i) =>
        this.insertGroup({
          keys: g.keys.slice(2 * i, 2 * i + 2),
          tokens: [token],
          rows: JSON.stringify([rows[i]]),
        }),
      );
      return (await Promise.all(alone)).flat();
    }
  }

  /**
   * insertAccountBatch: ONE statement, all or nothing; per account true when inserted, false when
   * it existed or an earlier item of the list creates it.
   */
  async insertAll(accounts: readonly NewAccountRecord[]): Promise<boolean[]> {
    const { firsts, firstOf } = distinct(accounts, (a) => a);
    const inserted = await this.#insert(encodeGroup(firsts));
    return accounts.map((a, i) => firsts[firstOf[i]!] === a && inserted[firstOf[i]!]!);
  }

  /** Seals the tokens and runs the statement; per row true when inserted. */
  async #insert(g: EncodedGroup): Promise<boolean[]> {
    const sealed = g.tokens.map((token, i) =>
      this.#vault.seal(token, tokenOwner(g.keys[2 * i]!, g.keys[2 * i + 1]!)).toString('hex'),
    );
    const res = await this.pool.query<{ app_key: string; accid: string }>({
      ...INSERT_ACCOUNTS,
      values: [g.rows, JSON.stringify(sealed)],
    });
    const inserted = new Set(res.rows.map((r) => `${r.app_key}\u0000${r.accid}`));
    return g.tokens.map((_, i) => inserted.has(`${g.keys[2 * i]}\u0000${g.keys[2 * i + 1]}`));
  }
}

export function toSql(value: unknown): unknown {
  if (value instanceof Uint8Array && !Buffer.isBuffer(value))
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return value ?? null;
}
