/** The v2 account family, `/im/v2/accounts` (spec/accounts-v2.md §1), JSON in, `{code,msg,data}` out. */
import type { FastifyInstance } from 'fastify';
import {
  alreadyRegistered,
  badParam,
  type DomainError,
  isDomainError,
  notRegistered,
  paramEmpty,
  tooMany,
} from '../../accounts/errors.js';
import type { IdempotencyService } from '../../accounts/idempotency.js';
import {
  BATCH_CREATE_MAX,
  checkAccidList,
  DEVICE_ID_MAX,
  donnopFromPushEnabled,
  KICK_DEVICE_IDS_MAX,
  KICK_MODES,
  type KickMode,
  pushEnabledFromDonnop,
  V2_BATCH_GET_MAX,
} from '../../accounts/rules.js';
import type { AccountService, NewAccountInput } from '../../accounts/service.js';
import { idempotent } from '../idempotency.js';
import { toV2, v2Error, v2Ok } from '../reply.js';
import {
  accountIdsQuery,
  bodyOf,
  checkAntispam,
  configurationOf,
  emailModeOf,
  type Json,
  optBool,
  optInt,
  optObject,
  optString,
  pathAccount,
  profileInput,
  reqBool,
  settingsInput,
  userInformationOf,
} from './wire.js';

const BASE = '/im/v2/accounts';

/** A v2 create body (A1) as a domain input; type errors throw (or, in a batch, make the item invalid). */
function createInput(o: Json): NewAccountInput {
  const accountId = o.account_id;
  if (accountId !== undefined && accountId !== null && typeof accountId !== 'string')
    throw badParam('account_id');
  const info = optObject(o, 'user_information') ?? {};
  const configuration = optObject(o, 'configuration') ?? {};
  checkAntispam(o);
  return {
    accid: (accountId as string | null | undefined) ?? undefined,
    token: optString(o, 'token'),
    profile: profileInput(info),
    emailMode: emailModeOf(info),
    settings: settingsInput(configuration),
  };
}

const errorItem = (e: { code: number; msg: string }) => ({ error_code: e.code, error_msg: e.msg });
/** A failed_list entry for an id that names no account (accounts-v2.md A7, §2). */
export const notExist = (accountId: string) => ({
  account_id: accountId,
  ...errorItem(toV2(notRegistered(accountId))),
});

