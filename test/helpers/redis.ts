/**
 * Redis for tests: NIMBASE_TEST_REDIS_URL (default the local server). Absent server: the Redis cases
 * skip with this reason, unless CI=true, where they must run and fail.
 */
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.NIMBASE_TEST_REDIS_URL || 'redis://127.0.0.1:6379';

export async function redisSkip(): Promise<string | false> {
  if (process.env.CI === 'true') return false;
  const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG' ? false : `Redis at ${REDIS_URL} did not answer PONG`;
  } catch (err) {
    return `Redis not reachable at ${REDIS_URL} (${(err as Error).message}); set NIMBASE_TEST_REDIS_URL`;
  } finally {
    r.disconnect();
  }
}
