#!/usr/bin/env node
/**
 * The `nimbase` command. Bad flags or configuration end with a one-line error and exit code 2;
 * operational failures (port in use, unreachable server) with a one-line error and exit code 1.
 */
import { hostname } from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import pino from 'pino';
import { accountCommands, ImportIncompleteError } from './accounts-cli.js';
import { AppInputError, AppNotFoundError } from './apps/service.js';
import { firstStartBanner, listeningLine } from './banner.js';
import { signedCall } from './client/server-api.js';
import { ConfigError, type DataConfig, dataSchema, parseConfig, serveSchema } from './config.js';
import type { Runtime } from './runtime.js';
import { describeDatabase, StoreUrlError } from './store/open.js';

const EXIT_USAGE = 2;
const EXIT_FAILURE = 1;

class UsageError extends Error {}

function dataOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--data-dir <dir>', 'data directory (SQLite file, key file)')
        .env('NIMBASE_DATA_DIR')
        .default('./data'),
    )
    .addOption(
      new Option('--database-url <url>', 'database URL (default: sqlite file in the data dir)').env(
        'NIMBASE_DATABASE_URL',
      ),
    )
    .addOption(
      new Option(
        '--secret-key <key>',
        'key sealing tokens and secrets at rest: 64 hex or base64 (default: key file in the data dir)',
      ).env('NIMBASE_SECRET_KEY'),
    )
    .addOption(
      new Option(
        '--durability <mode>',
        'full: every answer is fsync-durable; normal: faster, may lose the last writes on power loss',
      )
        .env('NIMBASE_DURABILITY')
        .default('full'),
    );
}

function dataConfig(opts: Record<string, unknown>): DataConfig {
  return parseConfig(dataSchema, {
    dataDir: opts.dataDir,
    databaseUrl: opts.databaseUrl,
    secretKey: opts.secretKey,
    durability: opts.durability,
  });
}

