/**
 * Builds the HTTP server: the signed server-API families (v1 form, v2 JSON), the unsigned health
 * probes, and the CommsEase error rendering for everything that goes wrong on the way.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'fastify/types/logger.js';
import type { Logger } from 'pino';
import { clientErrorHandler } from './api/client-error.js';
import { FORM_MEDIA_TYPE, parseForm } from './api/form.js';
import { readinessRoutes } from './api/health.js';
import { limitsHook } from './api/limits.js';
import { msgRoutes } from './api/msg.js';
import { handleError, handleNotFound } from './api/reply.js';
import { signatureHook } from './api/signature.js';
import { userRoutes } from './api/user.js';
import { v2Families } from './api/v2/index.js';
import { V2_PREFIXES } from './api/v2/wire.js';
import type { ServeConfig } from './config.js';
import { mountGateway } from './gateway/index.js';
import { memoryLimits } from './limits/memory.js';
import type { RequestLimits } from './limits/port.js';
import { MessagingService } from './messaging/service.js';
import type { Runtime } from './runtime.js';

export interface ServerOptions {
  config: Pick<
    ServeConfig,
    | 'bodyLimit'
    | 'requestTimeout'
    | 'curTimeWindow'
    | 'checksumMismatchCode'
    | 'rateLimit'
    | 'replayProtection'
  > &
    Partial<Pick<ServeConfig, 'publicLink' | 'gatewayPacketRate'>>;
  runtime: Runtime;
  logger: Logger;
  /** Current time in ms; tests inject a fixed clock to use the spec's vectors. */
  now?: () => number;
  /** This node's name (readiness report); false from `accepting` turns readiness to 503 (drain). */
  nodeId?: string | undefined;
  accepting?: () => boolean;
  /** Shared (Redis) limit counters; default: in-process ones, when a limit is switched on. */
  limits?: RequestLimits;
}

const REQUEST_ID = /^[0-9a-fA-F]{32}$/;

