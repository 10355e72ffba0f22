/**
 * The v2 families (JSON bodies), registered once per base path: `/im/v2/...` (docs) and
 * `/nimserver/im/v2/...` (official SDKs), accounts-v2.md §0.
 */
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { v2AccountRoutes } from './accounts.js';
import { v2UserRoutes } from './users.js';
import { parseJsonBody } from './wire.js';

export function v2Families(runtime: Runtime, signature: onRequestHookHandler) {
  return async (v2: FastifyInstance) => {
    v2.removeAllContentTypeParsers();
    v2.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
      try {
        done(null, parseJsonBody(body as string));
      } catch (err) {
        done(err as Error, undefined);
      }
    });
    v2.addHook('onRequest', signature);
    v2AccountRoutes(v2, runtime.accounts, runtime.idempotency);
    v2UserRoutes(v2, runtime.accounts);
  };
}
