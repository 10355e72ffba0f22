/**
 * bench/lib/targets.ts: issue 6's targets checked against one bench run. The verdicts are the
 * report's last word on each target, so each rule is pinned here: the thresholds per store, the
 * median over rounds, what counts as "not measured" (another durability, connection count, rate,
 * pair count, a run shorter than ten minutes) and what "flat" memory means.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  evaluateTargets,
  minuteLows,
  type ScenarioFigures,
  type TargetInput,
  type TargetRow,
  targetsMarkdown,
} from '../../bench/lib/targets.js';

const run = (
  name: string,
  ratio: number,
  p99 = 5,
  extra: Partial<ScenarioFigures> = {},
): ScenarioFigures => ({
  name,
  ratio,
  requestsPerSecond: ratio * 40_000,
  latencyMs: { p99 },
  codes: { 200: Math.round(ratio * 400_000) },
  ...extra,
});

const base = (over: Partial<TargetInput> = {}): TargetInput => ({
  store: 'sqlite',
  durability: 'full',
  connections: 64,
  duration: 10,
  scenarios: [run('create', 0.45, 9.1), run('getUinfos-20', 0.56)],
  createdRows: 200_000,
  ...over,
});

const row = (rows: TargetRow[], prefix: string) => {
  const r = rows.find((x) => x.target.startsWith(prefix));
  assert.ok(r, `no row starting with "${prefix}" in ${rows.map((x) => x.target).join('; ')}`);
  return r;
};

const gateway = (over: Partial<NonNullable<TargetInput['gateway']>> = {}): TargetInput['gateway'] => ({
  relay: { pairs: 100, perSecond: 50_000, latencyMs: { p99: 20 } },
  nimbase: { pairs: 100, perSecond: 23_500, latencyMs: { p99: 40 }, ratio: 0.47 },
  fixedRate: { pairs: 100, perSecond: 5_000, latencyMs: { p99: 1.5 }, offered: 5_000 },
  relayFixedRate: { pairs: 100, perSecond: 5_000, latencyMs: { p99: 0.9 }, offered: 5_000 },
  sessions: { count: 1000, kibPerSession: 4.8, loginsPerSecond: 1909 },
  ...over,
});

describe('bench targets (issue 6)', () => {
  it('SQLite create: 0.75 × the ceiling, p99 10 ms, every answered create stored', () => {
    const rows = evaluateTargets(base());
    const create = row(rows, 'create ≥ 0.75');
    assert.equal(create.verdict, 'not met');
    assert.match(create.measured, /^0\.45 × \(18,000 req\/s\)$/);
    assert.equal(row(rows, 'create p99').verdict, 'met');
    const stored = row(rows, 'every create answered 200');
    assert.equal(stored.verdict, 'met');
    assert.match(stored.measured, /200,000 rows for 180,000 answers/);
    assert.equal(row(rows, 'getUinfos').verdict, 'met');

    const fast = evaluateTargets(base({ scenarios: [run('create', 0.75, 10.01)] }));
    assert.equal(row(fast, 'create ≥ 0.75').verdict, 'met');
    assert.equal(row(fast, 'create p99').verdict, 'not met');
  });

  it('fewer rows than answers 200 fails the durability row', () => {
    const rows = evaluateTargets(base({ createdRows: 179_999 }));
    assert.equal(row(rows, 'every create answered 200').verdict, 'not met');
    const uncounted = evaluateTargets(base({ createdRows: undefined }));
    assert.equal(row(uncounted, 'every create answered 200').verdict, 'not measured');
  });

  it('PostgreSQL create is held to 0.4 × the ceiling', () => {
    const rows = evaluateTargets(base({ store: 'postgres', scenarios: [run('create', 0.41)] }));
    const create = row(rows, 'create ≥ 0.4');
    assert.equal(create.verdict, 'met');
    assert.match(create.target, /PostgreSQL/);
    assert.equal(
      row(evaluateTargets(base({ store: 'postgres', scenarios: [run('create', 0.39)] })), 'create ≥ 0.4')
        .verdict,
      'not met',
    );
  });

  it('with rounds, the median of the rounds decides', () => {
    const rounds = [0.8, 0.7, 0.76].map((r, i) => ({
      ...run(`create (round ${i + 1})`, r),
      scenario: 'create',
    }));
    const create = row(evaluateTargets(base({ scenarios: rounds })), 'create ≥ 0.75');
    assert.equal(create.verdict, 'met');
    assert.match(create.measured, /^0\.76 × .*median of 3 rounds/);
  });

  it('shows the issue’s reference of the same run beside nimbase', () => {
    const rows = evaluateTargets(
      base({ scenarios: [run('create', 0.45, 9), run('reference-create', 0.55, 8)] }),
    );
    assert.match(row(rows, 'create ≥ 0.75').reference ?? '', /reference: 0\.55 × \(nimbase at 0\.82 of it\)/);
    assert.match(row(rows, 'create p99').reference ?? '', /8\.00 ms/);
  });

  it('does not judge a run that is not the one the target describes', () => {
    for (const over of [
      { durability: 'normal' },
      { connections: 32 },
      { scenarios: [run('getUinfos-20', 0.6)] },
    ]) {
      const rows = evaluateTargets(base(over));
      assert.equal(row(rows, 'create ≥').verdict, 'not measured', JSON.stringify(over));
      assert.equal(row(rows, 'create p99').verdict, 'not measured', JSON.stringify(over));
      assert.ok(row(rows, 'create ≥').note, 'says why');
    }
  });

  it('memory: flat means the last minute’s lowest RSS within 3 % of the second minute’s', () => {
    assert.deepEqual(minuteLows([5, 3, ...Array(58).fill(4), ...Array(60).fill(7), 1]), [3, 7]);
    const short = evaluateTargets(base());
    assert.equal(row(short, 'server memory flat').verdict, 'not measured');
    assert.match(row(short, 'server memory flat').note ?? '', /--duration 600/);

    // A warm-up climb in minute 1, then a wobble around 159 MiB: flat.
    const flat = Array.from({ length: 600 }, (_, s) => (s < 60 ? 100 + s : 159 + (s % 7) * 0.5));
    const ok = evaluateTargets(
      base({ duration: 600, scenarios: [run('create', 0.4, 9, { rssTimeline: flat })] }),
    );
    assert.equal(row(ok, 'server memory flat').verdict, 'met');
    assert.match(row(ok, 'server memory flat').measured, /159\.0 → 159\.0 MiB/);

    // 1 MiB a minute from 162 MiB: 9 MiB (5.6 %) by minute 10.
    const creep = Array.from({ length: 600 }, (_, s) => 161 + Math.floor(s / 60) + (s % 3));
    const bad = evaluateTargets(
      base({ duration: 600, scenarios: [run('create', 0.4, 9, { rssTimeline: creep })] }),
    );
    assert.equal(row(bad, 'server memory flat').verdict, 'not met');
  });

  it('gateway: the ratio, p99 at 5,000 msg/s, memory per idle session, logins/s', () => {
    const rows = evaluateTargets(base({ gateway: gateway() }));
    assert.equal(row(rows, 'gateway P2P').verdict, 'not met');
    assert.match(row(rows, 'gateway P2P').measured, /0\.47 × \(23,500 against 50,000 msg\/s\)/);
    assert.equal(row(rows, 'gateway p99').verdict, 'met');
    assert.match(row(rows, 'gateway p99').reference ?? '', /bare relay: 0\.90 ms/);
    const durable = evaluateTargets(
      base({
        gateway: gateway({
          durableRelayFixedRate: { pairs: 100, perSecond: 5_000, latencyMs: { p99: 5.6 }, offered: 5_000 },
        }),
      }),
    );
    assert.match(
      row(durable, 'gateway p99').reference ?? '',
      /bare relay: 0\.90 ms; the relay \+ SQLite append: 5\.60 ms/,
    );
    assert.equal(row(rows, '≤ 16 KiB').verdict, 'met');
    assert.equal(row(rows, 'logins/s').verdict, 'reported');

    const other = evaluateTargets(
      base({
        gateway: gateway({
          nimbase: { pairs: 50, perSecond: 40_000, latencyMs: { p99: 5 }, ratio: 0.8 },
          fixedRate: { pairs: 100, perSecond: 4_000, latencyMs: { p99: 1 }, offered: 4_000 },
          durableRelay: { pairs: 100, perSecond: 45_000, latencyMs: { p99: 30 } },
          sessions: { count: 1000, kibPerSession: 16.5, loginsPerSecond: 900 },
        }),
      }),
    );
    assert.equal(row(other, 'gateway P2P').verdict, 'not measured', '50 pairs');
    assert.match(row(other, 'gateway P2P').reference ?? '', /append: 0\.90 ×/);
    assert.equal(row(other, 'gateway p99').verdict, 'not measured', 'offered 4,000');
    assert.equal(row(other, '≤ 16 KiB').verdict, 'not met');

    const none = evaluateTargets(base());
    for (const t of ['gateway P2P', 'gateway p99', '≤ 16 KiB', 'logins/s'])
      assert.equal(row(none, t).verdict, 'not measured', t);
  });

  it('renders a Markdown table, one line per target', () => {
    const rows = evaluateTargets(base({ gateway: gateway() }));
    const md = targetsMarkdown(rows);
    assert.match(md, /## Against issue 6's targets/);
    const lines = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| target'));
    assert.equal(lines.length, rows.length);
    assert.ok(
      lines.every((l) => l.split(/(?<!\\)\|/).length === 7),
      'five cells each, no stray pipes',
    );
    assert.match(md, /\| \*\*met\*\* \|/);
  });
});
