/**
 * The composition root shared by `serve` and the data commands: the secret key, the store and the
 * domain services, built from a validated config.
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AccountEventSink } from './accounts/events.js';
import { IdempotencyService } from './accounts/idempotency.js';
import type { PresenceQuery } from './accounts/presence.js';
import { AccountService } from './accounts/service.js';
import { AppService } from './apps/service.js';
import { BusUrlError, openBus } from './bus/open.js';
import type { Bus } from './bus/port.js';
import { SUBJECTS } from './bus/subjects.js';
import { ConfigError, type DataConfig, type ServeConfig } from './config.js';
import { KEY_FILE_NAME, loadOrCreateKeyFile, parseKey } from './security/keyfile.js';
import { SecretVault } from './security/vault.js';
import { openStore, StoreUrlError } from './store/open.js';
import type { Store } from './store/port.js';
import type { StoreNotice } from './store/sqlite-checkpoints.js';

export interface Runtime {
  store: Store;
  vault: SecretVault;
  apps: AppService;
  accounts: AccountService;
  idempotency: IdempotencyService;
  /** Fan-out between nodes (in-process unless a bus URL names a broker); account events go to SUBJECTS.accountEvents. */
  bus: Bus;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  now?: () => number;
  appCacheTtlMs?: number;
  /** A bus made by the caller (not closed with the runtime); default: opened from busUrl. */
  bus?: Bus;
  /** `redis://…` for several nodes; undefined = the in-process bus. Ignored when `bus` is given. */
  busUrl?: string | undefined;
  /** Hears about bus handlers that throw and undecodable bus payloads. */
  onBusError?: (err: unknown) => void;
  /** The gateway's session registry (default: nobody online). AccountService.usePresence sets it later. */
  presence?: PresenceQuery;
  /** Called when publishing an account event fails (the write it follows stands). */
  onEventError?: (err: unknown) => void;
  /** Hears the store's notices (a lost or failing WAL checkpointer thread, say). */
  onStoreNotice?: (notice: StoreNotice) => void;
  /**
   * Have the store ready for the first message before returning (`serve`; SqliteStore.warm), and
   * hear how many messages its resend window holds and how long filling it took (ms).
   */
  onStoreWarm?: (messages: number, ms: number) => void;
}

/** Switches of `serve` that the runtime passes on, when the config carries them (data commands do not). */
type ServeSwitches = Partial<Pick<ServeConfig, 'lowercaseLookup' | 'createReplay' | 'resendWindow'>>;

/** Publishes account events on the bus, for the client gateway of every node. */
export function busEventSink(bus: Bus, onError: (err: unknown) => void = () => {}): AccountEventSink {
  return {
    publish: (event) => bus.publish(SUBJECTS.accountEvents, event).catch(onError),
  };
}

export async function openRuntime(
  config: DataConfig & ServeSwitches,
  options: RuntimeOptions = {},
): Promise<Runtime> {
  let store: Store;
  try {
    store = await openStore({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      durability: config.durability,
      onNotice: options.onStoreNotice,
      resendWindow: config.resendWindow,
      warm: options.onStoreWarm,
    });
  } catch (err) {
    if (err instanceof StoreUrlError) throw new ConfigError(err.message);
    throw err;
  }
  let bus: Bus | undefined;
  try {
    const key = await loadKey(config, store);
    const vault = new SecretVault(key);
    store.useSealingKey(key);
    const now = options.now ?? Date.now;
    bus =
      options.bus ??
      (await openBus(options.busUrl, options.onBusError).catch((err) => {
        throw err instanceof BusUrlError ? new ConfigError(err.message) : err;
      }));
    const openedBus = bus;
    return {
      store,
      vault,
      bus: openedBus,
      apps: new AppService(store, vault, { now, cacheTtlMs: options.appCacheTtlMs }),
      accounts: new AccountService(store, vault, now, {
        events: busEventSink(openedBus, options.onEventError),
        presence: options.presence,
        lowercaseLookup: config.lowercaseLookup,
        replayEqualCreate: config.createReplay,
      }),
      idempotency: new IdempotencyService(store, vault, now),
      // The bus first: nothing new arrives while the store flushes its last writes.
      close: async () => {
        if (!options.bus) await openedBus.close();
        await store.close();
      },
    };
  } catch (err) {
    if (!options.bus) await bus?.close();
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
