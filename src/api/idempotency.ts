/**
 * The `Idempotency-Key` header (a nimbase extension): wraps a create handler so that a retry with the
 * same key gets the first successful answer again. Requests without the header are untouched.
 */
import type { FastifyRequest } from 'fastify';
import { type IdempotencyService, requestFingerprint } from '../accounts/idempotency.js';

export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** Only answers with code 200 are remembered: a failed create can simply be sent again. */
const succeeded = (body: unknown) =>
  typeof body === 'object' && body !== null && (body as { code?: unknown }).code === 200;

export function idempotent(
  req: FastifyRequest,
  service: IdempotencyService | undefined,
  route: string,
  params: unknown,
  handler: () => Promise<unknown>,
): Promise<unknown> {
  const header = req.headers[IDEMPOTENCY_HEADER];
  // Without the header: the handler's own promise, no wrapper around it.
  if (service === undefined || header === undefined) return handler();
  return remembered(req, service, header, route, params, handler);
}

async function remembered(
  req: FastifyRequest,
  service: IdempotencyService,
  header: string | string[],
  route: string,
  params: unknown,
  handler: () => Promise<unknown>,
): Promise<unknown> {
  const key = service.checkKey(Array.isArray(header) ? header.join(',') : header);
  const fingerprint = requestFingerprint(req.method, route, params);
  const saved = await service.recall(req.appKey, key, fingerprint);
  if (saved !== undefined) return saved;
  const body = await handler();
  if (succeeded(body)) await service.remember(req.appKey, key, fingerprint, body);
  return body;
}
