/** Picks the store adapter from the database URL (Dendrite's storage.go): sqlite by default, postgres:// for scale-out. */
import { isAbsolute, join, resolve } from 'node:path';
import type { Store } from './port.js';
import { type Durability, SqliteStore } from './sqlite.js';
import type { StoreNotice } from './sqlite-checkpoints.js';

export interface OpenStoreOptions {
  /** `sqlite:<path>`, `file:<path>`, a plain path, or undefined for `<dataDir>/nimbase.db`. */
  databaseUrl?: string | undefined;
  dataDir: string;
  durability?: Durability;
  /** Hears the store's notices (the SQLite writer's checkpoints); `serve` logs them. */
  onNotice?: ((notice: StoreNotice) => void) | undefined;
  /** SQLite: how many recent messages a resend is recognised among (SqliteOptions.resendWindow). */
  resendWindow?: number | undefined;
  /**
   * SQLite: start the writer and fill its resend window before returning (SqliteStore.warm); told
   * how many messages the window holds and how long that took (ms).
   */
  warm?: ((messages: number, ms: number) => void) | undefined;
}

export class StoreUrlError extends Error {}

export type DatabaseDescription =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; path: string; url: string };

export function describeDatabase(o: OpenStoreOptions): DatabaseDescription {
  const url = o.databaseUrl;
  if (url === undefined || url === '')
    return { kind: 'sqlite', path: resolve(join(o.dataDir, 'nimbase.db')) };
  if (/^postgres(ql)?:\/\//i.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new StoreUrlError('the postgres database URL is not a valid URL');
    }
    // `path` is what logs and the banner show: never the password.
    if (parsed.password) parsed.password = '***';
    return { kind: 'postgres', path: parsed.toString(), url };
  }
  let path = url;
  const m = /^(sqlite|file):(\/\/)?(.*)$/i.exec(url);
  if (m) path = m[3] ?? '';
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url))
    throw new StoreUrlError(`unsupported database URL scheme in ${schemeOf(url)}`);
  if (path === '') throw new StoreUrlError('the sqlite database URL has no path');
  if (path === ':memory:') return { kind: 'sqlite', path };
  return { kind: 'sqlite', path: isAbsolute(path) ? path : resolve(path) };
}

const schemeOf = (url: string) => `${url.split(':')[0]}:`;

export async function openStore(o: OpenStoreOptions & { migrate?: boolean }): Promise<Store> {
  const d = describeDatabase(o);
  if (d.kind === 'postgres') {
    // Imported lazily: a single-node SQLite install never loads pg.
    const { PostgresStore } = await import('./postgres.js');
    const store = new PostgresStore({ url: d.url });
    try {
      // Migrating (or, with migrate: false, one ping) proves the database is reachable at start.
      if (o.migrate !== false) await store.migrate();
      else if (!(await store.ping())) throw new Error('no answer');
    } catch (err) {
      await store.close();
      throw new Error(`cannot open the database ${d.path}: ${(err as Error).message}`, { cause: err });
    }
    return store;
  }
  const store = new SqliteStore({
    path: d.path,
    durability: o.durability ?? 'full',
    onNotice: o.onNotice,
    resendWindow: o.resendWindow,
  });
  try {
    if (o.migrate !== false) await store.migrate();
    if (o.warm) {
      const started = performance.now();
      const messages = await store.warm();
      o.warm(messages, performance.now() - started);
    }
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
  return store;
}
