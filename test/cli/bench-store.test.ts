/**
 * bench/store-writes.mjs (`npm run bench -- --scenario store`): it must really store what it times
 * (every offered message answered, latencies that are quantiles of real waits), or its figures would
 * describe nothing; and a bad command line ends it with the usage, exit code 2.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import type { StoreWritesReport } from '../../bench/lib/store-run.js';

// On the sources (tsx), not dist/: the test needs no build and never measures a stale one.
const run = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'bench/store-writes.mjs', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });

describe('bench store-writes', () => {
  it('measures a fixed rate and saturation on the store, and reports them as one JSON line', () => {
    const r = run(['src', '1', '500', 'normal']);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout.trim()) as StoreWritesReport;
    assert.equal(report.durability, 'normal');
    const f = report.fixed;
    // One second at 500 msg/s offered: about 500 messages, every one answered (the run drains).
    assert.ok(f.messages >= 400 && f.messages <= 510, `offered ${f.messages}`);
    assert.ok(f.p50 > 0 && f.p50 <= f.p99 && f.p99 <= f.max, JSON.stringify(f));
    assert.ok(f.cpuUs.writerSide > 0, 'the writer thread did the work');
    assert.ok(
      f.cpuUs.timerAtMost >= 0 && f.cpuUs.timerAtMost < f.cpuUs.eventLoop + 1000,
      JSON.stringify(f.cpuUs),
    );
    const s = report.saturated;
    assert.ok(s.messages > 0 && s.messagesPerSecond > 0, JSON.stringify(s));
    assert.equal(s.inFlight, 512);
  });

  it('refuses a bad command line with the usage and exit code 2', () => {
    const r = run(['src', 'soon', '500', 'full']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^usage: node bench\/store-writes\.mjs/);
  });
});
