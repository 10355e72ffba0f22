/** The v2 user-profile family, `/im/v2/users` (spec/accounts-v2.md §2). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { checkAccidList, ONLINE_STATUS_V2_MAX, V2_BATCH_GET_MAX } from '../../accounts/rules.js';
import type { AccountService } from '../../accounts/service.js';
import { v2Ok } from '../reply.js';
import { notExist } from './accounts.js';
import {
  accountIdsQuery,
  bodyOf,
  checkAntispam,
  emailModeOf,
  pathAccount,
  profileInput,
  profileOf,
} from './wire.js';

const BASE = '/im/v2/users';

export function v2UserRoutes(app: FastifyInstance, accounts: AccountService) {
  // PATCH /im/v2/users/{account_id} — update profile: absent = unchanged, "" = cleared
  app.patch(`${BASE}/:account_id`, async (req) => {
    const body = bodyOf(req);
    checkAntispam(body);
    const a = await accounts.updateProfile(
      req.appKey,
      pathAccount(req),
      profileInput(body),
      emailModeOf(body),
    );
    return v2Ok(profileOf(a));
  });

  // GET /im/v2/users/{account_id}
  app.get(`${BASE}/:account_id`, async (req) => {
    const { account } = await accounts.getAccount(req.appKey, pathAccount(req));
    return v2Ok(profileOf(account));
  });

  // GET /im/v2/users?account_ids=a,b
  app.get(BASE, async (req) => {
    const ids = checkAccidList(accountIdsQuery(req) ?? [], 'accids', V2_BATCH_GET_MAX);
    const { found, missing } = await accounts.getAccounts(req.appKey, ids);
    return v2Ok({ success_list: found.map(profileOf), failed_list: missing.map(notExist) });
  });

  // POST /im/v2/users/actions/online_status (the apifox spelling onlineStatus is accepted too)
  const onlineStatus = async (req: FastifyRequest) => {
    const ids = checkAccidList(bodyOf(req).account_ids ?? [], 'accids', ONLINE_STATUS_V2_MAX);
    const { found, sessions, missing } = await accounts.onlineStatus(req.appKey, ids);
    return v2Ok({
      success_list: found.map((a) => ({
        account_id: a.accid,
        online_status: (sessions.get(a.accid) ?? []).map((s) => ({
          client_type: s.clientType,
          login_time: s.loginTime,
        })),
      })),
      failed_list: missing.map(notExist),
    });
  };
  app.post(`${BASE}/actions/online_status`, onlineStatus);
  app.post(`${BASE}/actions/onlineStatus`, onlineStatus);
}
