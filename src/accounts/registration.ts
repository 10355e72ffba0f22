/**
 * Account registration: the record a create makes (every create rule applied once, for v1, v2, batch
 * and import alike) and the equality the create-replay switch uses.
 */
import { randomBytesPooled } from '../security/random.js';
import { type SecretVault, tokenOwner } from '../security/vault.js';
import { memoOf, withMemo } from '../store/account-cache.js';
import type { AccountRecord, NewAccountRecord } from '../store/port.js';
import type { DomainError } from './errors.js';
import {
  checkProfile,
  checkProps,
  checkToken,
  type EmailValidationMode,
  type KickMode,
  normalizeAccid,
  PROFILE_FIELDS,
  type ProfileInput,
} from './rules.js';

/** The flags v2 calls `configuration` (and v1 block/mute/muteModule/muteAv/setDonnop set one by one). */
export const SETTING_FIELDS = [
  'blocked',
  'mute',
  'muteP2P',
  'muteTeam',
  'muteRoom',
  'muteQChat',
  'muteAv',
  'donnop',
] as const;
export type SettingField = (typeof SETTING_FIELDS)[number];
export type Settings = Record<SettingField, boolean>;
export type SettingsInput = Partial<Settings>;
export const MUTE_FIELDS = ['mute', 'muteP2P', 'muteTeam', 'muteRoom', 'muteQChat'] as const;
/** A new account's flags: not banned, not muted, pushes on. */
export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze(
  Object.fromEntries(SETTING_FIELDS.map((f) => [f, false])) as Settings,
);

/** An account as the api/ layer sees it: everything but the sealed token. */
export type AccountView = Omit<AccountRecord, 'tokenSealed'>;

/** What a caller asks to register; strings as received (absent = undefined). */
export interface NewAccountInput {
  accid: string | undefined;
  token?: string | undefined;
  profile?: ProfileInput;
  props?: string | undefined;
  /** v2 `configuration` on create. */
  settings?: SettingsInput;
  emailMode?: EmailValidationMode;
}

export interface RegisteredAccount {
  accid: string;
  token: string;
  name: string;
  account: AccountView;
}

export type BatchItemResult =
  | { outcome: 'created'; accid: string; token: string; account: AccountView }
  | { outcome: 'exists'; accid: string }
  | { outcome: 'invalid'; error: DomainError };

export interface KickRequest {
  mode: KickMode;
  deviceIds?: string[] | undefined;
  kickNotifyExt?: string | undefined;
}

/** Options of the calls that may also kick the account's sessions (block, v2 disable/update). */
export interface KickOption {
  kick?: boolean | undefined;
  kickNotifyExt?: string | undefined;
}

/** A server-generated token: 128 bits from the CSPRNG as 32 lowercase hex (the cloud's format). */
export const generateToken = (): string => randomBytesPooled(16).toString('hex');

/**
 * The account without its token, sealed (a stored record) or plain (a new one). A cached record
 * (the store's cache freezes it and gives it a memo) gets one frozen view, computed once: profile
 * reads of cached accounts then allocate nothing per account.
 */
export function view(a: AccountRecord | NewAccountRecord): AccountView {
  // A cached (frozen) record keeps its one frozen view in its memo; the view has a memo of its own.
  const memo = memoOf(a);
  if (!memo) return copyView(a);
  let v = memo.view as AccountView | undefined;
  if (!v) {
    v = Object.freeze(withMemo(copyView(a)));
    memo.view = v;
  }
  return v;
}

function copyView(a: AccountView): AccountView {
  return {
    appKey: a.appKey,
    accid: a.accid,
    name: a.name,
    icon: a.icon,
    sign: a.sign,
    email: a.email,
    birth: a.birth,
    mobile: a.mobile,
    ex: a.ex,
    props: a.props,
    gender: a.gender,
    blocked: a.blocked,
    mute: a.mute,
    muteP2P: a.muteP2P,
    muteTeam: a.muteTeam,
    muteRoom: a.muteRoom,
    muteQChat: a.muteQChat,
    muteAv: a.muteAv,
    donnop: a.donnop,
    createdAt: a.createdAt,
    updatedAt: a.updatedAt,
  };
}

/** A new account's record (every create rule applied), with its plain token for the store to seal. */
export function newAccountRecord(appKey: string, input: NewAccountInput, now: number): NewAccountRecord {
  const accid = normalizeAccid(input.accid);
  const token = checkToken(input.token) ?? generateToken();
  const profile = checkProfile(input.profile ?? {}, input.emailMode);
  const props = checkProps(input.props);
  const s = input.settings ?? {};
  return {
    appKey,
    accid,
    token,
    name: profile.name || undefined,
    icon: profile.icon || undefined,
    sign: profile.sign || undefined,
    email: profile.email || undefined,
    birth: profile.birth || undefined,
    mobile: profile.mobile || undefined,
    ex: profile.ex || undefined,
    props: props || undefined,
    gender: profile.gender ?? 0,
    ...DEFAULT_SETTINGS,
    ...definedOnly(s),
    createdAt: now,
    updatedAt: now,
  };
}

/** Every field of the new record equals the stored one; a create without token matches any token. */
export function isSameCreate(
  stored: AccountRecord,
  fresh: NewAccountRecord,
  token: string | undefined,
  vault: SecretVault,
): boolean {
  for (const f of PROFILE_FIELDS) if (stored[f] !== fresh[f]) return false;
  if (stored.props !== fresh.props || stored.gender !== fresh.gender) return false;
  for (const f of SETTING_FIELDS) if (stored[f] !== fresh[f]) return false;
  return (
    token === undefined || vault.matches(stored.tokenSealed, tokenOwner(stored.appKey, stored.accid), token)
  );
}

/** The settings actually given (a key present with undefined must not override a default). */
function definedOnly(s: SettingsInput): SettingsInput {
  const out: SettingsInput = {};
  for (const f of SETTING_FIELDS) if (s[f] !== undefined) out[f] = s[f];
  return out;
}
