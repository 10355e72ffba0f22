/** The v1 account family, `/nimserver/user/*.action` (spec/accounts-v1.md). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  badParam,
  DomainError,
  isDomainError,
  PARAM_ERROR,
  paramEmpty,
  tooMany,
} from '../accounts/errors.js';
import type { IdempotencyService } from '../accounts/idempotency.js';
import {
  BATCH_CREATE_MAX,
  GET_UINFOS_MAX,
  ONLINE_STATUS_V1_MAX,
  PROFILE_FIELDS,
  parseAccidArray,
  parseBooleanParam,
  parseRelation,
} from '../accounts/rules.js';
import type { AccountService, AccountView, NewAccountInput } from '../accounts/service.js';
import { memoOf } from '../store/account-cache.js';
import { type FormParams, sentEmpty } from './form.js';
import { idempotent } from './idempotency.js';
import { v1Error } from './reply.js';

/** The parsed form of a v1 request (an empty body parses to no parameters). */
export const formOf = (req: FastifyRequest): FormParams => (req.body as FormParams | undefined) ?? {};

const OK_BODY = { code: 200 } as const;
const JSON_TYPE = 'application/json; charset=utf-8';
const P = (name: string) => `/nimserver/user/${name}.action`;

/** muteModule.action without any of its four flags (accounts-v1.md §11; desc chosen). */
const noMuteFlag = () =>
  new DomainError(PARAM_ERROR, 'muteP2P, muteTeam, muteRoom and muteQChat are all empty', {
    param: 'muteP2P',
    kind: 'empty',
  });

function createInput(f: FormParams): NewAccountInput {
  return {
    accid: f.accid,
    token: f.token,
    props: f.props,
    profile: {
      name: f.name,
      icon: f.icon,
      sign: f.sign,
      email: f.email,
      birth: f.birth,
      mobile: f.mobile,
      ex: f.ex,
      gender: f.gender,
    },
  };
}

/**
 * One getUinfos element (accounts-v1.md §7, captures [S18]): unset strings omitted, `gender`, `valid`
 * and `mute` always, the four module flags with muteStatus=true.
 */
/**
 * getUinfos' body, written as JSON text: the element of a frozen (cached) account is rendered once
 * per muteStatus and kept beside it, so a hot profile read costs lookups and one join.
 */
export function uinfosBody(found: readonly AccountView[], muteStatus: boolean): string {
  const key = muteStatus ? 'uinfoWithMute' : 'uinfo';
  let out = '{"code":200,"uinfos":[';
  for (let i = 0; i < found.length; i++) {
    const a = found[i]!;
    const memo = memoOf(a);
    let json = memo?.[key] as string | undefined;
    if (json === undefined) {
      json = JSON.stringify(uinfoOf(a, muteStatus));
      if (memo) memo[key] = json;
    }
    out += i === 0 ? json : `,${json}`;
  }
  return `${out}]}`;
}

export function uinfoOf(a: AccountView, muteStatus: boolean): Record<string, unknown> {
  const u: Record<string, unknown> = { accid: a.accid };
  for (const f of PROFILE_FIELDS) if (a[f] !== undefined && a[f] !== '') u[f] = a[f];
  u.gender = a.gender;
  u.valid = !a.blocked;
  u.mute = a.mute;
  if (muteStatus) {
    u.muteP2P = a.muteP2P;
    u.muteTeam = a.muteTeam;
    u.muteRoom = a.muteRoom;
    u.muteQChat = a.muteQChat;
  }
  return u;
}

