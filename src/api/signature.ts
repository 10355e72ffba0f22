/**
 * Request signing (spec/auth.md): CheckSum = lowercase hex sha1(AppSecret + Nonce + CurTime).
 * Checked in a fixed order — headers present and well-formed → AppKey known → CurTime within the
 * window → CheckSum — and answered with the bodies of auth.md §4 (HTTP 200).
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, PARAM_ERROR } from '../accounts/errors.js';
import type { AppSecrets } from '../apps/service.js';
import { errorBody } from './reply.js';

export const NONCE_MAX = 128;
const CURTIME_PATTERN = /^[0-9]{1,16}$/;

export interface SignatureOptions {
  secretsFor(appKey: string): Promise<AppSecrets | null>;
  /** secretsFor without a promise when the answer is at hand, else undefined (optional). */
  cachedSecretsFor?(appKey: string): AppSecrets | null | undefined;
  /** Current time in ms (injectable for the spec's fixed-time vectors). */
  now: () => number;
  /** Largest accepted |CurTime − now| in seconds (the cloud: 300). */
  curTimeWindowSeconds: number;
  /** The code of a CheckSum mismatch: 414 `checksum` (2017 captures) or 403 `authentication failed` (2025). */
  checksumMismatchCode: 414 | 403;
}

export const AUTH_ERRORS = {
  badHeader: new DomainError(PARAM_ERROR, 'bad http header'),
  appKey: new DomainError(PARAM_ERROR, 'appkey'),
  expired: new DomainError(PARAM_ERROR, 'CurTime is expired'),
  checksum: new DomainError(PARAM_ERROR, 'checksum'),
  checksum403: new DomainError(403, 'authentication failed'),
} as const;

/** lowercase hex sha1(secret + nonce + curTime), hashing the UTF-8 bytes (auth.md §2). */
export function computeCheckSum(appSecret: string, nonce: string, curTime: string): string {
  return hash('sha1', appSecret + nonce + curTime, 'hex');
}

/** Compares a received CheckSum (either hex case) with the expected one in constant time. */
export function checkSumMatches(expectedLowerHex: string, received: string): boolean {
  return digestMatches(Buffer.from(expectedLowerHex, 'hex'), received);
}

/**
 * The same against the raw SHA-1 digest: the received hex is decoded instead of the digest being
 * encoded. Decoding stops at the first non-hex character, so anything but 40 hex digits (either
 * case) comes out shorter than 20 bytes and fails before the constant-time comparison.
 */
function digestMatches(expected: Buffer, received: string): boolean {
  if (received.length !== 40) return false;
  const got = Buffer.from(received, 'hex');
  return got.length === 20 && timingSafeEqual(expected, got);
}

const digestOf = (secret: string, nonce: string, curTime: string): Buffer =>
  hash('sha1', secret + nonce + curTime, 'buffer') as unknown as Buffer;

const single = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? undefined : v);

declare module 'fastify' {
  interface FastifyRequest {
    /** The AppKey a verified request was signed for; set by signatureHook. */
    appKey: string;
  }
}

interface SignedHeaders {
  appKey: string;
  nonce: string;
  curTime: string;
  checkSum: string;
}

/** The four signing headers, or the failure when one is missing or malformed. */
function signedHeaders(headers: FastifyRequest['headers']): SignedHeaders | DomainError {
  // Node lower-cases header names, which gives the case-insensitive match auth.md §1 requires.
  const appKey = single(headers.appkey);
  const nonce = single(headers.nonce);
  const curTime = single(headers.curtime);
  const checkSum = single(headers.checksum);
  if (
    !appKey ||
    !nonce ||
    !curTime ||
    !checkSum ||
    nonce.length > NONCE_MAX ||
    !CURTIME_PATTERN.test(curTime)
  )
    return AUTH_ERRORS.badHeader;
  return { appKey, nonce, curTime, checkSum };
}

/** The checks after the AppKey lookup: CurTime window, then CheckSum (current, then previous secret). */
function checkSigned(
  h: SignedHeaders,
  secrets: AppSecrets | null,
  o: SignatureOptions,
): { appKey: string } | DomainError {
  if (!secrets) return AUTH_ERRORS.appKey;
  const nowMs = o.now();
  if (Math.abs(Math.floor(nowMs / 1000) - Number(h.curTime)) > o.curTimeWindowSeconds)
    return AUTH_ERRORS.expired;
  if (digestMatches(digestOf(secrets.current, h.nonce, h.curTime), h.checkSum)) return { appKey: h.appKey };
  if (
    secrets.previous !== undefined &&
    secrets.previousExpiresAt !== undefined &&
    nowMs < secrets.previousExpiresAt &&
    digestMatches(digestOf(secrets.previous, h.nonce, h.curTime), h.checkSum)
  )
    return { appKey: h.appKey };
  return o.checksumMismatchCode === 403 ? AUTH_ERRORS.checksum403 : AUTH_ERRORS.checksum;
}

/** The onRequest hook of every signed route. */
export function signatureHook(o: SignatureOptions) {
  const settle = (
    req: FastifyRequest,
    reply: FastifyReply,
    result: { appKey: string } | DomainError,
    done: () => void,
  ) => {
    // A hook that answers does not call done(): the request ends here.
    if (result instanceof DomainError) reply.code(200).send(errorBody(req.url, result));
    else {
      req.appKey = result.appKey;
      done();
    }
  };
  // Callback style, not async: a hot app's secrets are cached, and then the whole check runs
  // without a promise or a microtask per request.
  return (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    const h = signedHeaders(req.headers);
    if (h instanceof DomainError) return settle(req, reply, h, done);
    const cached = o.cachedSecretsFor?.(h.appKey);
    if (cached !== undefined) return settle(req, reply, checkSigned(h, cached, o), done);
    o.secretsFor(h.appKey).then(
      (secrets) => settle(req, reply, checkSigned(h, secrets, o), done),
      (err: Error) => done(err),
    );
  };
}
