/**
 * `npm run bench:crash`: the long crash-safety run. Starts `nimbase serve` on one data dir, streams
 * signed creates, `kill -9`s it at a random moment, restarts, and repeats; then audits the data dir:
 * every create answered 200 exists with a token that verifies, every stored row was sent and opens,
 * and SQLite's integrity_check passes. Exit code 1 on any problem.
 *
 *   npm run bench:crash -- [--cycles 10] [--concurrency 32] [--max-delay 2000] [--durability full|normal]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditDataDir, createApp, createUntilKilled, newLedger, serveChild } from '../test/helpers/crash.js';
import { parseBenchArgs, usageError } from './lib/cli.js';

const COMMAND = 'npm run bench:crash';
const opt = parseBenchArgs(
  {
    cycles: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '32' },
    'max-delay': { type: 'string', default: '2000' },
    durability: { type: 'string', default: 'full' },
  },
  `${COMMAND} -- [--cycles 10] [--concurrency 32] [--max-delay 2000] [--durability full|normal]

Kills a creating server with SIGKILL --cycles times (after up to --max-delay ms each), restarts it,
then checks that every answered account exists with a token that verifies.`,
  COMMAND,
);
const int = (name: string, v: string, min: number, max: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    usageError(`--${name} must be an integer in ${min}..${max}`, COMMAND);
  return n;
};
const cycles = int('cycles', opt.cycles!, 1, 1000);
const concurrency = int('concurrency', opt.concurrency!, 1, 512);
const maxDelay = int('max-delay', opt['max-delay']!, 1, 600_000);
if (opt.durability !== 'full' && opt.durability !== 'normal')
  usageError('--durability must be full or normal', COMMAND);

const dataDir = mkdtempSync(join(tmpdir(), 'nimbase-crash-'));
try {
  const creds = await createApp(dataDir);
  const ledger = newLedger();
  for (let cycle = 0; cycle < cycles; cycle++) {
    const before = ledger.acked.size;
    const served = await serveChild(dataDir, ['--durability', opt.durability!]);
    const killAfterMs = Math.floor(Math.random() * maxDelay);
    await createUntilKilled({ served, creds, ledger, prefix: `c${cycle}x`, killAfterMs, concurrency });
    process.stderr.write(
      `cycle ${cycle + 1}/${cycles}: killed ${killAfterMs} ms after the first 200; ${ledger.acked.size - before} acknowledged\n`,
    );
  }
  const audit = await auditDataDir(dataDir, creds.appKey, ledger);
  process.stdout.write(
    `${cycles} kill -9 cycles: ${ledger.acked.size} creates acknowledged, ${ledger.sent.size} sent, ${audit.rows} stored; ` +
      `${audit.problems.length === 0 ? 'every acknowledged account present with a verifiable token, nothing half-written, integrity ok' : `${audit.problems.length} PROBLEMS`}\n`,
  );
  for (const p of audit.problems.slice(0, 50)) process.stdout.write(`  ${p}\n`);
  process.exitCode = audit.problems.length === 0 ? 0 : 1;
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