async function withRuntime<T>(opts: Record<string, unknown>, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  // The runtime (store drivers, crypto) loads only for commands that touch data: --help and flag
  // errors answer without it.
  const { openRuntime } = await import('./runtime.js');
  const rt = await openRuntime(dataConfig(opts));
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

const print = (s: string) => process.stdout.write(`${s}\n`);

export function buildProgram(): Command {
  const program = new Command('nimbase')
    .description('A self-hosted IM server that speaks the NetEase CommsEase (Yunxin/NIM) APIs')
    .version('0.1.0')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const serve = program.command('serve').description('start the server (HTTP server API)');
  dataOptions(serve)
    .addOption(new Option('--host <host>', 'address to listen on').env('NIMBASE_HOST').default('127.0.0.1'))
    .addOption(
      new Option('--port <port>', 'port to listen on (0 = any free port)')
        .env('NIMBASE_PORT')
        .default('8080'),
    )
    .addOption(
      new Option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
        .env('NIMBASE_LOG_LEVEL')
        .default('info'),
    )
    .addOption(
      new Option('--curtime-window <seconds>', 'accepted |CurTime - now| in seconds')
        .env('NIMBASE_CURTIME_WINDOW')
        .default('300'),
    )
    .addOption(
      new Option(
        '--checksum-mismatch-code <code>',
        '414 ("checksum", 2017 captures) or 403 ("authentication failed", 2025)',
      )
        .env('NIMBASE_CHECKSUM_MISMATCH_CODE')
        .default('414'),
    )
    .addOption(
      new Option('--body-limit <bytes>', 'largest accepted request body')
        .env('NIMBASE_BODY_LIMIT')
        .default('65536'),
    )
    .addOption(
      new Option('--request-timeout <ms>', 'time allowed to receive a whole request')
        .env('NIMBASE_REQUEST_TIMEOUT')
        .default('10000'),
    )
    .addOption(
      new Option(
        '--app-cache-ttl <ms>',
        'how long opened AppSecrets are cached; a rotation by another process is seen within it',
      )
        .env('NIMBASE_APP_CACHE_TTL')
        .default('5000'),
    )
    .addOption(
      new Option(
        '--public-link <host:port>',
        'address the LBS gives client SDKs (default: the Host the SDK asked the LBS on)',
      ).env('NIMBASE_PUBLIC_LINK'),
    )
    .addOption(
      new Option(
        '--gateway-packet-rate <n>',
        'packets per second a client link may send after a burst of 200 (more → close 1008)',
      )
        .env('NIMBASE_GATEWAY_PACKET_RATE')
        .default('50'),
    )
    .addOption(
      new Option(
        '--lowercase-lookup <bool>',
        'lower-case an accid before looking it up (default false: exact match on the stored lower case)',
      )
        .env('NIMBASE_LOWERCASE_LOOKUP')
        .default('false'),
    )
    .addOption(
      new Option(
        '--create-replay <bool>',
        'answer a create equal to the stored account with the original 200 instead of "already register"',
      )
        .env('NIMBASE_CREATE_REPLAY')
        .default('false'),
    )
    .addOption(
      new Option(
        '--bus-url <url>',
        'broker shared by several nodes: redis://host:6379 (default: in-process)',
      ).env('NIMBASE_BUS_URL'),
    )
    .addOption(
      new Option('--node-id <id>', "this node's name in logs and readiness (default: hostname-pid)").env(
        'NIMBASE_NODE_ID',
      ),
    )
    .addOption(
      new Option(
        '--rate-limit <rules>',
        'per-app frequency control (416): off | cloud | [appKey/]family=calls[/seconds][:blockSeconds],…',
      )
        .env('NIMBASE_RATE_LIMIT')
        .default('off'),
    )
    .addOption(
      new Option('--replay-protection <mode>', 'on: a Nonce reused inside the CurTime window → 431')
        .env('NIMBASE_REPLAY_PROTECTION')
        .default('off'),
    )
    .addOption(
      new Option('--shutdown-delay <ms>', 'on SIGTERM, answer readiness 503 this long before closing')
        .env('NIMBASE_SHUTDOWN_DELAY')
        .default('0'),
    )
    .addOption(
      new Option('--shutdown-timeout <ms>', 'on SIGTERM, exit after this long even if work is in flight')
        .env('NIMBASE_SHUTDOWN_TIMEOUT')
        .default('30000'),
    )
    .addOption(
      new Option(
        '--resend-window <messages>',
        'SQLite: a resend is recognised while its first copy is among this many newest messages (0: never)',
      )
        .env('NIMBASE_RESEND_WINDOW')
        .default('500000'),
    )
    .action(async (opts) => {
      const config = parseConfig(serveSchema, opts);
      const database = describeDatabase(config);
      const nodeId = config.nodeId ?? `${hostname()}-${process.pid}`;
      const logger = pino({ level: config.logLevel, base: { service: 'nimbase', node: nodeId } });
      const { openRuntime } = await import('./runtime.js');
      const { buildServer } = await import('./server.js');
      const runtime = await openRuntime(config, {
        appCacheTtlMs: config.appCacheTtl,
        busUrl: config.busUrl,
        onBusError: (err) => logger.error({ err }, 'bus handler failed'),
        onStoreNotice: ({ level, event, message, error, repeated }) =>
          logger[level]({ store: event, error, repeated }, message),
        onStoreWarm: (messages, ms) =>
          logger.info(
            { resendWindow: { messages, ms: Math.round(ms) } },
            'store ready: resend window filled from the newest messages',
          ),
      });
      if (database.kind === 'postgres' && !config.secretKey)
        logger.warn(
          'the secret key comes from this node’s data dir: nodes sharing this database need the same NIMBASE_SECRET_KEY (docs/deployment.md)',
        );
      const displayHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
      let firstApp: Awaited<ReturnType<typeof runtime.apps.createApp>> | undefined;
      if ((await runtime.apps.listApps()).length === 0) firstApp = await runtime.apps.createApp('default');
      // With a broker, the limit counters and the Nonce store live there, shared by every node.
      const limits =
        runtime.bus.kind === 'redis' && (config.rateLimit || config.replayProtection) && config.busUrl
          ? (await import('./limits/redis.js')).redisLimits({ url: config.busUrl })
          : undefined;
      let accepting = true;
      const app = buildServer({ config, runtime, logger, nodeId, accepting: () => accepting, limits });
      if (limits) app.addHook('onClose', () => limits.close());
      try {
        await app.listen({ host: config.host, port: config.port });
      } catch (err) {
        await limits?.close();
        await runtime.close();
        throw new OperationalError(
          `cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`,
        );
      }
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      const baseUrl = `http://${displayHost.includes(':') ? `[${displayHost}]` : displayHost}:${port}`;
      if (firstApp) print(firstStartBanner(firstApp, baseUrl));
      print(listeningLine(baseUrl, database.path));
      // Graceful shutdown: readiness turns 503, the listener closes, in-flight requests finish,
      // then the bus closes and the store flushes its last group commit. A hung step cannot keep
      // the process alive past --shutdown-timeout.
      const stop = async (signal: string) => {
        if (!accepting) return;
        accepting = false;
        logger.info({ signal }, 'shutting down: draining');
        setTimeout(() => {
          logger.error('shutdown timed out; exiting with work in flight');
          process.exit(EXIT_FAILURE);
        }, config.shutdownDelay + config.shutdownTimeout).unref();
        if (config.shutdownDelay > 0) await new Promise((r) => setTimeout(r, config.shutdownDelay));
        try {
          await app.close();
          await runtime.close();
        } catch (err) {
          logger.error({ err }, 'error during shutdown');
          process.exit(EXIT_FAILURE);
        }
        logger.info('stopped');
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    });

  const appCmd = program.command('app').description('manage apps (AppKey + AppSecret pairs)');
  dataOptions(
    appCmd
      .command('create')
      .description('create an app and print its AppKey and AppSecret')
      .requiredOption('--name <name>', 'a name for the app')
      .option(
        '--app-key <key>',
        'keep an existing CommsEase AppKey (with --app-secret) instead of generating one',
      )
      .option('--app-secret <secret>', 'the existing AppSecret that goes with --app-key')
      .option('--json', 'print {"appKey":…,"appSecret":…}'),
  ).action(async (opts) => {
    if (Boolean(opts.appKey) !== Boolean(opts.appSecret))
      throw new ConfigError('--app-key and --app-secret go together');
    const creds = await withRuntime(opts, async (rt) => {
      if (!opts.appKey) return rt.apps.createApp(opts.name);
      const imported = { appKey: opts.appKey as string, appSecret: opts.appSecret as string };
      if (!(await rt.apps.importApp(opts.name, imported)))
        throw new ConfigError(`an app with AppKey ${opts.appKey} exists`);
      return imported;
    });
    print(opts.json ? JSON.stringify(creds) : `AppKey:    ${creds.appKey}\nAppSecret: ${creds.appSecret}`);
  });
  dataOptions(
    appCmd
      .command('list')
      .description('list the apps')
      .option('--secrets', 'also print each app’s current AppSecret')
      .option('--json', 'print a JSON array'),
  ).action(async (opts) => {
    const rows = await withRuntime(opts, async (rt) => {
      const apps = await rt.apps.listApps();
      return Promise.all(
        apps.map(async (a) => ({
          ...a,
          ...(opts.secrets ? { appSecret: await rt.apps.secretOf(a.appKey) } : {}),
        })),
      );
    });
    if (opts.json) print(JSON.stringify(rows));
    else if (rows.length === 0)
      print('no apps yet: `nimbase app create --name NAME` or `nimbase serve` creates one');
    else
      for (const r of rows) {
        const grace = r.previousSecretExpiresAt
          ? `  (previous secret valid until ${new Date(r.previousSecretExpiresAt).toISOString()})`
          : '';
        print(`${r.appKey}  ${r.name}${'appSecret' in r ? `  secret=${r.appSecret}` : ''}${grace}`);
      }
  });
  dataOptions(
    appCmd
      .command('rotate-secret')
      .description('issue a new AppSecret; the old one keeps working for the grace period')
      .argument('<appKey>', 'the app to rotate')
      .addOption(
        new Option('--grace <seconds>', 'how long the old secret stays valid')
          .env('NIMBASE_SECRET_GRACE')
          .default('86400'),
      )
      .option('--json', 'print {"appKey":…,"appSecret":…,"previousSecretExpiresAt":…}'),
  ).action(async (appKey: string, opts) => {
    if (!/^[0-9]+$/.test(opts.grace) || Number(opts.grace) > 365 * 86400)
      throw new ConfigError('--grace must be a number of seconds (0 to 31536000)');
    const r = await withRuntime(opts, (rt) => rt.apps.rotateSecret(appKey, Number(opts.grace)));
    print(
      opts.json
        ? JSON.stringify(r)
        : `AppKey:    ${r.appKey}\nAppSecret: ${r.appSecret}\nThe previous secret is accepted until ${new Date(r.previousSecretExpiresAt).toISOString()}`,
    );
  });

  dataOptions(program.command('migrate').description('apply pending database migrations')).action(
    async (opts) => {
      const config = dataConfig(opts);
      const { openStore } = await import('./store/open.js');
      const store = await openStore({ ...config, migrate: false });
      try {
        const n = await store.migrate();
        print(n === 0 ? 'database is up to date' : `applied ${n} migration(s)`);
      } finally {
        await store.close();
      }
    },
  );

  dataOptions(
    program
      .command('call')
      .description(
        'sign and send a server-API call, print the JSON answer (e.g. `call user/create.action accid=zhangsan`)',
      )
      .argument('<path>', 'API path: user/create.action, /nimserver/user/create.action or /im/v2/accounts')
      .argument('[params...]', 'key=value pairs (form fields for v1; JSON fields for v2)')
      .addOption(
        new Option('--url <url>', 'server base URL').env('NIMBASE_URL').default('http://127.0.0.1:8080'),
      )
      .addOption(
        new Option('--app-key <key>', 'AppKey (default: the only app in the data dir)').env(
          'NIMBASE_APP_KEY',
        ),
      )
      .addOption(
        new Option('--app-secret <secret>', 'AppSecret (default: read from the data dir)').env(
          'NIMBASE_APP_SECRET',
        ),
      )
      .option('--method <method>', 'HTTP method (default POST)')
      .option('--json <body>', 'raw JSON body (v2 calls)'),
  ).action(async (path: string, params: string[], opts) => {
    const pairs = params.map((p) => {
      const eq = p.indexOf('=');
      if (eq <= 0) throw new ConfigError(`parameter "${p}" is not key=value`);
      return [p.slice(0, eq), p.slice(eq + 1)] as [string, string];
    });
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch {
      throw new ConfigError(`--url ${opts.url} is not a URL`);
    }
    let jsonBody: unknown;
    if (opts.json !== undefined) {
      try {
        jsonBody = JSON.parse(opts.json);
      } catch {
        throw new ConfigError('--json is not valid JSON');
      }
    }
    const creds = await resolveCredentials(opts);
    const answer = await signedCall({
      baseUrl: url.toString(),
      ...creds,
      path,
      params: pairs,
      method: opts.method,
      jsonBody,
    }).catch((err: Error) => {
      throw new OperationalError(`cannot reach ${url.origin}: ${err.message}`);
    });
    print(answer);
  });

  accountCommands(program, dataOptions, withRuntime);

  return program;
}

async function resolveCredentials(
  opts: Record<string, string | undefined>,
): Promise<{ appKey: string; appSecret: string }> {
  if (opts.appKey && opts.appSecret) return { appKey: opts.appKey, appSecret: opts.appSecret };
  return withRuntime(opts, async (rt) => {
    let appKey = opts.appKey;
    if (!appKey) {
      const apps = await rt.apps.listApps();
      if (apps.length !== 1)
        throw new ConfigError(
          apps.length === 0
            ? 'no app in the data dir: pass --app-key and --app-secret'
            : 'several apps: pass --app-key',
        );
      appKey = apps[0]!.appKey;
    }
    const appSecret = opts.appSecret ?? (await rt.apps.secretOf(appKey));
    if (!appSecret) throw new ConfigError(`no app with AppKey ${appKey} in the data dir`);
    return { appKey, appSecret };
  });
}

class OperationalError extends Error {}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      )
        return 0;
      return EXIT_USAGE; // commander has already printed its one-line message
    }
    if (
      err instanceof ConfigError ||
      err instanceof UsageError ||
      err instanceof AppInputError ||
      err instanceof StoreUrlError
    ) {
      process.stderr.write(`nimbase: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (
      err instanceof AppNotFoundError ||
      err instanceof OperationalError ||
      err instanceof ImportIncompleteError
    ) {
      process.stderr.write(`nimbase: ${err.message}\n`);
      return EXIT_FAILURE;
    }
    process.stderr.write(`nimbase: unexpected error: ${(err as Error)?.message ?? String(err)}\n`);
    return EXIT_FAILURE;
  }
}

const code = await main(process.argv);
if (code !== 0) process.exit(code);
