/** Picks the store adapter from the database URL (Dendrite's storage.go): sqlite by default. */
import { isAbsolute, join, resolve } from 'node:path';
import type { Store } from './port.js';
import { type Durability, SqliteStore } from './sqlite.js';

export interface OpenStoreOptions {
  /** `sqlite:<path>`, `file:<path>`, a plain path, or undefined for `<dataDir>/nimbase.db`. */
  databaseUrl?: string | undefined;
  dataDir: string;
  durability?: Durability;
}

export class StoreUrlError extends Error {}

export function describeDatabase(o: OpenStoreOptions): { kind: 'sqlite'; path: string } {
  const url = o.databaseUrl;
  if (url === undefined || url === '')
    return { kind: 'sqlite', path: resolve(join(o.dataDir, 'nimbase.db')) };
  if (/^postgres(ql)?:\/\//i.test(url)) {
    throw new StoreUrlError(
      'PostgreSQL is not supported by this build yet; use a sqlite: URL or a file path',
    );
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
  const store = new SqliteStore({ path: d.path, durability: o.durability ?? 'full' });
  if (o.migrate !== false) await store.migrate();
  return store;
}
