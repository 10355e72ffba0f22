/**
 * The cross-node bus on Redis pub/sub (see docs/deployment.md for why Redis rather than NATS).
 * Two connections, as Redis requires: one that publishes (and answers ping), one in subscriber mode.
 * A subject is a Redis channel; payloads travel as JSON. Delivery is at most once and only to nodes
 * subscribed at that moment, which suits what the bus carries (kicks, live delivery, presence):
 * anything that must survive lives in the store, and clients sync from there after a reconnect.
 */
import { Redis } from 'ioredis';
import type { Bus, BusHandler } from './port.js';

export interface RedisBusOptions {
  /** `redis://[user:pass@]host:port[/db]` */
  url: string;
  /** How long ping waits for PONG before the bus counts as down (ms). */
  pingTimeoutMs?: number;
  /** Called when a handler throws or a payload is not JSON (the bus keeps going). */
  onError?: (err: unknown) => void;
}

export class RedisBus implements Bus {
  readonly kind = 'redis';
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #subs = new Map<string, Set<BusHandler>>();
  readonly #pingTimeoutMs: number;
  readonly #onError: (err: unknown) => void;
  #closed = false;

  constructor(options: RedisBusOptions) {
    const common = { lazyConnect: false, maxRetriesPerRequest: 3, connectionName: 'nimbase-bus' };
    this.#pub = new Redis(options.url, common);
    this.#sub = new Redis(options.url, common);
    this.#pingTimeoutMs = options.pingTimeoutMs ?? 1000;
    this.#onError = options.onError ?? (() => {});
    // Connection errors are retried by ioredis and reported by ping(); they must not crash the node.
    this.#pub.on('error', () => {});
    this.#sub.on('error', () => {});
    this.#sub.on('message', (channel: string, message: string) => this.#deliver(channel, message));
  }

  #deliver(channel: string, message: string): void {
    const handlers = this.#subs.get(channel);
    if (!handlers || handlers.size === 0) return;
    let payload: unknown;
    try {
      payload = JSON.parse(message);
    } catch (err) {
      this.#onError(err);
      return;
    }
    for (const h of [...handlers]) {
      try {
        // Each handler gets its own copy, as on the memory bus.
        h(handlers.size === 1 ? payload : structuredClone(payload));
      } catch (err) {
        this.#onError(err);
      }
    }
  }

  async publish(subject: string, payload: unknown): Promise<void> {
    if (this.#closed) throw new Error('bus is closed');
    await this.#pub.publish(subject, JSON.stringify(payload));
  }

  async subscribe(subject: string, handler: BusHandler): Promise<() => void> {
    if (this.#closed) throw new Error('bus is closed');
    let set = this.#subs.get(subject);
    if (!set) {
      set = new Set();
      this.#subs.set(subject, set);
    }
    set.add(handler);
    // Resolves once Redis has acknowledged the channel, so a publish after this is delivered.
    if (set.size === 1) await this.#sub.subscribe(subject);
    return () => {
      if (!set.delete(handler) || set.size > 0 || this.#closed) return;
      this.#subs.delete(subject);
      this.#sub.unsubscribe(subject).catch(() => {});
    };
  }

  /** PONG from the publishing connection and a subscriber connection that is up, within the timeout. */
  async ping(): Promise<boolean> {
    if (this.#closed) return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#pingTimeoutMs);
    });
    const check = async () => (await this.#pub.ping()) === 'PONG' && (await ready(this.#sub));
    try {
      return await Promise.race([check(), timeout]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#subs.clear();
    await Promise.allSettled([this.#pub.quit(), this.#sub.quit()]);
  }
}

/** Resolves true once `conn` is ready (at once when it already is); the caller bounds the wait. */
function ready(conn: Redis): Promise<boolean> {
  if (conn.status === 'ready') return Promise.resolve(true);
  if (conn.status === 'end' || conn.status === 'close') return Promise.resolve(false);
  return new Promise((resolve) => conn.once('ready', () => resolve(true)));
}
