/** Signed v2 (JSON) calls against a test server, and small helpers shared by the account tests. */
import { signHeaders } from '../../src/client/server-api.js';
import type { TestServer } from './server.js';

/** Answer bodies are inspected loosely in tests. */
export type Loose = any;

export interface V2Init {
  /** Send this exact text as the body (malformed JSON tests). */
  raw?: string;
  headers?: Record<string, string>;
  /** Credentials of another app. */
  creds?: { appKey: string; appSecret: string };
}

/** Resolves the parsed `{code,msg,data}` body; fails on a non-200 HTTP status. */
export async function v2(
  s: TestServer,
  method: string,
  path: string,
  body?: unknown,
  init: V2Init = {},
): Promise<Record<string, Loose>> {
  const creds = init.creds ?? { appKey: s.appKey, appSecret: s.appSecret };
  const headers: Record<string, string> = { ...signHeaders(creds), ...init.headers };
  let payload: string | undefined;
  if (init.raw !== undefined || body !== undefined) {
    headers['Content-Type'] = 'application/json;charset=UTF-8';
    payload = init.raw ?? JSON.stringify(body);
  }
  const res = await s.fetch(path, { method, headers, body: payload });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  return (await res.json()) as Record<string, Loose>;
}

/** A signed v1 form call with another app's credentials (the helper's `call` signs with the test app). */
export async function callAs(
  s: TestServer,
  creds: { appKey: string; appSecret: string },
  path: string,
  params: Record<string, string>,
): Promise<Record<string, unknown>> {
  const res = await s.fetch(path, {
    method: 'POST',
    headers: { ...signHeaders(creds), 'Content-Type': 'application/x-www-form-urlencoded;charset=utf-8' },
    body: new URLSearchParams(params).toString(),
  });
  return (await res.json()) as Record<string, unknown>;
}

/** Registers accounts through v1 create.action; resolves their tokens. */
export async function createAccounts(s: TestServer, ...accids: string[]): Promise<string[]> {
  const tokens: string[] = [];
  for (const accid of accids) {
    const r = (await s.call('/nimserver/user/create.action', { accid })) as { info?: { token: string } };
    if (!r.info) throw new Error(`create ${accid}: ${JSON.stringify(r)}`);
    tokens.push(r.info.token);
  }
  return tokens;
}

/** Collects the account events published on the runtime's bus. */
export async function recordEvents(s: TestServer): Promise<{ events: Loose[]; stop: () => void }> {
  const { SUBJECTS } = await import('../../src/bus/subjects.js');
  const events: Loose[] = [];
  const stop = await s.runtime.bus.subscribe(SUBJECTS.accountEvents, (e) => events.push(e));
  return { events, stop };
}

/** Lets queued bus deliveries (microtasks) run. */
export const settle = () => new Promise((resolve) => setImmediate(resolve));