export function v2AccountRoutes(
  app: FastifyInstance,
  accounts: AccountService,
  idempotency?: IdempotencyService,
) {
  // POST /im/v2/accounts — A1 (+ Idempotency-Key, an extension)
  app.post(BASE, async (req) => {
    const body = bodyOf(req);
    return idempotent(req, idempotency, BASE, body, async () => {
      const r = await accounts.registerAccount(req.appKey, createInput(body));
      if (isDomainError(r)) return v2Error(r);
      return v2Ok({
        account_id: r.accid,
        token: r.token,
        configuration: configurationOf(r.account),
        user_information: userInformationOf(r.account),
      });
    });
  });

  // POST /im/v2/accounts/actions/batch_create — a nimbase extension (docs/api.md)
  app.post(`${BASE}/actions/batch_create`, async (req) => {
    const body = bodyOf(req);
    return idempotent(req, idempotency, `${BASE}/actions/batch_create`, body, async () => {
      const list = body.accounts;
      if (list === undefined || list === null) throw paramEmpty('accounts');
      if (!Array.isArray(list)) throw badParam('accounts');
      if (list.length === 0) throw paramEmpty('accounts');
      if (list.length > BATCH_CREATE_MAX) throw tooMany('accounts', BATCH_CREATE_MAX);
      const inputs = list.map((item): NewAccountInput | DomainError => {
        if (typeof item !== 'object' || item === null || Array.isArray(item)) return badParam('account');
        try {
          return createInput(item as Json);
        } catch (err) {
          if (isDomainError(err)) return err;
          throw err;
        }
      });
      const results = await accounts.registerAccountBatch(req.appKey, inputs);
      return v2Ok({
        results: results.map((r, index) => {
          if (r.outcome === 'created')
            return { index, status: 'created', account_id: r.accid, token: r.token };
          if (r.outcome === 'exists')
            return { index, status: 'exists', account_id: r.accid, ...errorItem(toV2(alreadyRegistered())) };
          return { index, status: 'invalid', ...errorItem(toV2(r.error)) };
        }),
      });
    });
  });

  // GET /im/v2/accounts?account_ids=a,b — A7
  app.get(BASE, async (req) => {
    const ids = checkAccidList(accountIdsQuery(req) ?? [], 'accids', V2_BATCH_GET_MAX);
    const { found, missing } = await accounts.getAccounts(req.appKey, ids);
    return v2Ok({
      success_list: found.map((a) => ({ account_id: a.accid, configuration: configurationOf(a) })),
      failed_list: missing.map(notExist),
    });
  });

  // GET /im/v2/accounts/{account_id} — A6
  app.get(`${BASE}/:account_id`, async (req) => {
    const { account, token } = await accounts.getAccount(req.appKey, pathAccount(req));
    return v2Ok({ account_id: account.accid, token, configuration: configurationOf(account) });
  });

  // PATCH /im/v2/accounts/{account_id} — A2
  app.patch(`${BASE}/:account_id`, async (req) => {
    const body = bodyOf(req);
    const info = optObject(body, 'user_information');
    const configuration = optObject(body, 'configuration');
    checkAntispam(body);
    const r = await accounts.updateAccount(req.appKey, pathAccount(req), {
      token: optString(body, 'token'),
      settings: configuration ? settingsInput(configuration) : {},
      profile: info ? profileInput(info) : {},
      emailMode: info ? emailModeOf(info) : 0,
      kick: { kick: optBool(body, 'need_kick'), kickNotifyExt: optString(body, 'kick_notify_extension') },
    });
    return v2Ok({ account_id: r.account.accid, token: r.token, configuration: configurationOf(r.account) });
  });

  // PATCH /im/v2/accounts/{account_id}/actions/refresh_token — A3
  app.patch(`${BASE}/:account_id/actions/refresh_token`, async (req) => {
    const r = await accounts.refreshToken(req.appKey, pathAccount(req));
    return v2Ok({ account_id: r.accid, token: r.token });
  });

  // PATCH /im/v2/accounts/{account_id}/actions/disable — A4
  app.patch(`${BASE}/:account_id/actions/disable`, async (req) => {
    const body = bodyOf(req);
    const enabled = reqBool(body, 'enabled');
    const a = await accounts.updateSettings(
      req.appKey,
      pathAccount(req),
      { blocked: !enabled },
      { kick: optBool(body, 'need_kick'), kickNotifyExt: optString(body, 'kick_notify_extension') },
    );
    return v2Ok({ account_id: a.accid, enabled: !a.blocked, configuration: configurationOf(a) });
  });

  // PATCH /im/v2/accounts/{account_id}/actions/push_config — A5
  app.patch(`${BASE}/:account_id/actions/push_config`, async (req) => {
    const push = reqBool(bodyOf(req), 'push_enabled_when_desktop_online');
    const a = await accounts.updateSettings(req.appKey, pathAccount(req), {
      donnop: donnopFromPushEnabled(push),
    });
    return v2Ok({ account_id: a.accid, push_enabled_when_desktop_online: pushEnabledFromDonnop(a.donnop) });
  });

  // POST /im/v2/accounts/{account_id}/actions/kick — A8
  app.post(`${BASE}/:account_id/actions/kick`, async (req) => {
    const body = bodyOf(req);
    const type = optInt(body, 'type');
    if (type === undefined) throw paramEmpty('type');
    if (!(KICK_MODES as readonly number[]).includes(type)) throw badParam('type');
    const deviceIds = deviceIdList(body);
    if (type === 2 && deviceIds.length === 0) throw paramEmpty('device_id_list');
    const r = await accounts.kick(req.appKey, pathAccount(req), {
      mode: type as KickMode,
      deviceIds,
      kickNotifyExt: optString(body, 'kick_notify_extension'),
    });
    return v2Ok({
      success_list: r.kicked.map((s) => ({
        device_id: s.deviceId,
        client_type: s.clientType,
        consid: s.consid,
        login_time: s.loginTime,
      })),
      failed_list: r.notOnline.map((d) => ({
        device_id: d,
        error_code: 404,
        error_msg: 'device_id not online',
      })),
    });
  });
}

function deviceIdList(body: Json): string[] {
  const v = body.device_id_list;
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw badParam('device_id_list');
  if (v.length > KICK_DEVICE_IDS_MAX) throw tooMany('device_id_list', KICK_DEVICE_IDS_MAX);
  for (const d of v)
    if (typeof d !== 'string' || d === '' || d.length > DEVICE_ID_MAX) throw badParam('device_id_list');
  return v as string[];
}
