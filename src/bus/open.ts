/** Picks the bus adapter from the bus URL: in-process by default, Redis pub/sub for several nodes. */
import { MemoryBus } from './memory.js';
import type { Bus } from './port.js';

export class BusUrlError extends Error {}

export function describeBus(url: string | undefined): { kind: 'memory' } | { kind: 'redis'; url: string } {
  if (url === undefined || url === '' || url === 'memory:' || url === 'memory://') return { kind: 'memory' };
  if (/^rediss?:\/\//i.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new BusUrlError('the bus URL is not a valid URL');
    }
    return { kind: 'redis', url };
  }
  if (/^nats:\/\//i.test(url))
    throw new BusUrlError('nats:// buses are not supported by this build; use redis://host:6379');
  throw new BusUrlError(`unsupported bus URL scheme in ${url.split(':')[0]}: (use redis://…)`);
}

export async function openBus(url: string | undefined, onError?: (err: unknown) => void): Promise<Bus> {
  const d = describeBus(url);
  if (d.kind === 'memory') return new MemoryBus({ onError });
  // Imported lazily: a single-node install never loads ioredis.
  const { RedisBus } = await import('./redis.js');
  return new RedisBus({ url: d.url, onError });
}
