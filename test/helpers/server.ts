/**
 * Starts a real nimbase HTTP server on a free port with a fresh data dir, for black-box tests.
 * The clock can be injected so the spec's fixed-time vectors (auth.md §8) verify.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { Bus } from '../../src/bus/port.js';
import { signHeaders } from '../../src/client/server-api.js';
import { parseConfig, type ServeConfig, serveSchema } from '../../src/config.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { buildServer } from '../../src/server.js';
import { testDatabaseFor } from './pg.js';

export interface TestServer {
  url: string;
  appKey: string;
  appSecret: string;
  dataDir: string;
  runtime: Runtime;
  /** The bus the server's gateway listens on (tests publish account events on it). */
  bus: Bus;
  /** Signed v1 call with form params; resolves the parsed JSON body. */
  call(
    path: string,
    params?: Record<string, string> | string,
    init?: CallInit,
  ): Promise<Record<string, unknown>>;
  /** A raw fetch against the server. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export interface CallInit {
  headers?: Record<string, string>;
  nonce?: string;
  curTime?: string;
}

export interface StartOptions {
  now?: () => number;
  /** Listen on this port (restart tests); default: a free one. */
  port?: number;
  /** A bus shared with other test servers (several nodes); default: the runtime's own. */
  bus?: Bus;
  config?: Partial<Record<keyof ServeConfig, string>>;
  dataDir?: string;
  /** Keep the data dir on close (restart tests). */
  keepData?: boolean;
  /** Use these credentials for the test app (imported when absent). */
  app?: { appKey: string; appSecret: string };
  /** Where log lines go (default: nowhere). */
  logStream?: { write(line: string): void };
}

export async function startServer(o: StartOptions = {}): Promise<TestServer> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'nimbase-test-'));
  // NIMBASE_TEST_DATABASE_URL runs the suite on a fresh PostgreSQL database per server.
  const testDb = await testDatabaseFor(dataDir);
  const config = parseConfig(serveSchema, {
    dataDir,
    port: '0',
    logLevel: 'silent',
    databaseUrl: testDb?.url,
    ...o.config,
  });
  const runtime = await openRuntime(config, { now: o.now, appCacheTtlMs: 0, bus: o.bus });
  const apps = await runtime.apps.listApps();
  let creds: { appKey: string; appSecret: string };
  if (o.app) {
    if (!apps.some((a) => a.appKey === o.app?.appKey)) await runtime.apps.importApp('test', o.app);
    creds = o.app;
  } else {
    creds = apps[0]
      ? { appKey: apps[0].appKey, appSecret: (await runtime.apps.secretOf(apps[0].appKey))! }
      : await runtime.apps.createApp('test');
  }
  const logger = o.logStream ? pino({ level: 'debug' }, o.logStream) : pino({ level: 'silent' });
  const bus = runtime.bus;
  const app = buildServer({ config, runtime, logger, now: o.now });
  await app.listen({ host: '127.0.0.1', port: o.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  const server: TestServer = {
    url,
    ...creds,
    dataDir,
    runtime,
    bus,
    fetch: (path, init) => fetch(`${url}${path}`, init),
    async call(path, params = {}, init = {}) {
      const t = init.curTime ?? String(Math.floor((o.now ? o.now() : Date.now()) / 1000));
      const body = typeof params === 'string' ? params : new URLSearchParams(params).toString();
      const res = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: {
          ...signHeaders(creds, init.nonce, t),
          'Content-Type': 'application/x-www-form-urlencoded;charset=utf-8',
          ...init.headers,
        },
        body,
      });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      return (await res.json()) as Record<string, unknown>;
    },
    async close() {
      await app.close();
      await runtime.close();
      // A caller-owned data dir may be reused by a later server: its database lives to the file's end.
      if (!o.keepData && !o.dataDir) await testDb?.drop();
      if (!o.keepData && !o.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}
