/**
 * `npm run bench`: builds dist/, then for each scenario starts a fresh `nimbase serve` from dist/cli.js
 * on 127.0.0.1 with its own data dir, warms it up, loads it with signed requests and samples its CPU
 * and memory. The same run measures the ceiling (bench/baseline-server.mjs: bare node:http, same form
 * parser, fixed JSON answer) before and after the scenarios. Writes bench/results/<time>.json and .md.
 *
 *   npm run bench -- [--duration 10] [--warmup 3] [--connections 64] [--threads 1]
 *                    [--scenario create] [--durability full|normal] [--loader wrk|autocannon]
 *                    [--no-build] [--cpu-prof] [--nice=-10]
 *                    [--gateway-pairs 100] [--gateway-window 4] [--sessions 1000]
 *                    [--gateway-packet-rate 1000000] [--gateway-rate 5000] [--server <dist/cli.js>]
 *                    [--database-url postgres://postgres@127.0.0.1:5432/test] [--baseline-duration 10]
 *                    [--rounds 1]
 *
 * With --rounds N (N > 1) every scenario runs N times, each run between two baseline runs
 * (B S1 B S2 B … per round), and is compared with the better of its two neighbours: on a shared,
 * noisy machine the median of those same-minute ratios is the figure to quote.
 *
 * With --database-url (PostgreSQL), each scenario's server gets a fresh database created on that
 * server (nimbase_bench_<pid>_<n>, dropped afterwards) instead of a SQLite file.
 *
 * The client-gateway scenarios (bench/lib/gateway.ts, `--scenario gateway` alone) run after the HTTP
 * ones against their own ceiling, a bare `ws` relay (bench/relay-server.mjs); with --database-url,
 * on PostgreSQL too. `--scenario store` measures the SQLite store's message writes alone
 * (bench/store-writes.mjs): the COMMIT wait every message send includes, without the network.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, setPriority, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { signedCall } from '../src/client/server-api.js';
import { parseBenchArgs, usageError } from './lib/cli.js';
import { type GatewayReport, gatewayMarkdown, runGateway } from './lib/gateway-run.js';
import { type LoaderName, type LoadResult, runLoad, wrkAvailable } from './lib/loaders.js';
import {
  type Child,
  cpuPressure,
  cpuSeconds,
  memoryMiB,
  probe,
  probeArgs,
  probeEnv,
  startChild,
} from './lib/proc.js';
import { markdownReport, type ScenarioResult } from './lib/report.js';
import { SCENARIOS, type Scenario } from './lib/scenarios.js';
import { runStoreWrites, STORE_SCENARIO, type StoreWritesReport, storeMarkdown } from './lib/store-run.js';
import { evaluateTargets, type ScenarioFigures, targetsMarkdown } from './lib/targets.js';

const ROOT = new URL('..', import.meta.url).pathname;
const USAGE = `
npm run bench -- [--duration 10] [--warmup 3] [--connections 64] [--threads 1] [--rounds 1]
                 [--scenario NAME]... [--durability full|normal] [--loader wrk|autocannon]
                 [--no-build] [--cpu-prof] [--nice=-10] [--server <dist/cli.js>]
                 [--database-url postgres://…] [--baseline-duration 10]
                 [--gateway-pairs 100] [--gateway-window 4] [--sessions 1000]
                 [--gateway-packet-rate 1000000] [--gateway-rate 5000] [--gateway-reference]
                 [--node-arg=<flag>]...

Scenarios: ${SCENARIOS.filter((s) => !s.reference)
  .map((s) => s.name)
  .join(', ')}, gateway (a filter that is not a full name selects
every scenario containing it). Not run unless named: ${SCENARIOS.filter((s) => s.reference)
  .map((s) => s.name)
  .join(', ')} (issue 6's careful reference server,
bench/reference-create.mjs); ${STORE_SCENARIO} (the SQLite store's message writes alone at the gateway rate
and at saturation, bench/store-writes.mjs). Results go to bench/results/<time>.json and .md; docs/benchmarks.md
explains every column.`;
const opt = parseBenchArgs(
  {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
    threads: { type: 'string', default: '1' },
    scenario: { type: 'string', multiple: true },
    durability: { type: 'string', default: 'full' },
    loader: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    nice: { type: 'string' },
    'gateway-pairs': { type: 'string', default: '100' },
    'gateway-window': { type: 'string', default: '4' },
    sessions: { type: 'string', default: '1000' },
    'database-url': { type: 'string' },
    'baseline-duration': { type: 'string' },
    rounds: { type: 'string', default: '1' },
    // The server's per-link packet rate for the gateway run: high enough not to bound it (the
    // production default, 50/s, would cap 100 senders at 4,500 msg/s). Reported with the figures.
    'gateway-packet-rate': { type: 'string', default: '1000000' },
    // Offered msg/s of the fixed-rate latency run (0: skip it).
    'gateway-rate': { type: 'string', default: '5000' },
    // Also measure issue 6's durable relay (the bare relay with a SQLite append per message).
    'gateway-reference': { type: 'boolean', default: false },
    // Another build's dist/cli.js to measure instead of this one (before/after comparisons).
    server: { type: 'string' },
    // Node/V8 flags for nimbase's own processes (e.g. --node-arg=--trace-gc), repeatable.
    'node-arg': { type: 'string', multiple: true },
  },
  USAGE,
  'npm run bench',
);
const fail = (message: string): never => usageError(message, 'npm run bench');

const int = (name: string, v: string, min: number, max: number) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) fail(`--${name} must be an integer in ${min}..${max}`);
  return n;
};
const duration = int('duration', opt.duration!, 1, 600);
const warmup = int('warmup', opt.warmup!, 0, 60);
const baselineDuration =
  opt['baseline-duration'] === undefined
    ? duration
    : int('baseline-duration', opt['baseline-duration'], 1, 600);
const rounds = int('rounds', opt.rounds!, 1, 50);
const connections = int('connections', opt.connections!, 1, 1024);
const threads = int('threads', opt.threads!, 1, 16);
if (opt.durability !== 'full' && opt.durability !== 'normal') fail('--durability must be full or normal');
const durability = opt.durability;
const extraNodeArgs = opt['node-arg'] ?? [];
for (const a of extraNodeArgs)
  if (!/^--?[A-Za-z]/.test(a))
    fail(`--node-arg takes a Node or V8 flag such as --node-arg=--trace-gc, not "${a}"`);
const loader: LoaderName = (opt.loader as LoaderName | undefined) ?? (wrkAvailable() ? 'wrk' : 'autocannon');
if (loader !== 'wrk' && loader !== 'autocannon') fail('--loader must be wrk or autocannon');
// On a shared machine, `--nice=-10` (root) lets the servers and the load generator (children inherit
// the niceness) run ahead of unrelated work, so the figures describe nimbase, not the neighbours.
if (opt.nice !== undefined) setPriority(int('nice', opt.nice, -20, 19));
const filters = opt.scenario ?? [];
// A filter that names a scenario exactly selects that one; otherwise every name containing it.
// The references run only when asked for by a filter (`--scenario reference`).
const scenarios = SCENARIOS.filter((s) =>
  filters.length === 0
    ? s.reference === undefined
    : filters.some((f) => (SCENARIOS.some((x) => x.name === f) ? s.name === f : s.name.includes(f))),
);
const gatewayWanted = filters.length === 0 || filters.some((f) => 'gateway'.includes(f));
// Like the references, only when a filter asks for it (`--scenario store`).
const storeWanted = filters.some((f) => STORE_SCENARIO.includes(f));
if (scenarios.length === 0 && !gatewayWanted && !storeWanted)
  fail(`no scenario matches ${filters.join(', ')} (see the list in --help)`);
const gatewayPairs = int('gateway-pairs', opt['gateway-pairs']!, 1, 2000);
const gatewayWindow = int('gateway-window', opt['gateway-window']!, 1, 64);
const sessions = int('sessions', opt.sessions!, 0, 20000);
const gatewayPacketRate = int('gateway-packet-rate', opt['gateway-packet-rate']!, 1, 1_000_000);
const gatewayRate = int('gateway-rate', opt['gateway-rate']!, 0, 1_000_000);

const log = (s: string) => process.stderr.write(`${s}\n`);

const pgUrl = opt['database-url'];
if (pgUrl !== undefined && !/^postgres(ql)?:\/\//.test(pgUrl))
  fail('--database-url must be a postgres:// URL (SQLite is the default)');

/** A fresh PostgreSQL database for one scenario, on the --database-url server. */
async function freshDatabase(index: number): Promise<{ url: string; drop(): Promise<void> }> {
  const pg = (await import('pg')).default;
  const name = `nimbase_bench_${process.pid}_${index}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(pgUrl!);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

if (!opt['no-build']) {
  log('building dist/ (npm run build)…');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

const workDir = mkdtempSync(join(tmpdir(), 'nimbase-bench-'));
const cli = opt.server ?? join(ROOT, 'dist/cli.js');
const profDir = join(ROOT, 'bench/results/cpu-prof');
/** Node flags for nimbase's own processes: the profiler's, then the user's `--node-arg`s. */
const nodeArgs = [...(opt['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []), ...extraNodeArgs];

/**
 * Every server measured here (the ceiling, nimbase, the reference) loads bench/server-probe.mjs: on
 * SIGUSR2 a full GC and the bytes its main thread allocated since the last signal.
 */
const PROBE_ARGS = probeArgs(ROOT);

interface Measured extends LoadResult {
  cpuCores: number | undefined;
  /** Bytes the server's main thread allocated per answered request (bench/server-probe.mjs). */
  allocBytesPerRequest: number | undefined;
  cpuUsPerRequest: number | undefined;
  loopCpuUsPerRequest: number | undefined;
  rssMiB: number | undefined;
  peakRssMiB: number | undefined;
  hostCpuPressure: number | undefined;
  rssTimeline: number[];
}

/** Warm-up, then one measured run with the server's CPU time and memory sampled around it. */
async function measure(
  child: Child,
  s: Scenario,
  creds: { appKey: string; appSecret: string },
  seconds = duration,
) {
  const spec = {
    port: child.port,
    path: s.path,
    bodyTemplate: s.bodyTemplate,
    ...creds,
    connections,
    threads,
  };
  if (warmup > 0) await runLoad(loader, { ...spec, runId: 'w', durationSeconds: warmup });
  await probe(child); // the allocation count starts here, after a full GC
  const cpu0 = cpuSeconds(child.pid);
  const loop0 = cpuSeconds(child.pid, child.pid);
  const t0 = process.hrtime.bigint();
  // RSS once a second, to see whether memory stays flat over a long run (`--duration 600`).
  const rssTimeline: number[] = [];
  const sampler = setInterval(() => {
    const m = memoryMiB(child.pid);
    if (m) rssTimeline.push(Math.round(m.rss * 10) / 10);
  }, 1000);
  const r = await runLoad(loader, { ...spec, runId: 'm', durationSeconds: seconds }).finally(() =>
    clearInterval(sampler),
  );
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu1 = cpuSeconds(child.pid);
  const loop1 = cpuSeconds(child.pid, child.pid);
  const mem = memoryMiB(child.pid);
  const allocated = await probe(child);
  const perRequest = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b !== undefined && r.requests > 0 ? ((b - a) / r.requests) * 1e6 : undefined;
  return {
    ...r,
    cpuCores: cpu0 !== undefined && cpu1 !== undefined ? (cpu1 - cpu0) / wall : undefined,
    allocBytesPerRequest: allocated !== undefined && r.requests > 0 ? allocated / r.requests : undefined,
    // CPU time per answered request: a figure that contention on a shared host distorts far less
    // than requests/s. The event loop's share is what bounds one node.
    cpuUsPerRequest: perRequest(cpu0, cpu1),
    loopCpuUsPerRequest: perRequest(loop0, loop1),
    rssMiB: mem?.rss,
    peakRssMiB: mem?.peak,
    hostCpuPressure: cpuPressure(),
    rssTimeline,
  } satisfies Measured;
}

async function runBaseline(): Promise<Measured> {
  const child = await startChild(
    [...PROBE_ARGS, join(ROOT, 'bench/baseline-server.mjs')],
    /listening (\d+)/,
    probeEnv(baselineDuration),
  );
  try {
    const create = SCENARIOS[0]!;
    return await measure(child, create, { appKey: 'baseline', appSecret: 'baseline' }, baselineDuration);
  } finally {
    await child.stop();
  }
}

async function runScenario(s: Scenario, index: number): Promise<ScenarioResult> {
  const dataDir = join(workDir, `${index}-${s.name}`);
  if (s.reference) return runReference(s, dataDir);
  const db = pgUrl === undefined ? undefined : await freshDatabase(index);
  const dbArgs = db ? ['--database-url', db.url] : [];
  const creds = JSON.parse(
    execFileSync(
      process.execPath,
      [cli, 'app', 'create', '--name', 'bench', '--json', '--data-dir', dataDir, ...dbArgs],
      {
        encoding: 'utf8',
      },
    ),
  ) as { appKey: string; appSecret: string };
  const child = await startChild(
    [
      ...PROBE_ARGS,
      ...nodeArgs,
      cli,
      'serve',
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--log-level',
      'warn',
      '--durability',
      durability,
      ...dbArgs,
    ],
    /listening on http:\/\/[^:]+:(\d+)/,
    probeEnv(duration),
  );
  try {
    const baseUrl = `http://127.0.0.1:${child.port}`;
    const probe = JSON.parse(
      await signedCall({ baseUrl, ...creds, path: s.path, params: [['accid', 'probe']] }),
    ) as { code: number };
    if (probe.code === 404) return { name: s.name, skipped: 'the server does not serve this endpoint yet' };
    for (const accid of s.seedAccids ?? []) {
      const r = JSON.parse(
        await signedCall({
          baseUrl,
          ...creds,
          path: '/nimserver/user/create.action',
          params: [
            ['accid', accid],
            ['name', `Seed ${accid}`],
            ['email', `${accid}@example.com`],
            ['gender', '1'],
          ],
        }),
      ) as { code: number };
      if (r.code !== 200) throw new Error(`seeding ${accid} answered ${JSON.stringify(r)}`);
    }
    const m = await measure(child, s, creds);
    return { name: s.name, ...m, expectCode: s.expectCode };
  } finally {
    await child.stop();
    if (s.name === 'create') await verifyCreates(join(dataDir, 'nimbase.db'), db?.url);
    await db?.drop();
  }
}