export function buildServer(o: ServerOptions): FastifyInstance {
  const now = o.now ?? Date.now;
  const app = Fastify({
    loggerInstance: o.logger as FastifyBaseLogger,
    // No per-request log line at info level: the hot path logs only failures.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: o.config.bodyLimit,
    requestTimeout: o.config.requestTimeout,
    connectionTimeout: o.config.requestTimeout,
    // Slow-loris: Node enforces requestTimeout on a trickled body only when it is given at the
    // server's construction (Fastify sets it afterwards), and checks it every
    // connectionsCheckingInterval (30 s by default): pass both here.
    http: {
      requestTimeout: o.config.requestTimeout,
      connectionsCheckingInterval: Math.min(1000, o.config.requestTimeout),
      // Node answers an HTTP/1.1 request without Host with a bare 400; let it reach the API instead.
      requireHostHeader: false,
    },
    clientErrorHandler,
    // A URL Fastify cannot decode (`/%zz…`) gets a CommsEase body too, not Fastify's default 400.
    frameworkErrors: handleError,
    keepAliveTimeout: 65_000,
    return503OnClosing: false,
    // The official SDKs send a 32-hex RequestId; reuse it so a caller's trace id finds our log line.
    genReqId: (req) => {
      const id = req.headers.requestid ?? req.headers['x-custom-traceid'];
      return typeof id === 'string' && REQUEST_ID.test(id) ? id : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true },
    childLoggerFactory: (logger, bindings, opts) => lazyChild(logger, bindings, opts),
  });
  // A client may half-close its side once the request is sent (RFC 9112 §9.6). Node's default then
  // drops a request still being answered (a create waits for its COMMIT): answer it, then close.
  (app.server as typeof app.server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  app.decorateRequest('appKey', '');
  // The client gateway: its sessions answer the account domain's presence queries, and it hears
  // account events and stored messages on the runtime's bus (in-process or a broker).
  const messaging = new MessagingService(
    o.runtime.store,
    o.runtime.store,
    o.runtime.bus,
    now,
    (err) => o.logger.warn({ err }, 'a stored message could not be announced on the bus; it waits offline'),
    o.runtime.store.messagesInCallOrder,
  );
  const gateway = mountGateway(app, {
    runtime: o.runtime,
    messaging,
    bus: o.runtime.bus,
    logger: o.logger,
    now,
    publicLink: o.config.publicLink,
    packetRate: o.config.gatewayPacketRate,
  });
  o.runtime.accounts.usePresence(gateway.presence);
  app.setErrorHandler(handleError);
  coalesceWrites(app);
  app.setNotFoundHandler(handleNotFound);
  if (o.config.rateLimit || o.config.replayProtection) {
    const limits = o.limits ?? memoryLimits(now);
    if (!o.limits) app.addHook('onClose', () => limits.close());
    // preParsing runs after every onRequest hook, so after the signature check sets req.appKey.
    app.addHook(
      'preParsing',
      limitsHook({
        limits,
        rateRules: o.config.rateLimit,
        replayProtection: o.config.replayProtection,
        curTimeWindowSeconds: o.config.curTimeWindow,
        onStoreError: (err) => app.log.warn({ err }, 'rate limit store failed; call let through'),
      }),
    );
  }

  // GET /nimserver/health/liveness.action — probed every 5 s by the SDKs' endpoint selector (auth.md §7).
  app.get('/nimserver/health/liveness.action', async () => ({ code: 200 }));
  app.get('/health/liveness.action', async () => ({ code: 200 }));
  readinessRoutes(app, {
    store: o.runtime.store,
    bus: o.runtime.bus,
    nodeId: o.nodeId,
    accepting: o.accepting ?? (() => true),
  });

  const signature = signatureHook({
    secretsFor: (appKey) => o.runtime.apps.secretsFor(appKey),
    cachedSecretsFor: (appKey) => o.runtime.apps.cachedSecretsFor(appKey),
    now,
    curTimeWindowSeconds: o.config.curTimeWindow,
    checksumMismatchCode: o.config.checksumMismatchCode,
  });

  // The v1 families: form bodies only, every route signed.
  app.register(async (v1) => {
    v1.removeAllContentTypeParsers();
    v1.addContentTypeParser(FORM_MEDIA_TYPE, { parseAs: 'string' }, (_req, body, done) => {
      try {
        done(null, parseForm(body as string));
      } catch (err) {
        done(err as Error, undefined);
      }
    });
    v1.addHook('onRequest', signature);
    userRoutes(v1, o.runtime.accounts, o.runtime.idempotency);
    msgRoutes(v1, messaging);
  });

  // The v2 families: JSON bodies, signed, under both bases.
  for (const prefix of V2_PREFIXES) app.register(v2Families(o.runtime, signature), { prefix });

  return app;
}

/**
 * Answers leave together at the end of the event-loop turn that produced them (the check phase),
 * not one by one between the reads of other requests. Each socket write on loopback or a VM may
 * have to wake the peer; in a burst, the peer is still awake for all but the first. Measured on the
 * 2-core VM of docs/benchmarks.md: getUinfos-1 from 68.6 to 45.0 µs of event-loop CPU per request
 * (ratio to the bare node:http ceiling 0.37 → 0.57), at the price of at most one turn of latency.
 */
function coalesceWrites(app: FastifyInstance): void {
  let waiting: (() => void)[] | undefined;
  const release = () => {
    const w = waiting!;
    waiting = undefined;
    for (const f of w) f();
  };
  app.addHook('onSend', (_req, _reply, payload, done) => {
    if (!waiting) {
      waiting = [];
      setImmediate(release);
    }
    waiting.push(() => done(null, payload));
  });
}

/**
 * Fastify gives every request a child logger (a pino child, its request-id binding serialized each
 * time), though nimbase logs in a request only when something fails: the child is made on first
 * use instead. Every method a Fastify logger has is here, delegating to that child.
 */
function lazyChild(
  parent: FastifyBaseLogger,
  bindings: Bindings,
  opts: ChildLoggerOptions,
): FastifyBaseLogger {
  return new LazyChildLogger(parent, bindings, opts) as unknown as FastifyBaseLogger;
}

type LogMethod = (...args: unknown[]) => void;

class LazyChildLogger {
  #child: FastifyBaseLogger | undefined;
  readonly #parent: FastifyBaseLogger;
  readonly #bindings: Bindings;
  readonly #opts: ChildLoggerOptions;

  constructor(parent: FastifyBaseLogger, bindings: Bindings, opts: ChildLoggerOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#opts = opts;
  }

  #real(): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings, this.#opts);
    return this.#child;
  }

  #call(level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent', args: unknown[]) {
    const child = this.#real();
    (child[level] as LogMethod).apply(child, args);
  }

  get level(): string {
    return this.#real().level;
  }
  set level(level: string) {
    this.#real().level = level;
  }
  fatal(...args: unknown[]) {
    this.#call('fatal', args);
  }
  error(...args: unknown[]) {
    this.#call('error', args);
  }
  warn(...args: unknown[]) {
    this.#call('warn', args);
  }
  info(...args: unknown[]) {
    this.#call('info', args);
  }
  debug(...args: unknown[]) {
    this.#call('debug', args);
  }
  trace(...args: unknown[]) {
    this.#call('trace', args);
  }
  silent(...args: unknown[]) {
    this.#call('silent', args);
  }
  child(bindings: Bindings, opts?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#real().child(bindings, opts);
  }
}
