/**
 * A small server-API client: signs requests exactly as the official SDKs do (spec/auth.md) and
 * sends them with fetch. Used by `nimbase call`, the tests and the benchmarks.
 */
import { hash, randomBytes } from 'node:crypto';

export interface Credentials {
  appKey: string;
  appSecret: string;
}

/** The four auth headers for one request; `curTime` in seconds defaults to now. */
export function signHeaders(c: Credentials, nonce = randomBytes(16).toString('hex'), curTime?: string) {
  const t = curTime ?? String(Math.floor(Date.now() / 1000));
  return {
    AppKey: c.appKey,
    Nonce: nonce,
    CurTime: t,
    CheckSum: hash('sha1', c.appSecret + nonce + t, 'hex'),
  };
}

/** `user/create.action` → `/nimserver/user/create.action`; `/im/v2/...` stays as is. */
export function normalizeApiPath(path: string): string {
  const p = path.startsWith('/') ? path : `/${path}`;
  if (p.startsWith('/nimserver/') || p.startsWith('/im/')) return p;
  return `/nimserver${p}`;
}

export const isV2 = (path: string) => /^\/(nimserver\/)?im\/v2/.test(path);

export interface SignedCall extends Credentials {
  baseUrl: string;
  path: string;
  params?: readonly (readonly [string, string])[];
  method?: string | undefined;
  jsonBody?: unknown;
}

/** Sends one signed call and resolves the raw response text. */
export async function signedCall(c: SignedCall): Promise<string> {
  const path = normalizeApiPath(c.path);
  const url = new URL(path, c.baseUrl);
  const headers: Record<string, string> = signHeaders(c);
  const params = c.params ?? [];
  let method = (
    c.method ?? (isV2(path) && params.length === 0 && c.jsonBody === undefined ? 'GET' : 'POST')
  ).toUpperCase();
  let body: string | undefined;
  if (isV2(path)) {
    if (method === 'GET' || method === 'DELETE') {
      for (const [k, v] of params) url.searchParams.set(k, v);
    } else {
      headers['Content-Type'] = 'application/json;charset=UTF-8';
      body = JSON.stringify(c.jsonBody ?? Object.fromEntries(params));
    }
  } else {
    method = c.method ? method : 'POST';
    headers['Content-Type'] = 'application/x-www-form-urlencoded;charset=utf-8';
    body = new URLSearchParams(params.map(([k, v]) => [k, v])).toString();
  }
  const res = await fetch(url, { method, headers, body });
  return res.text();
}