/** The reference server (bench/reference-create.mjs), measured as a scenario. */
async function runReference(s: Scenario, dataDir: string): Promise<ScenarioResult> {
  mkdirSync(dataDir, { recursive: true });
  const env = {
    ...probeEnv(duration),
    ...s.reference,
    REF_DB: join(dataDir, 'reference.db'),
    REF_SYNC: durability === 'normal' ? 'NORMAL' : 'FULL',
  };
  const child = await startChild(
    [...PROBE_ARGS, join(ROOT, 'bench/reference-create.mjs')],
    /listening (\d+)/,
    env,
  );
  try {
    const m = await measure(child, s, { appKey: 'baseline', appSecret: 'baseline' });
    return { name: s.name, ...m, expectCode: s.expectCode };
  } finally {
    await child.stop();
  }
}

/** After a create run every answered 200 must be a row: count them against the answers. */
let createdRows: number | undefined;
async function verifyCreates(dbPath: string, url: string | undefined) {
  try {
    if (url !== undefined) {
      const pg = (await import('pg')).default;
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      const r = await c.query("SELECT count(*)::int AS n FROM accounts WHERE accid LIKE 'c%'");
      await c.end();
      createdRows = r.rows[0].n as number;
      return;
    }
    const db = new Database(dbPath, { readonly: true });
    createdRows = (
      db.prepare("SELECT count(*) AS n FROM accounts WHERE accid LIKE 'c%'").get() as { n: number }
    ).n;
    db.close();
  } catch (err) {
    log(`could not count the created rows: ${(err as Error).message}`);
  }
}

