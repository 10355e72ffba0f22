/**
 * The client-gateway part of `npm run bench`: the bare `ws` relay (its latency floor and memory per
 * idle connection), the durable references when asked, then one fresh nimbase server for memory per
 * idle session, logins/s and P2P messages end to end, its saturation rounds each right after one of
 * the relay's (the relay server stays up for them), and its fixed-rate rounds.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { signedCall } from '../../src/client/server-api.js';
import {
  type FlowResult,
  type LinkClient,
  loginMany,
  nimbaseFixedRate,
  nimbaseFlow,
  relayFixedRate,
  relayFlow,
  relayIdle,
} from './gateway.js';
import {
  type Child,
  cpuPressure,
  cpuSeconds,
  memoryMiB,
  probe,
  probeArgs,
  probeEnv,
  startChild,
} from './proc.js';

interface IdleSessions {
  count: number;
  rssDeltaMiB: number;
  kibPerSession: number;
  loginsPerSecond: number;
}

/** A fixed-rate flow; with `--rounds` > 1, the median-p99 run and every run's p99. */
type FixedRateResult = FlowResult & Cpu & { p99Rounds?: number[] };

export interface GatewayReport {
  relay: FlowResult & Cpu;
  /** Issue 6's durable reference: the relay with a group-committed SQLite append per message. */
  durableRelay: (FlowResult & Cpu) | undefined;
  /** The durable reference at the fixed offered rate: what an fsync per turn adds to the latency. */
  durableRelayFixedRate: FixedRateResult | undefined;
  /**
   * The durable reference doing nimbase's per-message store work besides the append as it was until
   * SQLite schema 12: an idClient under a UNIQUE index, checked on every insert, and an offline
   * entry (RELAY_SCHEMA=idempotent).
   */
  idempotentRelay: (FlowResult & Cpu) | undefined;
  idempotentRelayFixedRate: FixedRateResult | undefined;
  /** The relay at the fixed offered rate: the latency floor of the load generator and the kernel. */
  relayFixedRate: FixedRateResult | undefined;
  /**
   * The saturation round with the median ratio to the relay's flow just before it; with
   * `--rounds` > 1, every round's ratio too, in the order they ran.
   */
  nimbase: FlowResult & Cpu & { rssMiB: number | undefined; ratio: number; ratioRounds?: number[] };
  /** The same flow at a fixed offered rate (`--gateway-rate`), for latency at a known load. */
  fixedRate: FixedRateResult | undefined;
  /** The server's `--gateway-packet-rate` for this run. */
  packetRate: number;
  /** The server's store: 'sqlite' (its data dir) or 'postgres' (`--database-url`). */
  store: 'sqlite' | 'postgres';
  /** Idle logged-in sessions on the fresh server (before any message flow). */
  sessions: IdleSessions | undefined;
  /** Idle connections to the bare relay, measured the same way (forced GC before each reading). */
  relaySessions: { count: number; rssDeltaMiB: number; kibPerSession: number } | undefined;
  hostCpuPressure: number | undefined;
}

interface Options {
  root: string;
  cli: string;
  dataDir: string;
  /** A PostgreSQL database for the server (else SQLite in dataDir). */
  databaseUrl: string | undefined;
  durability: string;
  pairs: number;
  window: number;
  seconds: number;
  sessions: number;
  /** Passed to the server as `--gateway-packet-rate`. */
  packetRate: number;
  /** Offered msg/s of the fixed-rate run; 0 skips it. */
  fixedRate: number;
  /** Fixed-rate runs per flow: the one with the median p99 is reported, with every p99. */
  rounds: number;
  /** Also measure the durable relay reference (bench/relay-server.mjs with RELAY_DB). */
  reference: boolean;
  /** Where the durable relay keeps its file. */
  referenceDb: string;
  warmup: number;
  /** Node flags for nimbase's server (--cpu-prof, --node-arg); the relays do not get them. */
  nodeArgs: readonly string[];
  log: (s: string) => void;
}

