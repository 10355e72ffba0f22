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
import { parseArgs } from 'node:util';
import { auditDataDir, createApp, createUntilKilled, newLedger, serveChild } from '../test/helpers/crash.js';

const { values: opt } = parseArgs({
  options: {
    cycles: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '32' },
    'max-delay': { type: 'string', default: '2000' },
    durability: { type: 'string', default: 'full' },
  },
});
const cycles = Number(opt.cycles);
const concurrency = Number(opt.concurrency);
const maxDelay = Number(opt['max-delay']);
if (!(cycles >= 1 && cycles <= 1000 && concurrency >= 1 && concurrency <= 512 && maxDelay >= 1))
  throw new Error('bad options');

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