const machine = {
  nproc: cpus().length,
  cpu: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
};
const settings = {
  duration,
  warmup,
  connections,
  threads,
  durability,
  loader,
  nice: opt.nice ?? '0',
  store: pgUrl === undefined ? 'sqlite' : 'postgres',
  server: cli,
};
log(`bench: ${JSON.stringify(settings)} on ${machine.nproc}× ${machine.cpu}`);

const results: ScenarioResult[] = [];
let baseline: Measured[] = [];
let gateway: GatewayReport | undefined;
let storeWrites: StoreWritesReport | undefined;
try {
  if (rounds === 1) {
    if (scenarios.length > 0) {
      log('baseline (bare node:http)…');
      baseline.push(await runBaseline());
    }
    for (const [i, s] of scenarios.entries()) {
      log(`${s.name}…`);
      results.push(await runScenario(s, i));
    }
    if (scenarios.length > 1) {
      log('baseline again…');
      baseline.push(await runBaseline());
    }
  } else if (scenarios.length > 0) {
    log('baseline (bare node:http)…');
    let before = await runBaseline();
    baseline.push(before);
    for (let round = 1; round <= rounds; round++)
      for (const [i, s] of scenarios.entries()) {
        log(`round ${round}/${rounds}: ${s.name}…`);
        const r = await runScenario(s, (round - 1) * scenarios.length + i);
        log('baseline…');
        const after = await runBaseline();
        baseline.push(after);
        const local = Math.max(before.requestsPerSecond, after.requestsPerSecond);
        results.push(
          'requestsPerSecond' in r
            ? { ...r, name: `${s.name} (round ${round})`, scenario: s.name, localCeiling: local }
            : r,
        );
        before = after;
      }
  }
  if (gatewayWanted) {
    log('client gateway (bare ws relay, then nimbase)…');
    const db = pgUrl === undefined ? undefined : await freshDatabase(10_000);
    try {
      gateway = await runGateway({
        root: ROOT,
        cli,
        dataDir: join(workDir, 'gateway'),
        databaseUrl: db?.url,
        durability,
        pairs: gatewayPairs,
        window: gatewayWindow,
        seconds: duration,
        sessions,
        packetRate: gatewayPacketRate,
        fixedRate: gatewayRate,
        rounds,
        reference: opt['gateway-reference'] === true,
        referenceDb: join(workDir, 'gateway-reference.db'),
        warmup,
        nodeArgs,
        log,
      });
    } finally {
      await db?.drop();
    }
  }
  if (storeWanted) {
    if (pgUrl !== undefined) log(`${STORE_SCENARIO}: measures the SQLite store only (not --database-url)`);
    log('SQLite message writes alone (fixed rate, then saturation)…');
    storeWrites = await runStoreWrites({
      root: ROOT,
      cli,
      seconds: duration,
      rate: gatewayRate > 0 ? gatewayRate : 5000,
      durability,
      nodeArgs,
    });
    const f = storeWrites.fixed;
    log(
      `  fixed ${f.rate} msg/s: p50 ${f.p50.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms, ${f.stallsPerSecond.toFixed(1)} stalls/s; saturation ${Math.round(storeWrites.saturated.messagesPerSecond)} msg/s`,
    );
  }
} finally {
  rmSync(workDir, { recursive: true, force: true });
}

