/**
 * Drives the official NIM web SDK (`@yxim/nim-web-sdk`, Node build: JSON transport) against a test
 * server, with every wait bounded and explained, and every instance destroyed at the end.
 */
import { createRequire } from 'node:module';
import type { TestServer } from './server.js';

const require = createRequire(import.meta.url);
type Any = any;
/**
 * The Node builds under test: the current 9.x line and the 8.9.x stable line (devDependency alias).
 * Loaded on first use: the two bundles break each other's polyfills when loaded in one process,
 * so a test file uses one line only (node --test runs each file in its own process).
 */
const SDK_PATHS = {
  v9: '@yxim/nim-web-sdk/dist/SDK/NIM_Web_NIM_nodejs.js',
  v8: 'nim-web-sdk-8/dist/SDK/NIM_Web_NIM_nodejs.js',
} as const;
export type SdkBuild = keyof typeof SDK_PATHS;
const loaded = new Map<SdkBuild, Any>();
function sdkBuild(build: SdkBuild): Any {
  const other = [...loaded.keys()].find((b) => b !== build);
  if (other) throw new Error(`the ${other} and ${build} SDK bundles cannot share a process`);
  if (!loaded.has(build)) loaded.set(build, require(SDK_PATHS[build]));
  return loaded.get(build);
}

export const SDK_WAIT_MS = 10_000;

export interface SdkClient {
  account: string;
  nim: Any;
  /** onmsg, in arrival order. */
  messages: Any[];
  /** Messages handed to onofflinemsgs, flattened. */
  offline: Any[];
  disconnects: Any[];
  loginPorts: Any[];
  /** Resolves when `pred` holds over this client's state; rejects after `ms` with `what`. */
  waitFor(what: string, pred: () => boolean, ms?: number): Promise<void>;
  sendText(to: string, text: string): Promise<Any>;
  destroy(): Promise<void>;
}

export interface SdkLoginOptions {
  /** Resolve on onconnect + onsyncdone (default) or on the first disconnect (expected failures). */
  expect?: 'sync' | 'disconnect';
  extra?: Record<string, unknown>;
  /**
   * A second instance for an account that already has one (another device): `NIM.getInstance`
   * returns the existing instance, so construct one with the SDK's `_disableSingleton`.
   */
  anotherDevice?: boolean;
  /** Which SDK line (default v9). */
  sdk?: SdkBuild;
}

const live = new Set<SdkClient>();

/** Options that point the v9 SDK at nimbase (docs/client-sdk.md). */
export function sdkOptions(server: TestServer, account: string, token: string): Record<string, unknown> {
  const host = new URL(server.url).host;
  return {
    appKey: server.appKey,
    account,
    token,
    db: false,
    debug: false,
    defaultLink: host,
    privateConf: {
      lbs_web: `${server.url}/lbs/webconf.jsp`,
      link_web: host,
      link_ssl_web: false,
      isDataReportEnable: false,
      isABTestEnable: false,
      isMixStoreEnable: false,
    },
  };
}

export async function sdkLogin(
  server: TestServer,
  account: string,
  token: string,
  o: SdkLoginOptions = {},
): Promise<SdkClient> {
  const listeners = new Set<() => void>();
  const poke = () => {
    for (const l of [...listeners]) l();
  };
  let synced = false;
  const client: SdkClient = {
    account,
    nim: undefined,
    messages: [],
    offline: [],
    disconnects: [],
    loginPorts: [],
    waitFor(what, pred, ms = SDK_WAIT_MS) {
      if (pred()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!pred()) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(
            new Error(
              `${account}: timed out after ${ms} ms waiting for ${what} (messages=${client.messages.length}, offline=${client.offline.length}, disconnects=${JSON.stringify(client.disconnects)})`,
            ),
          );
        }, ms);
        listeners.add(check);
      });
    },
    sendText(to, text) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${account}: sendText to ${to} timed out`)),
          SDK_WAIT_MS,
        );
        client.nim.sendText({
          scene: 'p2p',
          to,
          text,
          done(err: Any, msg: Any) {
            clearTimeout(timer);
            if (err)
              reject(
                Object.assign(new Error(`${account}: send failed: ${err.code ?? err.message}`), {
                  sdk: err,
                  msg,
                }),
              );
            else resolve(msg);
          },
        });
      });
    },
    async destroy() {
      live.delete(client);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        try {
          client.nim.destroy({
            done() {
              clearTimeout(timer);
              resolve();
            },
          });
        } catch {
          clearTimeout(timer);
          resolve();
        }
      });
    },
  };
  live.add(client);
  const NIM = sdkBuild(o.sdk ?? 'v9');
  const create = (opts: Any) =>
    o.anotherDevice ? new NIM({ ...opts, _disableSingleton: true }) : NIM.getInstance(opts);
  client.nim = create({
    ...sdkOptions(server, account, token),
    ...o.extra,
    onconnect() {
      poke();
    },
    onsyncdone() {
      synced = true;
      poke();
    },
    onmsg(msg: Any) {
      client.messages.push(msg);
      poke();
    },
    onofflinemsgs(o: Any) {
      client.offline.push(...(o.msgs ?? []));
      poke();
    },
    onloginportschange(ports: Any) {
      client.loginPorts.push(...ports);
      poke();
    },
    ondisconnect(e: Any) {
      client.disconnects.push(e);
      poke();
    },
    onerror(e: Any) {
      client.disconnects.push({ code: 'error', error: String(e?.message ?? e) });
      poke();
    },
  });
  try {
    if (o.expect === 'disconnect') await client.waitFor('a disconnect', () => client.disconnects.length > 0);
    else await client.waitFor('login and sync', () => synced || client.disconnects.length > 0);
    if (o.expect !== 'disconnect' && !synced)
      throw new Error(`${account}: login failed: ${JSON.stringify(client.disconnects)}`);
  } catch (err) {
    await client.destroy();
    throw err;
  }
  return client;
}

/** Destroys every SDK instance still alive (call in `after`). */
export async function destroyAllSdkClients(): Promise<void> {
  await Promise.all([...live].map((c) => c.destroy()));
}
