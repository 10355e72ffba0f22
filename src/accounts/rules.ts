/**
 * Every account rule in one table (spec/accounts-v1.md §0.1, §0.2, §1). Validation, tests and docs
 * read these constants; nothing else hard-codes a limit.
 */
import { badParam, notEmail, paramEmpty, paramTooLong } from './errors.js';

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

export function checkToken(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  if (!withinLimit(token, TOKEN_MAX)) throw paramTooLong('token');
  return token;
}

/** A profile as the domain sees it: absent = not given; '' = cleared (updates only). */
export type Profile = Partial<Record<ProfileField, string>> & { gender?: Gender };
/** A profile as received: gender still raw (form text or JSON number). */
export type ProfileInput = Partial<Record<ProfileField, string>> & { gender?: string | number | undefined };

/** Checks lengths and formats of the fields present in `p`, in table order, then gender and email. */
export function checkProfile(p: ProfileInput): Profile {
  for (const field of PROFILE_FIELDS) {
    const value = p[field];
    if (value !== undefined && !withinLimit(value, PROFILE_LIMITS[field])) throw paramTooLong(field);
  }
  const gender = parseGender(p.gender);
  if (p.email !== undefined && p.email !== '' && !EMAIL_PATTERN.test(p.email)) throw notEmail(p.email);
  const out: Profile = {};
  for (const field of PROFILE_FIELDS) if (p[field] !== undefined) out[field] = p[field];
  if (gender !== undefined) out.gender = gender;
  return out;
}

export function checkProps(props: string | undefined): string | undefined {
  if (props !== undefined && !withinLimit(props, PROPS_MAX)) throw paramTooLong('props');
  return props;
}

/** Parses a gender sent as text (v1 form) or number (v2 JSON); anything but 0/1/2 is a 414. */
export function parseGender(raw: string | number | undefined): Gender | undefined {
  if (raw === undefined) return undefined;
  const n = typeof raw === 'number' ? raw : /^[0-9]$/.test(raw) ? Number(raw) : Number.NaN;
  if (n === 0 || n === 1 || n === 2) return n;
  throw badParam('gender');
}