// The ceiling is the better of the two baseline runs, so a ratio is never flattered by a slow one.
const ceiling = Math.max(...baseline.map((b) => b.requestsPerSecond));
const report = {
  at: new Date().toISOString(),
  machine,
  settings,
  baseline: baseline.map((b) => ({ ...b })),
  ceiling,
  scenarios: results.map((r) =>
    'requestsPerSecond' in r && r.requestsPerSecond !== undefined
      ? { ...r, ratio: r.requestsPerSecond / (r.localCeiling ?? ceiling) }
      : r,
  ),
  rounds,
  createdRows,
  gateway,
  storeWrites,
};
baseline = report.baseline;
// Issue 6's targets against this run (bench/lib/targets.ts): in the JSON and at the report's end.
const targets = evaluateTargets({
  store: pgUrl === undefined ? 'sqlite' : 'postgres',
  durability,
  connections,
  duration,
  scenarios: report.scenarios.filter((s): s is ScenarioFigures & ScenarioResult => 'requestsPerSecond' in s),
  createdRows,
  gateway,
});
const md =
  (baseline.length > 0 ? markdownReport(report) : '') +
  (gateway ? gatewayMarkdown(gateway, machine) : '') +
  (storeWrites ? storeMarkdown(storeWrites) : '') +
  // Not after a store-only run (`--scenario store`): it measures none of the targets.
  (baseline.length > 0 || gateway ? targetsMarkdown(targets) : '');
const stamp = report.at.replace(/[:.]/g, '-');
const outDir = join(ROOT, 'bench/results');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, `${stamp}.json`), `${JSON.stringify({ ...report, targets }, null, 2)}\n`);
writeFileSync(join(outDir, `${stamp}.md`), md);
process.stdout.write(md);
log(`results: bench/results/${stamp}.json and .md`);
