/**
 * Readiness for load balancers (docs/deployment.md). Liveness (server.ts) says the process runs;
 * readiness says this node should get traffic: its store and bus answer and it is not shutting down.
 * Unsigned, like liveness, and answered with a real HTTP status, since balancers read only that.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Bus } from '../bus/port.js';
import type { Store } from '../store/port.js';

export interface ReadinessOptions {
  store: Pick<Store, 'kind' | 'ping'>;
  bus: Pick<Bus, 'kind' | 'ping'>;
  nodeId?: string | undefined;
  /** False once shutdown has begun: the balancer should stop sending us new work. */
  accepting: () => boolean;
}

/** Never waits on a hung dependency for longer than a probe's usual timeout. */
const PROBE_TIMEOUT_MS = 2000;

async function answers(ping: () => Promise<boolean>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      ping().catch(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// GET /nimserver/health/readiness.action — 200 when ready, 503 when not (with what failed).
export function readinessRoutes(app: FastifyInstance, o: ReadinessOptions): void {
  const handler = async (_req: FastifyRequest, reply: FastifyReply) => {
    const [store, bus] = await Promise.all([answers(() => o.store.ping()), answers(() => o.bus.ping())]);
    const accepting = o.accepting();
    const ready = store && bus && accepting;
    return reply.code(ready ? 200 : 503).send({
      code: ready ? 200 : 503,
      node: o.nodeId,
      store: { kind: o.store.kind, ok: store },
      bus: { kind: o.bus.kind, ok: bus },
      draining: !accepting,
    });
  };
  app.get('/nimserver/health/readiness.action', handler);
  app.get('/health/readiness.action', handler);
}
