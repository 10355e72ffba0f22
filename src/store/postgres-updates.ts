/**
 * Account updates on PostgreSQL, grouped like the inserts: the updates queued during one event-loop
 * turn go to PostgreSQL as ONE statement (one transaction, one WAL flush, one round trip), whatever
 * columns each of them sets. Every row carries a bit mask of the columns its patch names; a column
 * outside the mask keeps its value. The statement returns each updated row, so the caller gets the
 * account as stored without reading it back.
 *
 * Several updates of one account in the same group are merged in arrival order (a later value of a
 * field wins, as if they had run one after the other) and all of them get the merged row: they were
 * concurrent, and that order is one they could have run in.
 */
import type { AccountPatch, AccountRecord } from './port.js';
import { wellFormed } from './port.js';
import { ACCOUNT_COLUMNS, type AccountField } from './postgres-inserts.js';

/** The fields an update may set, in the order of a JSON row after [app key, accid, mask]. */
const UPDATE_FIELDS = (Object.keys(ACCOUNT_COLUMNS) as AccountField[]).filter((f) => f !== 'createdAt');
type UpdateField = (typeof UPDATE_FIELDS)[number];
/** Each field's position in UPDATE_FIELDS: its bit in the mask is 1 << position. */
const POSITION = new Map(UPDATE_FIELDS.map((f, i) => [f as string, i]));
const TEXT = new Set(UPDATE_FIELDS.filter((f) => ACCOUNT_COLUMNS[f][1] === 'text'));
if (UPDATE_FIELDS.length > 30) throw new Error('an update mask holds 30 fields at most');

function valueSql(f: AccountField, at: number): string {
  const [, type] = ACCOUNT_COLUMNS[f];
  const v = `(u.r->>${at})`;
  return type === 'bytea' ? `decode(${v}, 'hex')` : type === 'text' ? v : `${v}::${type}`;
}

/**
 * One statement for a whole group: the rows as one JSON parameter, each answered by RETURNING. The
 * rows are locked first, in key order (`l`, MATERIALIZED so that it runs on its own, before the
 * update: a locking SELECT locks as its sorted rows come out), so
 * two groups, of this node or another, that share accounts wait for each other instead of
 * deadlocking, whatever plan the UPDATE's join gets.
 */
export const UPDATE_ACCOUNTS = {
  name: 'updateAccounts',
  text: `WITH u AS (
      SELECT r->>0 AS app_key, r->>1 AS accid, (r->>2)::int AS m, r FROM jsonb_array_elements($1::jsonb) AS x(r)
    ), l AS MATERIALIZED (
      SELECT a.app_key, a.accid FROM accounts a JOIN u ON a.app_key = u.app_key AND a.accid = u.accid
      ORDER BY a.app_key, a.accid FOR UPDATE OF a
    )
    UPDATE accounts AS a SET ${UPDATE_FIELDS.map((f, i) => {
      const column = ACCOUNT_COLUMNS[f][0];
      return `${column} = CASE WHEN u.m & ${1 << i} <> 0 THEN ${valueSql(f, i + 3)} ELSE a.${column} END`;
    }).join(',\n      ')}
    FROM l JOIN u ON u.app_key = l.app_key AND u.accid = l.accid
    WHERE a.app_key = l.app_key AND a.accid = l.accid
    RETURNING a.*`,
};

export interface PendingUpdate {
  appKey: string;
  accid: string;
  /** Not empty (an empty patch writes nothing: the store reads the account instead). */
  patch: AccountPatch;
  /** The account as stored after the group, undefined when it does not exist. */
  resolve: (record: AccountRecord | undefined) => void;
  reject: (err: unknown) => void;
}

export interface EncodedUpdates {
  /** The JSON parameter of UPDATE_ACCOUNTS: one row per account. */
  rows: string;
  /** Each account's key (`keyOf`), in the order of `rows`. */
  keys: string[];
  /** For each update of the group, the position of its account in `keys`. */
  slot: number[];
}

export const keyOf = (appKey: string, accid: string): string => `${appKey}\u0000${accid}`;

/**
 * The group's rows, each account once with its updates merged in order. Throws on a field that is
 * not an account column (a programming error: AccountPatch names only columns).
 */
export function encodeUpdates(group: readonly PendingUpdate[]): EncodedUpdates {
  const merged: { key: string; row: unknown[] }[] = [];
  const first: number[] = [];
  const index = new Map<string, number>();
  for (const u of group) {
    // The key as PostgreSQL will store and return it (see wellFormed).
    const appKey = wellFormed(u.appKey);
    const accid = wellFormed(u.accid);
    const key = keyOf(appKey, accid);
    let account = index.get(key);
    if (account === undefined) {
      account = merged.length;
      index.set(key, account);
      const row: unknown[] = new Array(UPDATE_FIELDS.length + 3).fill(null);
      row[0] = appKey;
      row[1] = accid;
      row[2] = 0;
      merged.push({ key, row });
    }
    first.push(account);
    const row = merged[account]!.row;
    for (const field in u.patch) {
      const at = POSITION.get(field);
      if (at === undefined) throw new Error(`unknown account field ${field}`);
      row[2] = (row[2] as number) | (1 << at);
      row[3 + at] = encodeValue(field as UpdateField, u.patch[field as UpdateField]);
    }
  }
  // Rows in key order (the statement locks them in that order too; see UPDATE_ACCOUNTS).
  const order = merged.map((_, i) => i).sort((a, b) => (merged[a]!.key < merged[b]!.key ? -1 : 1));
  const position = new Array<number>(merged.length);
  order.forEach((m, i) => {
    position[m] = i;
  });
  return {
    rows: JSON.stringify(order.map((m) => merged[m]!.row)),
    keys: order.map((m) => merged[m]!.key),
    slot: first.map((m) => position[m]!),
  };
}

function encodeValue(field: UpdateField, v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  if (typeof v === 'string' && TEXT.has(field)) return wellFormed(v);
  return v;
}
