/**
 * The v2 wire (accounts-v2.md §0): JSON bodies read with type checks that name the v2 field, and the
 * v2 shapes of an account (`configuration`, `user_information`, the user profile).
 */
import type { FastifyRequest } from 'fastify';
import { badParam, DomainError, PARAM_ERROR } from '../../accounts/errors.js';
import {
  donnopFromPushEnabled,
  EMAIL_VALIDATION_MODES,
  type EmailValidationMode,
  type ProfileInput,
  pushEnabledFromDonnop,
} from '../../accounts/rules.js';
import type { AccountView, SettingsInput } from '../../accounts/service.js';

export type Json = Record<string, unknown>;

/** Both bases of the v2 paths (accounts-v2.md §0: docs vs official SDKs). */
export const V2_PREFIXES = ['', '/nimserver'] as const;

/** A JSON body parser that reads an empty body as `{}` (refresh_token is sent without one). */
export function parseJsonBody(body: string): Json {
  if (body.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    throw new DomainError(PARAM_ERROR, 'bad JSON body');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new DomainError(PARAM_ERROR, 'bad JSON body: not an object');
  return v as Json;
}

export const bodyOf = (req: FastifyRequest): Json => (req.body as Json | undefined) ?? {};

/** The `{account_id}` path parameter. */
export const pathAccount = (req: FastifyRequest): string | undefined =>
  (req.params as { account_id?: string }).account_id;

/** A string field: absent or null = undefined; another type is `bad <field>`. */
export function optString(o: Json, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badParam(key);
  return v;
}

export function optBool(o: Json, key: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw badParam(key);
  return v;
}

export function reqBool(o: Json, key: string): boolean {
  const v = optBool(o, key);
  if (v === undefined) throw new DomainError(PARAM_ERROR, `${key} is empty`, { param: key, kind: 'empty' });
  return v;
}

export function optInt(o: Json, key: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw badParam(key);
  return v;
}

export function optObject(o: Json, key: string): Json | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw badParam(key);
  return v as Json;
}

/** `?account_ids=a,b,c` (accounts-v2.md §0: comma-separated lists). */
export function accountIdsQuery(req: FastifyRequest): string[] | undefined {
  const v = (req.query as Record<string, unknown> | undefined)?.account_ids;
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw badParam('account_ids');
  return v.split(',');
}

// ---- account shapes ----------------------------------------------------------------------------------

export function configurationOf(a: AccountView) {
  return {
    enabled: !a.blocked,
    p2p_chat_banned: a.muteP2P,
    team_chat_banned: a.muteTeam,
    chatroom_chat_banned: a.muteRoom,
    qchat_chat_banned: a.muteQChat,
    push_enabled_when_desktop_online: pushEnabledFromDonnop(a.donnop),
  };
}

/** v1 name → v2 name of the profile strings (accounts-v2.md §2). */
export const V2_PROFILE_NAMES = {
  name: 'name',
  icon: 'avatar',
  sign: 'sign',
  email: 'email',
  birth: 'birthday',
  mobile: 'mobile',
  ex: 'extension',
} as const;

/** `user_information` / the user profile: unset strings omitted (as v1 getUinfos), gender always. */
export function userInformationOf(a: AccountView): Json {
  const u: Json = {};
  for (const [v1, v2] of Object.entries(V2_PROFILE_NAMES)) {
    const value = a[v1 as keyof typeof V2_PROFILE_NAMES];
    if (value !== undefined && value !== '') u[v2] = value;
  }
  u.gender = a.gender;
  return u;
}

export const profileOf = (a: AccountView): Json => ({ account_id: a.accid, ...userInformationOf(a) });

/** A v2 profile object (user_information, or the PATCH /users body) as a domain ProfileInput. */
export function profileInput(o: Json): ProfileInput {
  const p: ProfileInput = {};
  for (const [v1, v2] of Object.entries(V2_PROFILE_NAMES)) {
    const value = optString(o, v2);
    if (value !== undefined) p[v1 as keyof typeof V2_PROFILE_NAMES] = value;
  }
  const g = o.gender;
  if (g !== undefined && g !== null) {
    if (typeof g !== 'number') throw badParam('gender');
    p.gender = g;
  }
  return p;
}

export function emailModeOf(o: Json): EmailValidationMode {
  const m = optInt(o, 'email_validation_mode');
  if (m === undefined) return 0;
  if (!(EMAIL_VALIDATION_MODES as readonly number[]).includes(m)) throw badParam('email_validation_mode');
  return m as EmailValidationMode;
}

/** `configuration` as domain settings (only the fields given). */
export function settingsInput(o: Json): SettingsInput {
  const s: SettingsInput = {};
  const enabled = optBool(o, 'enabled');
  if (enabled !== undefined) s.blocked = !enabled;
  const map = {
    p2p_chat_banned: 'muteP2P',
    team_chat_banned: 'muteTeam',
    chatroom_chat_banned: 'muteRoom',
    qchat_chat_banned: 'muteQChat',
  } as const;
  for (const [v2, v1] of Object.entries(map)) {
    const v = optBool(o, v2);
    if (v !== undefined) s[v1] = v;
  }
  const push = optBool(o, 'push_enabled_when_desktop_online');
  if (push !== undefined) s.donnop = donnopFromPushEnabled(push);
  return s;
}

/** Type-checks `antispam_configuration` (accepted, not acted on: there is no anti-spam service here). */
export function checkAntispam(o: Json): void {
  const a = optObject(o, 'antispam_configuration');
  if (a === undefined) return;
  optBool(a, 'enabled');
  const map = a.business_id_map;
  if (map !== undefined && map !== null && !Array.isArray(map)) throw badParam('business_id_map');
}
