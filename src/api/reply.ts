/**
 * CommsEase response bodies and the one place errors become bodies. Business errors are HTTP 200
 * with the code in the body (spec/error-codes.md); v1 bodies carry `desc`, v2 bodies carry `msg`.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, isDomainError, PARAM_ERROR } from '../accounts/errors.js';

export const OK = 200;
export const INTERNAL_ERROR = 500;
export const NOT_FOUND = 404;

export const v1Error = (e: DomainError) => ({ desc: e.desc, code: e.code });
export const v2Error = (e: DomainError) => {
  const t = toV2(e);
  return { code: t.code, msg: t.msg };
};

/**
 * v2 codes where v1 answers 414 (chosen: the v2 numbers are not public; these mirror the V10 client's
 * 102xxx account range, spec/error-codes.md §4). docs/api.md lists them.
 */
export const V2_CODES = { accountNotExist: 102404, accountExists: 102405 } as const;

/** v1 parameter names as v2 names them (accounts-v2.md §2 mapping). */
const V2_PARAM_NAMES: Record<string, string> = {
  accid: 'account_id',
  accids: 'account_ids',
  icon: 'avatar',
  birth: 'birthday',
  ex: 'extension',
  kickNotifyExt: 'kick_notify_extension',
};

/** A domain error as the v2 face words it: v2 field names, `account_id not exist` (captured [S26]). */
export function toV2(e: DomainError): { code: number; msg: string } {
  const d = e.detail;
  if (!d) return { code: e.code, msg: e.desc };
  if (d.kind === 'notRegistered') return { code: V2_CODES.accountNotExist, msg: 'account_id not exist' };
  if (d.kind === 'exists') return { code: V2_CODES.accountExists, msg: 'account_id already exists' };
  const v2 = V2_PARAM_NAMES[d.param];
  if (v2 === undefined || d.kind === 'notEmail') return { code: e.code, msg: e.desc };
  return { code: e.code, msg: e.desc.replace(d.param, v2) };
}
export const v2Ok = (data: unknown) => ({ code: OK, msg: 'success', data });

/** v2 paths are served under both `/im/v2...` and `/nimserver/im/v2...` (spec/auth.md §7). */
export const isV2Path = (url: string) => /^\/(nimserver\/)?im\/v2(\.1)?\//.test(url);

export function errorBody(url: string, e: DomainError) {
  return isV2Path(url) ? v2Error(e) : v1Error(e);
}

/** Fastify's own request errors (body limit, content type, JSON syntax) → a 414 with a clear desc. */
function requestErrorDesc(err: FastifyError): string | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'request body too large';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return 'unsupported Content-Type';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'empty JSON body';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'bad request body';
    default:
      if (err instanceof SyntaxError) return 'bad JSON body';
      if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500)
        return 'bad request';
      return undefined;
  }
}

export function handleError(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  reply.code(200);
  if (isDomainError(err)) return reply.send(errorBody(req.url, err));
  const desc = requestErrorDesc(err);
  if (desc !== undefined) return reply.send(errorBody(req.url, new DomainError(PARAM_ERROR, desc)));
  req.log.error({ err, reqId: req.id }, 'unexpected error answering a request');
  return reply.send(
    errorBody(req.url, new DomainError(INTERNAL_ERROR, `internal error (request id ${req.id})`)),
  );
}

export function handleNotFound(req: FastifyRequest, reply: FastifyReply) {
  const path = req.url.split('?')[0] ?? '';
  return reply
    .code(200)
    .send(errorBody(req.url, new DomainError(NOT_FOUND, `no such api: ${req.method} ${path}`)));
}
