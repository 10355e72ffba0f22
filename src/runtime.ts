/**
 * The composition root shared by `serve` and the data commands: the secret key, the store and the
 * domain services, built from a validated config.
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AccountService } from './accounts/service.js';
import { AppService } from './apps/service.js';
import { BusUrlError, openBus } from './bus/open.js';
import type { Bus } from './bus/port.js';
import { ConfigError, type DataConfig } from './config.js';
import { KEY_FILE_NAME, loadOrCreateKeyFile, parseKey } from './security/keyfile.js';
import { SecretVault } from './security/vault.js';
import { openStore, StoreUrlError } from './store/open.js';
import type { Store } from './store/port.js';

export interface Runtime {
  store: Store;
  vault: SecretVault;
  apps: AppService;
  accounts: AccountService;
  /** The fan-out between nodes: in-process unless a bus URL names a broker. */
  bus: Bus;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  now?: () => number;
  appCacheTtlMs?: number;
  /** `redis://…` for several nodes; undefined = the in-process bus. */
  busUrl?: string | undefined;
  /** Hears about bus handlers that throw and undecodable bus payloads. */
  onBusError?: (err: unknown) => void;
}

export async function openRuntime(config: DataConfig, options: RuntimeOptions = {}): Promise<Runtime> {
  let store: Store;
  try {
    store = await openStore({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      durability: config.durability,
    });
  } catch (err) {
    if (err instanceof StoreUrlError) throw new ConfigError(err.message);
    throw err;
  }
  let bus: Bus | undefined;
  try {
    const vault = new SecretVault(await loadKey(config, store));
    const now = options.now ?? Date.now;
    bus = await openBus(options.busUrl, options.onBusError).catch((err) => {
      throw err instanceof BusUrlError ? new ConfigError(err.message) : err;
    });
    const openedBus = bus;
    return {
      store,
      vault,
      apps: new AppService(store, vault, { now, cacheTtlMs: options.appCacheTtlMs }),
      accounts: new AccountService(store, vault, now),
      bus: openedBus,
      // The bus first: nothing new arrives while the store flushes its last writes.
      close: async () => {
        await openedBus.close();
        await store.close();
      },
    };
  } catch (err) {
    await bus?.close();
    await store.close();
    throw err;
  }
}

async function loadKey(config: DataConfig, store: Store): Promise<Buffer> {
  if (config.secretKey) {
    try {
      return parseKey(config.secretKey);
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
  }
  const path = join(config.dataDir, KEY_FILE_NAME);
  if (!existsSync(path) && (await store.listApps()).length > 0) {
    throw new ConfigError(
      `the key file ${path} is missing but the database holds sealed secrets: restore it or set NIMBASE_SECRET_KEY`,
    );
  }
  return loadOrCreateKeyFile(config.dataDir).key;
}