export function userRoutes(
  app: FastifyInstance,
  accounts: AccountService,
  idempotency?: IdempotencyService,
): void {
  // POST /nimserver/user/create.action — accounts-v1.md §1 (+ Idempotency-Key, an extension)
  app.post(P('create'), (req) => {
    const f = formOf(req);
    return idempotent(req, idempotency, P('create'), f, async () => {
      const result = await accounts.registerAccount(req.appKey, createInput(f));
      if (isDomainError(result)) return v1Error(result);
      return { code: 200, info: { token: result.token, accid: result.accid, name: result.name } };
    });
  });

  // POST /nimserver/user/update.action — §2
  app.post(P('update'), async (req) => {
    const f = formOf(req);
    await accounts.updateToken(req.appKey, f.accid, { token: f.token, props: f.props });
    return OK_BODY;
  });

  // POST /nimserver/user/refreshToken.action — §3
  app.post(P('refreshToken'), async (req) => {
    const r = await accounts.refreshToken(req.appKey, formOf(req).accid);
    return { code: 200, info: { token: r.token, accid: r.accid } };
  });

  // POST /nimserver/user/block.action — §4
  app.post(P('block'), async (req) => {
    const f = formOf(req);
    const kick = parseBooleanParam(f.needkick, 'needkick', false) ?? false;
    parseBooleanParam(f.needUnbindPushToken, 'needUnbindPushToken', false); // no push tokens here yet
    await accounts.updateSettings(
      req.appKey,
      f.accid,
      { blocked: true },
      { kick, kickNotifyExt: f.kickNotifyExt },
    );
    return OK_BODY;
  });

  // POST /nimserver/user/unblock.action — §5
  app.post(P('unblock'), async (req) => {
    await accounts.updateSettings(req.appKey, formOf(req).accid, { blocked: false });
    return OK_BODY;
  });

  // POST /nimserver/user/updateUinfo.action — §6: absent = unchanged, sent empty = cleared.
  app.post(P('updateUinfo'), async (req) => {
    const f = formOf(req);
    const profile: Record<string, string | undefined> = {};
    for (const field of PROFILE_FIELDS) profile[field] = f[field] ?? (sentEmpty(f, field) ? '' : undefined);
    await accounts.updateProfile(req.appKey, f.accid, { ...profile, gender: f.gender });
    return OK_BODY;
  });

  // POST /nimserver/user/getUinfos.action — §7
  app.post(P('getUinfos'), async (req, reply) => {
    const f = formOf(req);
    const accids = parseAccidArray(f.accids, 'accids', GET_UINFOS_MAX);
    const muteStatus = parseBooleanParam(f.muteStatus, 'muteStatus', false) ?? false;
    const { found } = await accounts.getAccounts(req.appKey, accids);
    // The body itself is returned, not `reply`: a returned reply is a thenable, and Fastify then
    // watches the response stream for its end (six listeners per request) before settling it.
    reply.type(JSON_TYPE);
    return uinfosBody(found, muteStatus);
  });

  // POST /nimserver/user/setDonnop.action — §8
  app.post(P('setDonnop'), async (req) => {
    const f = formOf(req);
    const donnop = parseBooleanParam(f.donnopOpen, 'donnopOpen', true)!;
    await accounts.updateSettings(req.appKey, f.accid, { donnop });
    return OK_BODY;
  });

  // POST /nimserver/user/mute.action — §9
  app.post(P('mute'), async (req) => {
    const f = formOf(req);
    const mute = parseBooleanParam(f.mute, 'mute', true)!;
    await accounts.updateSettings(req.appKey, f.accid, { mute });
    return OK_BODY;
  });

  // POST /nimserver/user/muteAv.action — §10
  app.post(P('muteAv'), async (req) => {
    const f = formOf(req);
    const muteAv = parseBooleanParam(f.mute, 'mute', true)!;
    await accounts.updateSettings(req.appKey, f.accid, { muteAv });
    return OK_BODY;
  });

  // POST /nimserver/user/muteModule.action — §11
  app.post(P('muteModule'), async (req) => {
    const f = formOf(req);
    const flags = {
      muteP2P: parseBooleanParam(f.muteP2P, 'muteP2P', false),
      muteTeam: parseBooleanParam(f.muteTeam, 'muteTeam', false),
      muteRoom: parseBooleanParam(f.muteRoom, 'muteRoom', false),
      muteQChat: parseBooleanParam(f.muteQChat, 'muteQChat', false),
    };
    const given = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
    if (Object.keys(given).length === 0) {
      if (f.accid === undefined) throw paramEmpty('accid');
      throw noMuteFlag();
    }
    const a = await accounts.updateSettings(req.appKey, f.accid, given);
    return {
      code: 200,
      data: { muteP2P: a.muteP2P, muteTeam: a.muteTeam, muteRoom: a.muteRoom, muteQChat: a.muteQChat },
    };
  });

  // POST /nimserver/user/userOnlineStatus.action — §12
  app.post(P('userOnlineStatus'), async (req) => {
    const accids = parseAccidArray(formOf(req).accids, 'accids', ONLINE_STATUS_V1_MAX);
    const { sessions, missing } = await accounts.onlineStatus(req.appKey, accids);
    const status: Record<string, { clientType: number; loginTime: number }[]> = {};
    for (const [accid, list] of sessions)
      if (list.length > 0)
        status[accid] = list.map((s) => ({ clientType: s.clientType, loginTime: s.loginTime }));
    return { code: 200, data: { invalidAccids: missing, status } };
  });

  // POST /nimserver/user/setSpecialRelation.action — §13
  app.post(P('setSpecialRelation'), async (req) => {
    const f = formOf(req);
    const { type, on } = parseRelation(f.relationType, f.value);
    await accounts.setRelation(req.appKey, f.accid, f.targetAcc, type, on);
    return OK_BODY;
  });

  // POST /nimserver/user/listBlackAndMuteList.action — §13 (body keys as the public SDK models)
  app.post(P('listBlackAndMuteList'), async (req) => {
    const r = await accounts.listRelations(req.appKey, formOf(req).accid);
    return { code: 200, mutelist: r.mutelist, blacklist: r.blacklist };
  });

  // POST /nimserver/user/batchCreate.action — a nimbase extension (docs/api.md): `accounts` is a
  // JSON array of create.action parameter objects; one transaction, one result per item.
  app.post(P('batchCreate'), async (req) => {
    const f = formOf(req);
    return idempotent(req, idempotency, P('batchCreate'), f, async () => {
      const items = parseBatch(f.accounts);
      const results = await accounts.registerAccountBatch(req.appKey, items);
      return {
        code: 200,
        results: results.map((r, index) =>
          r.outcome === 'created'
            ? { index, status: 'created', accid: r.accid, token: r.token }
            : r.outcome === 'exists'
              ? { index, status: 'exists', accid: r.accid, code: 414, desc: 'already register' }
              : { index, status: 'invalid', code: r.error.code, desc: r.error.desc },
        ),
      };
    });
  });
}

const BATCH_STRING_FIELDS = ['accid', 'token', 'props', ...PROFILE_FIELDS] as const;

/** `accounts` of batchCreate: each element becomes an input, or (wrong shape or types) an invalid item. */
function parseBatch(raw: string | undefined): (NewAccountInput | DomainError)[] {
  if (raw === undefined) throw paramEmpty('accounts');
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch {
    throw badParam('accounts');
  }
  if (!Array.isArray(list)) throw badParam('accounts');
  if (list.length === 0) throw paramEmpty('accounts');
  if (list.length > BATCH_CREATE_MAX) throw tooMany('accounts', BATCH_CREATE_MAX);
  return list.map((item): NewAccountInput | DomainError => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return badParam('account');
    const o = item as Record<string, unknown>;
    const form: Record<string, string> = {};
    for (const k of BATCH_STRING_FIELDS) {
      const v = o[k];
      if (v === undefined || v === null || v === '') continue;
      if (typeof v !== 'string') return badParam(k);
      form[k] = v;
    }
    const g = o.gender;
    if (g !== undefined && typeof g !== 'number' && typeof g !== 'string') return badParam('gender');
    const input = createInput(form);
    return { ...input, profile: { ...input.profile, gender: g === '' ? undefined : g } };
  });
}
