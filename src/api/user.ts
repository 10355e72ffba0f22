/** The v1 account family, `/nimserver/user/*.action` (spec/accounts-v1.md). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isDomainError } from '../accounts/errors.js';
import type { AccountService } from '../accounts/service.js';
import type { FormParams } from './form.js';
import { v1Error } from './reply.js';

/** The parsed form of a v1 request (an empty body parses to no parameters). */
export const formOf = (req: FastifyRequest): FormParams => (req.body as FormParams | undefined) ?? {};

export function userRoutes(app: FastifyInstance, accounts: AccountService): void {
  // POST /nimserver/user/create.action — accounts-v1.md §1
  app.post('/nimserver/user/create.action', async (req) => {
    const f = formOf(req);
    const result = await accounts.registerAccount(req.appKey, {
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
    });
    if (isDomainError(result)) return v1Error(result);
    return { code: 200, info: { token: result.token, accid: result.accid, name: result.name } };
  });
}
