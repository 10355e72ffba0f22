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

export async function idempotent(
  req: FastifyRequest,
  service: IdempotencyService | undefined,
  route: string,
  params: unknown,
  handler: () => Promise<unknown>,
): Promise<unknown> {
  const header = req.headers[IDEMPOTENCY_HEADER];
  if (service === undefined || header === undefined) return handler();
  const key = service.checkKey(Array.isArray(header) ? header.join(',') : header);
  const fingerprint = requestFingerprint(req.method, route, params);
  const saved = await service.recall(req.appKey, key, fingerprint);
  if (saved !== undefined) return saved;
  const body = await handler();
  if (succeeded(body)) await service.remember(req.appKey, key, fingerprint, body);
  return body;
}
