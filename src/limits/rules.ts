/**
 * Request limits of the server API (docs/deployment.md): the per-app frequency control (416) and
 * the optional replay protection (431). This file is the pure part: the rule syntax, the presets
 * and the API family of a URL. Counting lives behind the ports of port.ts.
 *
 * Rule syntax (flag --rate-limit, env NIMBASE_RATE_LIMIT), comma-separated:
 *   off                                  no frequency control (the default: self-hosted)
 *   cloud                                the cloud's account-API rule: user=100:10 (spec/accounts-v1.md §0)
 *   <family>=<calls>[/<seconds>][:<blockSeconds>]          for every app
 *   <appKey>/<family>=<calls>[/<seconds>][:<blockSeconds>] for one app (wins over the family rule)
 * `family` is the API family (`user`, `msg`, `team`, … or `*` for any); calls are counted per app
 * and per family. Over the limit, the app's calls of that family answer 416 for blockSeconds (or,
 * with no block, until the window ends).
 */

export interface RateRule {
  /** Calls allowed per window. */
  calls: number;
  windowMs: number;
  /** How long an app that went over stays refused (0: until its window ends). */
  blockMs: number;
}

export interface RateRules {
  /** By family (`*` = any family). */
  families: ReadonlyMap<string, RateRule>;
  /** By `appKey/family` (family may be `*`). */
  apps: ReadonlyMap<string, RateRule>;
}

export const RATE_PRESETS: Record<string, string> = {
  off: '',
  // The cloud: 100 calls/s per app on the account API, then a 10 s block (spec/accounts-v1.md §0).
  cloud: 'user=100:10',
};

export class RateRuleError extends Error {}

const RULE =
  /^(?:([^\s/=,]{1,128})\/)?([a-z0-9_.*-]{1,32})=([0-9]{1,9})(?:\/([0-9]{1,6}))?(?::([0-9]{1,6}))?$/i;

/** Parses a --rate-limit value; undefined when it sets no rule (off). */
export function parseRateRules(spec: string): RateRules | undefined {
  const families = new Map<string, RateRule>();
  const apps = new Map<string, RateRule>();
  for (const raw of spec.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const preset = RATE_PRESETS[part.toLowerCase()];
    if (preset !== undefined) {
      const sub = parseRateRules(preset);
      for (const [k, v] of sub?.families ?? []) families.set(k, v);
      continue;
    }
    const m = RULE.exec(part);
    if (!m)
      throw new RateRuleError(
        `rate limit rule "${part}" is not [appKey/]family=calls[/seconds][:blockSeconds], off or cloud`,
      );
    const [, appKey, family, calls, seconds, block] = m;
    const rule: RateRule = {
      calls: Number(calls),
      windowMs: Number(seconds ?? 1) * 1000,
      blockMs: Number(block ?? 0) * 1000,
    };
    if (rule.calls === 0 || rule.windowMs === 0)
      throw new RateRuleError(`rate limit rule "${part}" allows no call; use a positive number`);
    if (appKey) apps.set(`${appKey}/${family!.toLowerCase()}`, rule);
    else families.set(family!.toLowerCase(), rule);
  }
  return families.size === 0 && apps.size === 0 ? undefined : { families, apps };
}

/** The rule for one app's call to one family, if any. */
export function ruleFor(rules: RateRules, appKey: string, family: string): RateRule | undefined {
  return (
    rules.apps.get(`${appKey}/${family}`) ??
    rules.apps.get(`${appKey}/*`) ??
    rules.families.get(family) ??
    rules.families.get('*')
  );
}

/**
 * The API family of a request path: v1 `/nimserver/<family>/<action>.action`; v2
 * `[/nimserver]/im/v2[.1]/<resource>…`. v2 accounts count as `user`: one account API, two generations.
 */
export function apiFamily(url: string): string {
  const path = url.split('?')[0] ?? '';
  const v2 = /^\/(?:nimserver\/)?im\/v2(?:\.1)?\/([^/]+)/.exec(path);
  if (v2) {
    const resource = v2[1]!.toLowerCase();
    return resource === 'accounts' ? 'user' : resource;
  }
  const v1 = /^\/nimserver\/([^/]+)\//.exec(path);
  return v1 ? v1[1]!.toLowerCase() : 'other';
}

/**
 * How long a claimed Nonce must be remembered: a signed request is accepted while
 * |CurTime − now| ≤ window, so a copy of it can come back up to 2 × window after the first claim.
 */
export const nonceTtlMs = (curTimeWindowSeconds: number) => Math.max(1, 2 * curTimeWindowSeconds) * 1000;