/**
 * Node flags for both servers (relay and nimbase alike): a full GC on SIGUSR2 before each RSS
 * reading (bench/server-probe.mjs, which also counts the bytes allocated per flow), and V8's young
 * generation at the size it reaches under load from the start (16 MiB semi-spaces). Otherwise V8 grows it (by ~20 MiB)
 * during the first burst of allocation, and whichever server meets that burst inside the memory
 * measurement would count V8's one-time growth as per-session memory (the relay meets it in its
 * flow, nimbase in the logins).
 */
const gcArgs = (root: string) => ['--min-semi-space-size=16', ...probeArgs(root)];

/** RSS in MiB after a forced full GC in `child` (started with gcArgs). */
async function settledRss(child: Child): Promise<number> {
  await probe(child);
  // V8 sweeps and gives pages back on helper threads after the GC: let it settle.
  await new Promise((r) => setTimeout(r, 500));
  return memoryMiB(child.pid)?.rss ?? Number.NaN;
}

/** Server CPU over a flow: the whole process, and its main thread (the event loop) alone. */
interface Cpu {
  cpuCores: number | undefined;
  /** The event loop's thread (its tid is the pid); the rest is the SQLite writer, GC helpers, libuv. */
  mainCores: number | undefined;
  /** This process, the load generator (one thread): near 1 means the load, not the server, bound the run. */
  loaderCores: number;
  /**
   * Bytes the server's main thread allocated per second (bench/server-probe.mjs): divided by the
   * messages per second, what each message costs the garbage collector. Undefined without the probe.
   */
  allocBytesPerSecond: number | undefined;
}

async function withCpu<T>(child: Child, f: () => Promise<T & { seconds: number }>): Promise<T & Cpu> {
  await probe(child); // starts the allocation count afresh, after a full GC
  const c0 = cpuSeconds(child.pid);
  const m0 = cpuSeconds(child.pid, child.pid);
  const l0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await f();
  const wall = (performance.now() - t0) / 1000;
  const l1 = process.cpuUsage(l0);
  const c1 = cpuSeconds(child.pid);
  const m1 = cpuSeconds(child.pid, child.pid);
  const allocated = await probe(child);
  return {
    ...r,
    cpuCores: c0 !== undefined && c1 !== undefined ? (c1 - c0) / wall : undefined,
    mainCores: m0 !== undefined && m1 !== undefined ? (m1 - m0) / wall : undefined,
    loaderCores: (l1.user + l1.system) / 1e6 / wall,
    allocBytesPerSecond: allocated === undefined ? undefined : allocated / wall,
  };
}

/** ", server CPU X µs/msg (event loop Y)" for the console. */
function cpuNote(f: FlowResult & Cpu): string {
  if (f.cpuCores === undefined || f.perSecond === 0) return '';
  const us = (cores: number | undefined) =>
    cores === undefined ? '–' : ((cores * 1e6) / f.perSecond).toFixed(1);
  return `, server CPU ${us(f.cpuCores)} µs/msg (event loop ${us(f.mainCores)}), allocated ${allocKiB(f)} KiB/msg, load generator ${f.loaderCores.toFixed(2)} cores`;
}

/** KiB the server's main thread allocated per delivered message, or '–'. */
function allocKiB(f: FlowResult & Cpu): string {
  return f.allocBytesPerSecond === undefined || f.perSecond === 0
    ? '–'
    : (f.allocBytesPerSecond / f.perSecond / 1024).toFixed(1);
}

/**
 * Runs a fixed-rate flow `n` times: the run with the median p99 stands for them, and carries every
 * run's p99 (one p99 on a shared 2-core machine varies by 2–3× between identical runs).
 */
