/**
 * The request-limits hook of the signed server API: strict replay protection (431) and the per-app
 * frequency control (416), both off by default (docs/deployment.md). It runs after the signature
 * check (preParsing, so before any body is read) and only for verified requests.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../accounts/errors.js';
import type { RequestLimits } from '../limits/port.js';
import { apiFamily, nonceTtlMs, type RateRules, ruleFor } from '../limits/rules.js';
import { errorBody } from './reply.js';

export const LIMIT_ERRORS = {
  // spec/error-codes.md: 416 频率控制 (frequency control), 431 HTTP重复请求 (duplicate HTTP request).
  frequency: new DomainError(416, 'frequency control'),
  replay: new DomainError(431, 'duplicate http request'),
} as const;

export interface LimitsHookOptions {
  limits: RequestLimits;
  /** Undefined: no frequency control. */
  rateRules: RateRules | undefined;
  replayProtection: boolean;
  curTimeWindowSeconds: number;
  /** Told when the limit store fails; the frequency control then lets the call through. */
  onStoreError?: (err: unknown) => void;
}

export function limitsHook(o: LimitsHookOptions) {
  const ttl = nonceTtlMs(o.curTimeWindowSeconds);
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (!req.appKey) return; // unsigned routes (health, 404) are not limited
    if (o.replayProtection) {
      // Fails closed: an unreachable Nonce store makes the call fail (500) rather than skip the check.
      const nonce = req.headers.nonce as string;
      if (!(await o.limits.nonces.claim(`${req.appKey}:${nonce}`, ttl)))
        return reply.code(200).send(errorBody(req.url, LIMIT_ERRORS.replay));
    }
    if (o.rateRules) {
      const family = apiFamily(req.url);
      const rule = ruleFor(o.rateRules, req.appKey, family);
      if (!rule) return;
      let refusedMs: number;
      try {
        refusedMs = await o.limits.rate.hit(`${req.appKey}:${family}`, rule);
      } catch (err) {
        // Fails open: an outage of the counter store must not take the API down with it.
        o.onStoreError?.(err);
        return;
      }
      if (refusedMs > 0) return reply.code(200).send(errorBody(req.url, LIMIT_ERRORS.frequency));
    }
  };
}
