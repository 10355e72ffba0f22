/**
 * Account export/import as JSON Lines (a nimbase extension): one account per line, with its token in
 * the clear so users keep logging in after a move. On import every token is sealed anew under the
 * target's key and owner (another AppKey, another data dir). The file is a secret; this module never
 * logs and never puts a token in an error.
 */
import { type SecretVault, tokenOwner } from '../security/vault.js';
import type {
  AccountPatch,
  AccountRecord,
  AccountStore,
  NewAccountRecord,
  RelationStore,
} from '../store/port.js';
import { badParam, DomainError, isDomainError, PARAM_ERROR, paramEmpty } from './errors.js';
import { DEFAULT_SETTINGS, SETTING_FIELDS } from './registration.js';
import {
  checkProfile,
  checkProps,
  checkToken,
  normalizeAccid,
  PROFILE_FIELDS,
  RELATION_TYPES,
  type RelationType,
} from './rules.js';

/**
 * One line of the file. Optional strings are absent when unset; `blacklist` / `mutelist`
 * (setSpecialRelation) only when not empty.
 */
export type PortableAccount = Omit<AccountRecord, 'appKey' | 'tokenSealed'> & {
  token: string;
  blacklist?: string[];
  mutelist?: string[];
};

type Store = AccountStore & RelationStore;
const RELATION_KEYS = [
  ['blacklist', RELATION_TYPES.blacklist],
  ['mutelist', RELATION_TYPES.mutelist],
] as const;

const EXPORT_PAGE = 500;
const IMPORT_BATCH = 1000;

export async function* exportAccounts(
  store: Store,
  vault: SecretVault,
  appKey: string,
): AsyncGenerator<PortableAccount> {
  let after: string | undefined;
  for (;;) {
    const page = await store.listAccountsPage(appKey, after, EXPORT_PAGE);
    for (const { appKey: _, tokenSealed, ...rest } of page) {
      const line: PortableAccount = {
        ...rest,
        token: vault.open(tokenSealed, tokenOwner(appKey, rest.accid)),
      };
      const relations = await store.listRelations(appKey, rest.accid);
      for (const [key, type] of RELATION_KEYS) {
        const targets = relations.filter((r) => r.type === type).map((r) => r.targetAccid);
        if (targets.length > 0) line[key] = targets;
      }
      yield line;
    }
    if (page.length < EXPORT_PAGE) return;
    after = page[page.length - 1]!.accid;
  }
}

/** A line as a record for `appKey`, checked with the same rules as create; errors name no token. */
export function parsePortableLine(line: string, appKey: string, now: number): ImportItem {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    throw new DomainError(PARAM_ERROR, 'not a JSON object');
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o))
    throw new DomainError(PARAM_ERROR, 'not a JSON object');
  const a = o as Record<string, unknown>;
  const str = (k: string): string | undefined => {
    const v = a[k];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw badParam(k);
    return v;
  };
  const accid = normalizeAccid(str('accid'));
  const token = checkToken(str('token'));
  if (token === undefined) throw paramEmpty('token');
  const profile = checkProfile({
    ...Object.fromEntries(PROFILE_FIELDS.map((f) => [f, str(f)])),
    gender: num(a, 'gender') ?? 0,
  });
  const record: NewAccountRecord = {
    appKey,
    accid,
    token,
    props: checkProps(str('props')),
    gender: profile.gender ?? 0,
    ...DEFAULT_SETTINGS,
    createdAt: num(a, 'createdAt') ?? now,
    updatedAt: num(a, 'updatedAt') ?? now,
  };
  for (const f of PROFILE_FIELDS) record[f] = profile[f];
  for (const f of SETTING_FIELDS) {
    const v = a[f];
    if (v !== undefined && typeof v !== 'boolean') throw badParam(f);
    record[f] = v === true;
  }
  const relations: { type: RelationType; target: string }[] = [];
  for (const [key, type] of RELATION_KEYS) {
    const list = a[key];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) throw badParam(key);
    for (const t of list) {
      if (typeof t !== 'string') throw badParam(key);
      relations.push({ type, target: normalizeAccid(t, key) });
    }
  }
  return { record, relations };
}

interface ImportItem {
  record: NewAccountRecord;
  relations: { type: RelationType; target: string }[];
}

function num(a: Record<string, unknown>, k: string): number | undefined {
  const v = a[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw badParam(k);
  return v;
}

export interface ImportReport {
  imported: number;
  /** Accounts that existed and were left alone (or replaced with `overwrite`). */
  existing: number;
  overwritten: number;
  invalid: { line: number; reason: string }[];
}

/** Imports lines in transactions of 1000; existing accounts are skipped unless `overwrite`. */
export async function importAccounts(
  store: Store,
  vault: SecretVault,
  appKey: string,
  lines: AsyncIterable<string>,
  options: { overwrite?: boolean; now?: () => number } = {},
): Promise<ImportReport> {
  const now = options.now ?? Date.now;
  const report: ImportReport = { imported: 0, existing: 0, overwritten: 0, invalid: [] };
  let batch: ImportItem[] = [];
  const flush = async () => {
    const inserted = await store.insertAccountBatch(batch.map((b) => b.record));
    for (let i = 0; i < batch.length; i++) {
      const { record, relations } = batch[i]!;
      let written = inserted[i]!;
      if (written) report.imported++;
      else {
        report.existing++;
        if (options.overwrite) {
          const { appKey: k, accid, createdAt: _, token, ...rest } = record;
          const patch: AccountPatch = { ...rest, tokenSealed: vault.seal(token, tokenOwner(k, accid)) };
          written = (await store.updateAccount(k, accid, patch)) !== undefined;
          if (written) report.overwritten++;
        }
      }
      // Relations are added (never removed) for the accounts this import wrote.
      if (written)
        for (const r of relations)
          await store.setRelation(
            appKey,
            record.accid,
            { targetAccid: r.target, type: r.type, createdAt: record.updatedAt },
            true,
          );
    }
    batch = [];
  };
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    try {
      batch.push(parsePortableLine(line, appKey, now()));
    } catch (err) {
      if (!isDomainError(err)) throw err;
      report.invalid.push({ line: n, reason: err.desc });
      continue;
    }
    if (batch.length >= IMPORT_BATCH) await flush();
  }
  if (batch.length > 0) await flush();
  return report;
}
