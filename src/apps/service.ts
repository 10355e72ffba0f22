/**
 * Apps (tenants): AppKey + AppSecret pairs. Secrets are sealed at rest. A rotation keeps the old
 * secret valid for a grace period so a fleet of app servers can roll to the new one.
 */
import { randomBytes } from 'node:crypto';
import { appSecretOwner, type SecretVault } from '../security/vault.js';
import type { AppRecord, AppStore } from '../store/port.js';

export interface AppCredentials {
  appKey: string;
  appSecret: string;
}

export interface AppSummary {
  appKey: string;
  name: string;
  createdAt: number;
  /** When a rotated-out secret stops being accepted (ms), if one is still accepted. */
  previousSecretExpiresAt?: number | undefined;
}

/** The secrets a request may be signed with right now. */
export interface AppSecrets {
  current: string;
  previous?: string | undefined;
  previousExpiresAt?: number | undefined;
}

export const APP_NAME_MAX = 64;

export const APP_KEY_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const APP_SECRET_PATTERN = /^[\x21-\x7e]{1,128}$/;

/** A bad app name, AppKey or AppSecret given by an operator. */
export class AppInputError extends Error {}

function checkAppName(name: string): void {
  if (name.length === 0 || name.length > APP_NAME_MAX)
    throw new AppInputError(`the app name must be 1..${APP_NAME_MAX} characters`);
}

export class AppNotFoundError extends Error {
  constructor(appKey: string) {
    super(`no app with AppKey ${appKey}`);
  }
}

export class AppService {
  readonly #cache = new Map<string, { secrets: AppSecrets | null; loadedAt: number }>();

  constructor(
    private readonly store: AppStore,
    private readonly vault: SecretVault,
    private readonly options: { now?: () => number; cacheTtlMs?: number } = {},
  ) {}

  #now(): number {
    return this.options.now ? this.options.now() : Date.now();
  }

  /** AppKey: 32 lowercase hex; AppSecret: 32 lowercase hex (longer than the cloud's 12, same alphabet). */
  async createApp(name: string): Promise<AppCredentials> {
    if (name.length === 0 || name.length > APP_NAME_MAX)
      throw new Error(`the app name must be 1..${APP_NAME_MAX} characters`);
    for (;;) {
      const appKey = randomBytes(16).toString('hex');
      const appSecret = randomBytes(16).toString('hex');
      const inserted = await this.store.insertApp({
        appKey,
        name,
        secretSealed: this.vault.seal(appSecret, appSecretOwner(appKey)),
        createdAt: this.#now(),
      });
      if (inserted) return { appKey, appSecret };
    }
  }

  /**
   * Registers an existing CommsEase app's AppKey and AppSecret, so app servers moving to nimbase
   * keep their credentials. Resolves false when the AppKey is taken.
   */
  async importApp(name: string, creds: AppCredentials): Promise<boolean> {
    checkAppName(name);
    if (!APP_KEY_PATTERN.test(creds.appKey))
      throw new AppInputError('the AppKey must be 1..64 of A-Z a-z 0-9 _ -');
    if (!APP_SECRET_PATTERN.test(creds.appSecret))
      throw new AppInputError('the AppSecret must be 1..128 printable ASCII characters without spaces');
    return this.store.insertApp({
      appKey: creds.appKey,
      name,
      secretSealed: this.vault.seal(creds.appSecret, appSecretOwner(creds.appKey)),
      createdAt: this.#now(),
    });
  }

  async listApps(): Promise<AppSummary[]> {
    const now = this.#now();
    return (await this.store.listApps()).map((a) => ({
      appKey: a.appKey,
      name: a.name,
      createdAt: a.createdAt,
      previousSecretExpiresAt:
        a.previousSecretExpiresAt !== undefined && a.previousSecretExpiresAt > now
          ? a.previousSecretExpiresAt
          : undefined,
    }));
  }

  /** Issues a new secret; the old one stays valid for `graceSeconds` (0 = revoked at once). */
  async rotateSecret(
    appKey: string,
    graceSeconds: number,
  ): Promise<AppCredentials & { previousSecretExpiresAt: number }> {
    const app = await this.store.getApp(appKey);
    if (!app) throw new AppNotFoundError(appKey);
    const appSecret = randomBytes(16).toString('hex');
    const previousSecretExpiresAt = this.#now() + graceSeconds * 1000;
    await this.store.updateAppSecrets(appKey, {
      secretSealed: this.vault.seal(appSecret, appSecretOwner(appKey)),
      previousSecretSealed: graceSeconds > 0 ? app.secretSealed : undefined,
      previousSecretExpiresAt: graceSeconds > 0 ? previousSecretExpiresAt : undefined,
    });
    this.#cache.delete(appKey);
    return { appKey, appSecret, previousSecretExpiresAt };
  }

  /** The plain secret of an app (for the CLI's `call`), or undefined. */
  async secretOf(appKey: string): Promise<string | undefined> {
    return (await this.secretsFor(appKey))?.current;
  }

  /**
   * The secrets that verify a request for `appKey`, or null for an unknown AppKey. Cached briefly
   * so the hot path does not open sealed values per request; a rotation made by another process
   * is seen within the cache TTL.
   */
  async secretsFor(appKey: string): Promise<AppSecrets | null> {
    const cached = this.cachedSecretsFor(appKey);
    if (cached !== undefined) return cached;
    const now = this.#now();
    const app = await this.store.getApp(appKey);
    const secrets = app ? this.#open(app) : null;
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(appKey, { secrets, loadedAt: now });
    return secrets;
  }

  /**
   * secretsFor's answer when it needs no lookup (a cached app, or a key no app can have), else
   * undefined: the signature check of a hot app then runs without a promise.
   */
  cachedSecretsFor(appKey: string): AppSecrets | null | undefined {
    // A key no app can have is unknown without a lookup, and is never cached (a flood of distinct
    // junk keys would otherwise fill the cache).
    if (!APP_KEY_PATTERN.test(appKey)) return null;
    const hit = this.#cache.get(appKey);
    if (hit && this.#now() - hit.loadedAt < (this.options.cacheTtlMs ?? 5000)) return hit.secrets;
    return undefined;
  }

  #open(app: AppRecord): AppSecrets {
    const owner = appSecretOwner(app.appKey);
    return {
      current: this.vault.open(app.secretSealed, owner),
      previous: app.previousSecretSealed ? this.vault.open(app.previousSecretSealed, owner) : undefined,
      previousExpiresAt: app.previousSecretExpiresAt,
    };
  }
}
