/**
 * Idempotent retries (a nimbase extension, off the compatibility path). The official SDKs retry a
 * create once after a 502 or a timeout; the cloud answers the retry "already register". A request
 * carrying an `Idempotency-Key` header gets, on a retry with the same key, the original answer.
 * The answer may hold a token, so it is kept sealed, with the request's fingerprint, for 24 hours.
 */
import { hash } from 'node:crypto';
import type { SecretVault } from '../security/vault.js';
import type { IdempotencyStore } from '../store/port.js';
import { DomainError, PARAM_ERROR } from './errors.js';
import { checkIdempotencyKey, IDEMPOTENCY_TTL_MS } from './rules.js';

/** A retry with the same key but another request: refused rather than answered with a foreign body. */
export const idempotencyKeyReused = () =>
  new DomainError(PARAM_ERROR, 'Idempotency-Key already used for a different request', {
    param: 'Idempotency-Key',
    kind: 'bad',
  });

const owner = (appKey: string, key: string) => `idempotency:${appKey}:${key}`;
const PURGE_EVERY_MS = 3600_000;

/** A stable digest of a request: method, path and parameters (object keys sorted). */
export function requestFingerprint(method: string, path: string, params: unknown): string {
  return hash('sha256', `${method} ${path}\n${canonicalJson(params)}`, 'hex');
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

export class IdempotencyService {
  #lastPurge = 0;

  constructor(
    private readonly store: IdempotencyStore,
    private readonly vault: SecretVault,
    private readonly now: () => number = Date.now,
  ) {}

  /** Validates a header value (≤ 128 printable ASCII); throws a 414 DomainError otherwise. */
  checkKey(key: string): string {
    return checkIdempotencyKey(key);
  }

  /** The remembered answer for (appKey, key), or undefined; throws when the key was used for another request. */
  async recall(appKey: string, key: string, fingerprint: string): Promise<unknown | undefined> {
    const r = await this.store.getIdempotency(appKey, key);
    if (!r || r.createdAt < this.now() - IDEMPOTENCY_TTL_MS) return undefined;
    let saved: { fingerprint: string; body: unknown };
    try {
      saved = JSON.parse(this.vault.open(r.responseSealed, owner(appKey, key)));
    } catch {
      return undefined; // sealed under another key (a restored backup): as if never seen
    }
    if (saved.fingerprint !== fingerprint) throw idempotencyKeyReused();
    return saved.body;
  }

  /** Remembers a successful answer (first writer wins under a race). */
  async remember(appKey: string, key: string, fingerprint: string, body: unknown): Promise<void> {
    const now = this.now();
    if (now - this.#lastPurge > PURGE_EVERY_MS) {
      this.#lastPurge = now;
      await this.store.deleteIdempotencyBefore(now - IDEMPOTENCY_TTL_MS);
    }
    const sealed = this.vault.seal(JSON.stringify({ fingerprint, body }), owner(appKey, key));
    // A record older than the TTL may still sit there until the next purge: replace it.
    const existing = await this.store.getIdempotency(appKey, key);
    if (existing && existing.createdAt < now - IDEMPOTENCY_TTL_MS)
      await this.store.deleteIdempotencyBefore(now - IDEMPOTENCY_TTL_MS);
    await this.store.insertIdempotency({ appKey, key, responseSealed: sealed, createdAt: now });
  }
}
