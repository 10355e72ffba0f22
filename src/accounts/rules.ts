/**
 * Every account rule in one table (spec/accounts-v1.md §0.1, §0.2, §1). Validation, tests and docs
 * read these constants; nothing else hard-codes a limit.
 */
import { badParam, notEmail, paramEmpty, paramTooLong, tooMany } from './errors.js';

export const ACCID_MAX = 32;
/** accid charset: ASCII letters, digits, `_ @ . -` (half-width only). Stored lower-cased. */
export const ACCID_PATTERN = /^[A-Za-z0-9_@.-]+$/;
export const TOKEN_MAX = 128;

/** Profile string fields and their maximum length in characters (Unicode code points). */
export const PROFILE_LIMITS = {
  name: 64,
  icon: 1024,
  sign: 256,
  email: 64,
  birth: 16,
  mobile: 32,
  ex: 1024,
} as const;
export type ProfileField = keyof typeof PROFILE_LIMITS;
export const PROFILE_FIELDS = Object.keys(PROFILE_LIMITS) as ProfileField[];

export const PROPS_MAX = 1024;
export const GENDERS = [0, 1, 2] as const;
export type Gender = (typeof GENDERS)[number];

/**
 * "A sane address check": one `@`, a non-empty local part of common characters and a dotted domain.
 * The real grammar is unknown (spec/accounts-v1.md §0.2); this accepts every ordinary address and
 * rejects the captured failure (`邮件`).
 */
export const EMAIL_PATTERN =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

/** Length in characters (code points), so a Chinese name of 64 characters fits a 64 limit. */
export function charLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export function withinLimit(s: string, max: number): boolean {
  // A UTF-16 length within the limit is always within it in code points too: count only beyond.
  return s.length <= max || charLength(s) <= max;
}

/** Validates and normalises an accid: required, ≤ 32 of the charset, lower-cased. */
export function normalizeAccid(raw: string | undefined, param = 'accid'): string {
  if (raw === undefined || raw === '') throw paramEmpty(param);
  if (raw.length > ACCID_MAX) throw paramTooLong(param);
  if (!ACCID_PATTERN.test(raw)) throw badParam(param);
  return raw.toLowerCase();
}

/** NUL is never meaningful in CommsEase text, and PostgreSQL's text type cannot hold it. */
export const NUL = '\u0000';

export function checkToken(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  if (!withinLimit(token, TOKEN_MAX)) throw paramTooLong('token');
  if (token.includes(NUL)) throw badParam('token');
  return token;
}

/** A profile as the domain sees it: absent = not given; '' = cleared (updates only). */
export type Profile = Partial<Record<ProfileField, string>> & { gender?: Gender };
/** A profile as received: gender still raw (form text or JSON number). */
export type ProfileInput = Partial<Record<ProfileField, string>> & { gender?: string | number | undefined };

/**
 * Checks lengths and formats of the fields present in `p`, in table order, then gender and email.
 * `emailMode` is v2's email_validation_mode (v1 always uses 0).
 */
export function checkProfile(p: ProfileInput, emailMode: EmailValidationMode = 0): Profile {
  for (const field of PROFILE_FIELDS) {
    const value = p[field];
    if (value !== undefined && !withinLimit(value, PROFILE_LIMITS[field])) throw paramTooLong(field);
    if (value?.includes(NUL)) throw badParam(field);
  }
  const gender = parseGender(p.gender);
  if (p.email !== undefined && p.email !== '' && emailMode !== 2) {
    const pattern = emailMode === 1 ? EMAIL_PATTERN_EXTENDED : EMAIL_PATTERN;
    if (!pattern.test(p.email)) throw notEmail(p.email);
  }
  const out: Profile = {};
  for (const field of PROFILE_FIELDS) if (p[field] !== undefined) out[field] = p[field];
  if (gender !== undefined) out.gender = gender;
  return out;
}

export function checkProps(props: string | undefined): string | undefined {
  if (props !== undefined && !withinLimit(props, PROPS_MAX)) throw paramTooLong('props');
  if (props?.includes(NUL)) throw badParam('props');
  return props;
}

/** Parses a gender sent as text (v1 form) or number (v2 JSON); anything but 0/1/2 is a 414. */
export function parseGender(raw: string | number | undefined): Gender | undefined {
  if (raw === undefined) return undefined;
  const n = typeof raw === 'number' ? raw : /^[0-9]$/.test(raw) ? Number(raw) : Number.NaN;
  if (n === 0 || n === 1 || n === 2) return n;
  throw badParam('gender');
}

// ---- Beyond create: the limits of the other account calls (accounts-v1.md §2–§13, accounts-v2.md) ----

