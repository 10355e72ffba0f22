/** The Markdown table of a benchmark run. */
import type { LoadResult } from './loaders.js';

export type ScenarioResult =
  | { name: string; skipped: string }
  | (LoadResult & {
      name: string;
      expectCode: number;
      cpuCores: number | undefined;
      cpuUsPerRequest?: number | undefined;
      loopCpuUsPerRequest?: number | undefined;
      allocBytesPerRequest?: number | undefined;
      rssMiB: number | undefined;
      peakRssMiB: number | undefined;
      hostCpuPressure: number | undefined;
      ratio?: number;
      /** With --rounds: the scenario's own name, and the better of the baselines run around it. */
      scenario?: string;
      localCeiling?: number;
    });

interface Report {
  at: string;
  machine: { nproc: number; cpu: string; memoryGiB: number; node: string; platform: string };
  settings: Record<string, unknown>;
  baseline: (LoadResult & {
    cpuCores: number | undefined;
    cpuUsPerRequest?: number | undefined;
    loopCpuUsPerRequest?: number | undefined;
    allocBytesPerRequest?: number | undefined;
    rssMiB: number | undefined;
    hostCpuPressure: number | undefined;
  })[];
  ceiling: number;
  scenarios: ScenarioResult[];
  createdRows: number | undefined;
  rounds?: number;
}

/** The median; of an even count, the mean of the two middle values. */
export const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** With --rounds: per scenario, the median ratio to its neighbouring baselines and the spread. */
function roundsSummary(r: Report): string[] {
  const by = new Map<string, { ratio: number; loop: number | undefined; p99: number }[]>();
  for (const x of r.scenarios) {
    if ('skipped' in x || x.scenario === undefined || x.ratio === undefined) continue;
    const list = by.get(x.scenario) ?? [];
    list.push({ ratio: x.ratio, loop: x.loopCpuUsPerRequest, p99: x.latencyMs.p99 });
    by.set(x.scenario, list);
  }
  if (by.size === 0) return [];
  const rows = [
    `Over ${r.rounds} rounds, each run against the better of the two baseline runs around it:`,
    '',
    '| scenario | median × ceiling | min – max | median p99 ms | median event-loop µs/req |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const [name, list] of by) {
    const ratios = list.map((l) => l.ratio);
    const loops = list.map((l) => l.loop).filter((v): v is number => v !== undefined);
    rows.push(
      `| ${name} | **${f2(median(ratios))}** | ${f2(Math.min(...ratios))} – ${f2(Math.max(...ratios))} | ${f2(median(list.map((l) => l.p99)))} | ${loops.length ? f1(median(loops)) : '–'} |`,
    );
  }
  return [...rows, ''];
}

const perReq = (x: { cpuUsPerRequest?: number | undefined; loopCpuUsPerRequest?: number | undefined }) =>
  x.cpuUsPerRequest === undefined
    ? '–'
    : `${x.cpuUsPerRequest.toFixed(1)} (${x.loopCpuUsPerRequest?.toFixed(1) ?? '–'})`;
const kib = (x: { allocBytesPerRequest?: number | undefined }) =>
  x.allocBytesPerRequest === undefined ? '–' : (x.allocBytesPerRequest / 1024).toFixed(1);
const f0 = (n: number) => Math.round(n).toLocaleString('en-US');
const f2 = (n: number | undefined) => (n === undefined ? '–' : n.toFixed(2));
const f1 = (n: number | undefined) => (n === undefined ? '–' : n.toFixed(1));
const f0p = (n: number | undefined) => (n === undefined ? '–' : n.toFixed(0));
const codes = (c: Record<string, number>) =>
  Object.entries(c)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}×${v}`)
    .join(' ');

export function markdownReport(r: Report): string {
  const m = r.machine;
  const s = r.settings;
  const rows = [
    '| scenario | req/s | × ceiling | p50 ms | p99 ms | server CPU (cores) | CPU µs/req (event loop) | allocated KiB/req | RSS MiB (peak) | host CPU pressure % | answers |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const [i, b] of r.baseline.entries())
    rows.push(
      `| baseline node:http${r.baseline.length > 2 ? ` (${i + 1})` : r.baseline.length > 1 ? ` (${i === 0 ? 'before' : 'after'})` : ''} | ${f0(b.requestsPerSecond)} | ${f2(b.requestsPerSecond / r.ceiling)} | ${f2(b.latencyMs.p50)} | ${f2(b.latencyMs.p99)} | ${f2(b.cpuCores)} | ${perReq(b)} | ${kib(b)} | ${f1(b.rssMiB)} | ${f0p(b.hostCpuPressure)} | ${codes(b.codes)} |`,
    );
  for (const x of r.scenarios) {
    if ('skipped' in x) {
      rows.push(`| ${x.name} | – | – | – | – | – | – | – | – | – | skipped: ${x.skipped} |`);
      continue;
    }
    const wrong = Object.entries(x.codes)
      .filter(([k]) => k !== String(x.expectCode))
      .reduce((a, [, v]) => a + v, 0);
    const flag = wrong > 0 || x.errors > 0 ? ` ⚠ ${wrong} unexpected, ${x.errors} errors` : '';
    rows.push(
      `| ${x.name} | ${f0(x.requestsPerSecond)} | ${f2(x.ratio)} | ${f2(x.latencyMs.p50)} | ${f2(x.latencyMs.p99)} | ${f2(x.cpuCores)} | ${perReq(x)} | ${kib(x)} | ${f1(x.rssMiB)} (${f1(x.peakRssMiB)}) | ${f0p(x.hostCpuPressure)} | ${codes(x.codes)}${flag} |`,
    );
  }
  return [
    `## nimbase benchmark, ${r.at}`,
    '',
    `${m.nproc}× ${m.cpu}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}. ` +
      `Loader ${s.loader} (${s.threads} thread(s)), ${s.connections} connections, ${s.duration} s measured after ${s.warmup} s warm-up, store ${s.store ?? 'sqlite'}, durability ${s.durability}, niceness ${s.nice}.`,
    '',
    ...rows,
    '',
    ...roundsSummary(r),
    `Load generator cost: ${r.baseline
      .map((b) =>
        b.loaderCpuSeconds === undefined ? '–' : `${((b.loaderCpuSeconds / b.requests) * 1e6).toFixed(1)} µs`,
      )
      .join(' / ')} of its own CPU per baseline request.`,
    '',
    `Ceiling: ${f0(r.ceiling)} req/s (the better baseline run${(r.rounds ?? 1) > 1 ? '; with rounds, each run is compared with its neighbours instead' : ''}). Host CPU pressure: PSI "some avg10" at the end of each run (0 = the machine was otherwise idle).` +
      (r.createdRows !== undefined ? ` Accounts stored by the create run: ${f0(r.createdRows)}.` : ''),
    '',
  ].join('\n');
}