async function medianRound<T extends FlowResult>(
  n: number,
  run: () => Promise<T>,
): Promise<T & { p99Rounds?: number[] }> {
  const all: T[] = [];
  for (let i = 0; i < n; i++) all.push(await run());
  if (all.length === 1) return all[0]!;
  const byP99 = [...all].sort((a, b) => a.latencyMs.p99 - b.latencyMs.p99);
  return { ...byP99[Math.floor((all.length - 1) / 2)]!, p99Rounds: all.map((r) => r.latencyMs.p99) };
}

/** Runs `work` over `items` with `n` in parallel. */
async function pool<T>(items: T[], n: number, work: (t: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** A durable relay (bench/relay-server.mjs with `env`): warmed up, at saturation, then at the fixed rate. */
async function durableReference(o: Options, env: Record<string, string>) {
  const ref = await startChild(
    [...gcArgs(o.root), join(o.root, 'bench/relay-server.mjs')],
    /listening (\d+)/,
    { ...probeEnv(o.seconds), ...env },
  );
  try {
    await relayFlow(ref.port, o.pairs, o.window, Math.max(1, o.warmup));
    const saturated = await withCpu(ref, () => relayFlow(ref.port, o.pairs, o.window, o.seconds));
    const fixed =
      o.fixedRate > 0
        ? await medianRound(o.rounds, () =>
            withCpu(ref, () =>
              relayFixedRate(ref.port, o.pairs, o.fixedRate, o.seconds, Math.max(1, o.warmup)),
            ),
          )
        : undefined;
    return { saturated, fixed };
  } finally {
    await ref.stop();
  }
}

export async function runGateway(o: Options): Promise<GatewayReport> {
  // The relay stays up until nimbase's saturation rounds: each of them runs right after one of the
  // relay's, so the two figures of a ratio are seconds apart, not a minute (the host's load moves).
  const relayChild = await startChild(
    [...gcArgs(o.root), join(o.root, 'bench/relay-server.mjs')],
    /listening (\d+)/,
    probeEnv(o.seconds),
  );
  try {
    return await runAgainstRelay(o, relayChild);
  } finally {
    await relayChild.stop();
  }
}

/** One saturation round: the relay's flow, then nimbase's, and the ratio of the two. */
interface SaturationRound {
  relay: FlowResult & Cpu;
  nimbase: FlowResult & Cpu;
  ratio: number;
}

async function runAgainstRelay(o: Options, relayChild: Child): Promise<GatewayReport> {
  const seconds = o.seconds;
  let relaySessions: GatewayReport['relaySessions'];
  let relayFixedRateResult: GatewayReport['relayFixedRate'];
  await relayFlow(relayChild.port, o.pairs, o.window, Math.max(1, o.warmup)); // warm-up
  if (o.fixedRate > 0)
    relayFixedRateResult = await medianRound(o.rounds, () =>
      withCpu(relayChild, () =>
        relayFixedRate(relayChild.port, o.pairs, o.fixedRate, seconds, Math.max(1, o.warmup)),
      ),
    );
  if (o.sessions > 0) {
    const before = await settledRss(relayChild);
    const idle = await relayIdle(relayChild.port, o.sessions);
    const after = await settledRss(relayChild);
    for (const ws of idle) ws.terminate();
    relaySessions = {
      count: o.sessions,
      rssDeltaMiB: after - before,
      kibPerSession: ((after - before) * 1024) / o.sessions,
    };
  }
  if (relayFixedRateResult)
    o.log(
      `  relay at ${o.fixedRate} msg/s: p50 ${relayFixedRateResult.latencyMs.p50.toFixed(2)} ms, p99 ${relayFixedRateResult.latencyMs.p99.toFixed(2)} ms`,
    );
  let durable: Awaited<ReturnType<typeof durableReference>> | undefined;
  let idempotent: Awaited<ReturnType<typeof durableReference>> | undefined;
  if (o.reference) {
    durable = await durableReference(o, { RELAY_DB: o.referenceDb });
    o.log(
      `  relay + SQLite append (reference): ${Math.round(durable.saturated.perSecond)} msg/s${cpuNote(durable.saturated)}`,
    );
    idempotent = await durableReference(o, {
      RELAY_DB: `${o.referenceDb}-idempotent`,
      RELAY_SCHEMA: 'idempotent',
    });
    o.log(
      `  relay + SQLite append, idempotent + offline entry (reference): ${Math.round(idempotent.saturated.perSecond)} msg/s${cpuNote(idempotent.saturated)}`,
    );
  }

  const dbArgs = o.databaseUrl === undefined ? [] : ['--database-url', o.databaseUrl];
  const creds = JSON.parse(
    execFileSync(
      process.execPath,
      [o.cli, 'app', 'create', '--name', 'bench', '--json', '--data-dir', o.dataDir, ...dbArgs],
      {
        encoding: 'utf8',
      },
    ),
  ) as { appKey: string; appSecret: string };
  const child = await startChild(
    [
      ...gcArgs(o.root),
      ...o.nodeArgs,
      o.cli,
      'serve',
      '--data-dir',
      o.dataDir,
      ...dbArgs,
      '--port',
      '0',
      '--log-level',
      'warn',
      '--durability',
      o.durability,
      '--gateway-packet-rate',
      String(o.packetRate),
    ],
    /listening on http:\/\/[^:]+:(\d+)/,
    probeEnv(o.seconds),
  );
  const open: LinkClient[] = [];
  try {
    const baseUrl = `http://127.0.0.1:${child.port}`;
    const idle = Array.from({ length: o.sessions }, (_, i) => `idle${i}`);
    const tx = Array.from({ length: o.pairs }, (_, i) => `tx${i}`);
    const rx = Array.from({ length: o.pairs }, (_, i) => `rx${i}`);
    await pool([...idle, ...tx, ...rx], 16, async (accid) => {
      const r = JSON.parse(
        await signedCall({
          baseUrl,
          ...creds,
          path: '/nimserver/user/create.action',
          params: [
            ['accid', accid],
            ['token', `tok-${accid}`],
          ],
        }),
      ) as { code: number };
      if (r.code !== 200) throw new Error(`creating ${accid} answered ${JSON.stringify(r)}`);
    });
    o.log(`  ${idle.length + tx.length + rx.length} accounts created`);

    // Memory per idle session: RSS (after a forced GC) before and after `idle` links log in.
    const measureIdle = async (label: string) => {
      const before = await settledRss(child);
      const logins = await loginMany(child.port, creds.appKey, idle, 32);
      await new Promise((r) => setTimeout(r, 1500));
      const after = await settledRss(child);
      const m = {
        count: idle.length,
        rssDeltaMiB: after - before,
        kibPerSession: ((after - before) * 1024) / idle.length,
        loginsPerSecond: logins.perSecond,
      };
      o.log(
        `  ${idle.length} sessions (${label}): ${m.kibPerSession.toFixed(1)} KiB each, ${Math.round(logins.perSecond)} logins/s`,
      );
      return { m, clients: logins.clients };
    };
    let sessions: GatewayReport['sessions'];
    if (idle.length > 0) {
      const r = await measureIdle('fresh server');
      sessions = r.m;
      open.push(...r.clients);
    }

    const senders = (await loginMany(child.port, creds.appKey, tx, 32)).clients;
    const receivers = (await loginMany(child.port, creds.appKey, rx, 32)).clients;
    open.push(...senders, ...receivers);
    const pairs = receivers.map((client, i) => ({ client, accid: rx[i]! }));
    if (o.warmup > 0) await nimbaseFlow(senders, pairs, o.window, o.warmup, o.packetRate);
    // Saturation, `--rounds` times: the relay, then nimbase; the round with the median ratio stands.
    const rounds: SaturationRound[] = [];
    for (let i = 0; i < o.rounds; i++) {
      const relay = await withCpu(relayChild, () => relayFlow(relayChild.port, o.pairs, o.window, seconds));
      o.log(`  relay: ${Math.round(relay.perSecond)} msg/s${cpuNote(relay)}`);
      const flow = await withCpu(child, () => nimbaseFlow(senders, pairs, o.window, seconds, o.packetRate));
      o.log(`  nimbase: ${Math.round(flow.perSecond)} msg/s${cpuNote(flow)}`);
      rounds.push({ relay, nimbase: flow, ratio: flow.perSecond / relay.perSecond });
    }
    const median = [...rounds].sort((a, b) => a.ratio - b.ratio)[Math.floor((rounds.length - 1) / 2)]!;
    const relay = median.relay;
    const nimbase = {
      ...median.nimbase,
      rssMiB: memoryMiB(child.pid)?.rss,
      ratio: median.ratio,
      ...(rounds.length > 1 ? { ratioRounds: rounds.map((r) => r.ratio) } : {}),
    };
    let fixedRate: GatewayReport['fixedRate'];
    if (o.fixedRate > 0) {
      fixedRate = await medianRound(o.rounds, () =>
        withCpu(child, () => nimbaseFixedRate(senders, pairs, o.fixedRate, seconds, Math.max(1, o.warmup))),
      );
      o.log(
        `  nimbase at ${o.fixedRate} msg/s: p50 ${fixedRate.latencyMs.p50.toFixed(2)} ms, p99 ${fixedRate.latencyMs.p99.toFixed(2)} ms${cpuNote(fixedRate)}`,
      );
    }
    return {
      relay,
      relayFixedRate: relayFixedRateResult,
      durableRelay: durable?.saturated,
      durableRelayFixedRate: durable?.fixed,
      idempotentRelay: idempotent?.saturated,
      idempotentRelayFixedRate: idempotent?.fixed,
      nimbase,
      fixedRate,
      packetRate: o.packetRate,
      store: o.databaseUrl === undefined ? 'sqlite' : 'postgres',
      sessions,
      relaySessions,
      hostCpuPressure: cpuPressure(),
    };
  } finally {
    for (const c of open) c.close();
    await child.stop();
  }
}

const f0 = (n: number) => Math.round(n).toLocaleString('en-US');
const f2 = (n: number | undefined) => (n === undefined ? '–' : n.toFixed(2));

export function gatewayMarkdown(
  g: GatewayReport,
  m: { nproc: number; cpu: string; memoryGiB: number; node: string },
) {
  // CPU µs per delivered message: the whole server process, and its event loop alone.
  const perMsg = (cores: number | undefined, f: FlowResult) =>
    cores === undefined || f.perSecond === 0 ? '–' : ((cores * 1e6) / f.perSecond).toFixed(1);
  const row = (name: string, f: FlowResult & Cpu, ratio?: number) =>
    `| ${name} | ${f.pairs} × ${f.window || 'open loop'} | ${f0(f.perSecond)} | ${f2(ratio)} | ${f2(f.latencyMs.p50)} | ${f2(f.latencyMs.p99)} | ${f2(f.cpuCores)} | ${perMsg(f.cpuCores, f)} / ${perMsg(f.mainCores, f)} | ${allocKiB(f)} | ${f2(f.loaderCores)} | ${f0(f.sent)} / ${f0(f.delivered)} | ${f.offeredCap ? f0(f.offeredCap) : '–'} |${f.errors > 0 ? ` ⚠ ${f.errors} errors` : ''}`;
  const lines = [
    '',
    `## Client gateway, ${new Date().toISOString()}`,
    '',
    `${m.nproc}× ${m.cpu}, ${m.memoryGiB} GiB, Node ${m.node}. Load generator in the bench process, server in its own; store ${g.store}.`,
    '',
    `Server started with \`--gateway-packet-rate ${g.packetRate}\` (production default 50): senders are paced at 90 % of it, so the cap column shows what the rate limit let them offer; a cap far above the delivered rate means the limit did not bound the run.`,
    '',
    '| flow | pairs × in flight | delivered msg/s | × relay | p50 ms | p99 ms | server CPU (cores) | CPU µs/msg: server / event loop | allocated KiB/msg | load generator (cores) | sent / delivered | rate-limit cap msg/s |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    row('bare ws relay', g.relay, 1),
    ...(g.durableRelay
      ? [
          row(
            'ws relay + SQLite append per message (reference)',
            g.durableRelay,
            g.durableRelay.perSecond / g.relay.perSecond,
          ),
        ]
      : []),
    ...(g.durableRelayFixedRate
      ? [
          row(
            `ws relay + SQLite append (reference) at a fixed ${f0(g.durableRelayFixedRate.offered ?? 0)} msg/s offered`,
            g.durableRelayFixedRate,
          ),
        ]
      : []),
    ...(g.idempotentRelay
      ? [
          row(
            'ws relay + SQLite append, random idClient UNIQUE + offline entry (reference)',
            g.idempotentRelay,
            g.idempotentRelay.perSecond / g.relay.perSecond,
          ),
        ]
      : []),
    ...(g.idempotentRelayFixedRate
      ? [
          row(
            `the same at a fixed ${f0(g.idempotentRelayFixedRate.offered ?? 0)} msg/s offered`,
            g.idempotentRelayFixedRate,
          ),
        ]
      : []),
    ...(g.relayFixedRate
      ? [row(`bare ws relay at a fixed ${f0(g.relayFixedRate.offered ?? 0)} msg/s offered`, g.relayFixedRate)]
      : []),
    row('nimbase 7_1 → 7_2', g.nimbase, g.nimbase.ratio),
    ...(g.fixedRate
      ? [row(`nimbase at a fixed ${f0(g.fixedRate.offered ?? 0)} msg/s offered`, g.fixedRate)]
      : []),
    '',
  ];
  const spread = (name: string, f: FixedRateResult | undefined) =>
    f?.p99Rounds ? [`${name} ${f.p99Rounds.map((x) => x.toFixed(2)).join(' / ')} ms`] : [];
  if (g.nimbase.ratioRounds)
    lines.push(
      `Saturation rounds, each the relay's flow then nimbase's (the table shows the round with the median ratio): ${g.nimbase.ratioRounds.map((r) => `${r.toFixed(2)} ×`).join(' / ')}.`,
      '',
    );
  const rounds = [
    ...spread('bare relay', g.relayFixedRate),
    ...spread('durable relay', g.durableRelayFixedRate),
    ...spread('idempotent durable relay', g.idempotentRelayFixedRate),
    ...spread('nimbase', g.fixedRate),
  ];
  if (rounds.length > 0)
    lines.push(
      `Fixed-rate p99 of every round (the table shows the round with the median p99): ${rounds.join('; ')}.`,
      '',
    );
  if (g.sessions)
    lines.push(
      `Idle logged-in sessions: ${g.sessions.count}, server RSS +${g.sessions.rssDeltaMiB.toFixed(1)} MiB = ${g.sessions.kibPerSession.toFixed(1)} KiB per session (RSS after a forced full GC, before and after the logins; both servers run with \`--min-semi-space-size=16\`); ${f0(g.sessions.loginsPerSecond)} logins/s (32 in parallel, connect + 2_3).`,
      '',
    );
  if (g.relaySessions)
    lines.push(
      `Bare ws relay, ${g.relaySessions.count} idle connections measured the same way: RSS +${g.relaySessions.rssDeltaMiB.toFixed(1)} MiB = ${g.relaySessions.kibPerSession.toFixed(1)} KiB per connection.`,
      '',
    );
  lines.push(`Host CPU pressure at the end: ${g.hostCpuPressure ?? '–'} %.`, '');
  return lines.join('\n');
}