/** getUinfos.action: at most 200 accids per call (accounts-v1.md §7). */
export const GET_UINFOS_MAX = 200;
/** userOnlineStatus.action: no public maximum (§12); chosen equal to getUinfos. */
export const ONLINE_STATUS_V1_MAX = 200;
/** POST /im/v2/users/actions/online_status: ≤ 100 (accounts-v2.md §2). */
export const ONLINE_STATUS_V2_MAX = 100;
/** GET /im/v2/accounts and /im/v2/users `account_ids`: no public maximum; chosen 100 as online_status. */
export const V2_BATCH_GET_MAX = 100;
/** block.action `kickNotifyExt`, v2 `kick_notify_extension`: ≤ 256 (§4, A8). */
export const KICK_NOTIFY_EXT_MAX = 256;
/** v2 kick `device_id_list`: ≤ 20 (A8). */
export const KICK_DEVICE_IDS_MAX = 20;
/** v2 kick `type`: 1 every device, 2 only the listed devices, 3 every device but the listed ones. */
export const KICK_MODES = [1, 2, 3] as const;
export type KickMode = (typeof KICK_MODES)[number];
/** Device ids are opaque client strings; a bound keeps them sane (chosen). */
export const DEVICE_ID_MAX = 128;
/** Batch create (a nimbase extension): ≤ 1000 accounts per call, one transaction per call. */
export const BATCH_CREATE_MAX = 1000;
/** Idempotency-Key header (extension): ≤ 128 printable ASCII characters, remembered 24 h. */
export const IDEMPOTENCY_KEY_MAX = 128;
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]+$/;
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
/** setSpecialRelation.action `relationType`: 1 blacklist, 2 mute list; `value`: 0 remove, 1 add (§13). */
export const RELATION_TYPES = { blacklist: 1, mutelist: 2 } as const;
export type RelationType = (typeof RELATION_TYPES)[keyof typeof RELATION_TYPES];
/** v2 user_information.email_validation_mode: 0 default check, 1 extended (Latin letters…), 2 none. */
export const EMAIL_VALIDATION_MODES = [0, 1, 2] as const;
export type EmailValidationMode = (typeof EMAIL_VALIDATION_MODES)[number];
/** Mode 1 ("special and Latin characters"): any non-space, non-@ text around one @ and a dotted domain. */
export const EMAIL_PATTERN_EXTENDED = /^[^\s@]+@[^\s@]+\.[^\s@]+$/u;

/**
 * v2 `push_enabled_when_desktop_online` ↔ v1 `donnopOpen` ("do NOT push to mobile while a desktop is
 * online"). The apifox page hints at the same polarity as donnopOpen despite the name (accounts-v2.md
 * §2, unverified); we follow the field's name: push enabled = not donnop. One place to flip it.
 */
export const pushEnabledFromDonnop = (donnop: boolean): boolean => !donnop;
export const donnopFromPushEnabled = (pushEnabled: boolean): boolean => !pushEnabled;

/**
 * An accid used to look an account up. Format rules are those of create (so a value that could never
 * have been registered is a 414 of its own kind); with `lowerCase` the input is lower-cased first,
 * otherwise it must equal the stored (lower-case) accid exactly — accounts-v1.md §0.1 recommends
 * exact match by default because a NetEase support case shows an upper-case accid failing with 414.
 */
export function lookupAccid(raw: string | undefined, lowerCase: boolean, param = 'accid'): string {
  if (raw === undefined || raw === '') throw paramEmpty(param);
  if (raw.length > ACCID_MAX) throw paramTooLong(param);
  if (!ACCID_PATTERN.test(raw)) throw badParam(param);
  return lowerCase ? raw.toLowerCase() : raw;
}

/** A v1 boolean parameter: `true` / `false` (accounts-v1.md §0); anything else is a 414. */
export function parseBooleanParam(
  raw: string | undefined,
  param: string,
  required: boolean,
): boolean | undefined {
  if (raw === undefined) {
    if (required) throw paramEmpty(param);
    return undefined;
  }
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw badParam(param);
}

/**
 * A list of accids sent as a JSON-array string (`["a","b"]`): malformed JSON, a non-array, a
 * non-string element or more than `max` elements are a 414 (accounts-v1.md §7). Elements are
 * checked as lookups; duplicates are dropped, keeping the first (request order is the answer order).
 */
export function parseAccidArray(raw: string | undefined, param: string, max: number): string[] {
  if (raw === undefined || raw === '') throw paramEmpty(param);
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch {
    throw badParam(param);
  }
  return checkAccidList(list, param, max);
}

/** The elements of an accid list already parsed (v2 JSON array, or a comma-separated query). */
export function checkAccidList(list: unknown, param: string, max: number): string[] {
  if (!Array.isArray(list)) throw badParam(param);
  if (list.length === 0) throw paramEmpty(param);
  if (list.length > max) throw tooMany(param, max);
  const out: string[] = [];
  // Short lists (the common case) are deduplicated by scanning; a Set costs more below ~32 items.
  const seen = list.length > 32 ? new Set<string>() : undefined;
  for (const item of list) {
    if (typeof item !== 'string' || item === '' || item.length > ACCID_MAX) throw badParam(param);
    if (seen ? seen.has(item) : out.includes(item)) continue;
    seen?.add(item);
    out.push(item);
  }
  return out;
}

export function checkKickNotifyExt(ext: string | undefined, param = 'kickNotifyExt'): string | undefined {
  if (ext !== undefined && !withinLimit(ext, KICK_NOTIFY_EXT_MAX)) throw paramTooLong(param);
  return ext;
}

/** setSpecialRelation.action `relationType` (1/2) and `value` (0/1), as form text. */
export function parseRelation(
  type: string | undefined,
  value: string | undefined,
): { type: RelationType; on: boolean } {
  if (type === undefined) throw paramEmpty('relationType');
  if (value === undefined) throw paramEmpty('value');
  if (type !== '1' && type !== '2') throw badParam('relationType');
  if (value !== '0' && value !== '1') throw badParam('value');
  return { type: Number(type) as RelationType, on: value === '1' };
}

export function checkIdempotencyKey(key: string): string {
  if (key.length > IDEMPOTENCY_KEY_MAX) throw paramTooLong('Idempotency-Key');
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) throw badParam('Idempotency-Key');
  return key;
}
