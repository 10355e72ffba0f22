/**
 * `--scenario store`: the SQLite store's message writes measured alone (bench/store-writes.mjs, in a
 * process of its own), at the gateway's fixed rate and at saturation; the report's section.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

/** The name `--scenario` selects it by (any filter that is part of it). */
export const STORE_SCENARIO = 'store-messages';

export interface StoreWritesReport {
  durability: string;
  fixed: {
    rate: number;
    messages: number;
    messagesPerSecond: number;
    p50: number;
    p90: number;
    p99: number;
    p999: number;
    max: number;
    slowSends: number;
    stallsPerSecond: number;
    /** `timerAtMost`: the offering timer's own cost per message, measured idle (an upper bound). */
    cpuUs: { eventLoop: number; writerSide: number; timerAtMost: number };
  };
  saturated: {
    inFlight: number;
    messages: number;
    messagesPerSecond: number;
    cpuUs: { eventLoop: number; writerSide: number };
  };
}

export async function runStoreWrites(o: {
  root: string;
  /** The measured build's cli.js: its store is dist/store/sqlite.js beside it. */
  cli: string;
  seconds: number;
  rate: number;
  durability: string;
  /** Node flags for the process that runs the store (--cpu-prof, --node-arg). */
  nodeArgs: readonly string[];
}): Promise<StoreWritesReport> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      ...o.nodeArgs,
      join(o.root, 'bench/store-writes.mjs'),
      dirname(o.cli),
      String(o.seconds),
      String(o.rate),
      o.durability,
    ],
    { maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as StoreWritesReport;
}

const ms = (v: number) => v.toFixed(2);
const us = (v: number) => v.toFixed(1);

export function storeMarkdown(r: StoreWritesReport): string {
  const f = r.fixed;
  const s = r.saturated;
  return [
    '',
    `## SQLite message writes alone (bench/store-writes.mjs, durability ${r.durability})`,
    '',
    'insertMessage with an offline entry and a random idClient, in a process without network or load generator: the wait for COMMIT that every 7_1 includes.',
    '',
    '| run | messages/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | stalls/s (sends > 3 ms) | CPU µs/msg: event loop / writer side |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| fixed ${f.rate.toLocaleString('en-US')} msg/s offered | ${Math.round(f.messagesPerSecond).toLocaleString('en-US')} | ${ms(f.p50)} | ${ms(f.p90)} | ${ms(f.p99)} | ${ms(f.p999)} | ${ms(f.max)} | ${f.stallsPerSecond.toFixed(1)} (${f.slowSends} sends) | ${us(f.cpuUs.eventLoop)} (timer ≤ ${us(f.cpuUs.timerAtMost)}) / ${us(f.cpuUs.writerSide)} |`,
    `| saturation, ${s.inFlight} in flight | ${Math.round(s.messagesPerSecond).toLocaleString('en-US')} | – | – | – | – | – | – | ${us(s.cpuUs.eventLoop)} / ${us(s.cpuUs.writerSide)} |`,
    '',
  ].join('\n');
}
