/**
 * bench/server-probe.mjs, the preload that gives the gateway report its "allocated KiB/msg" column
 * and its settled RSS readings: on SIGUSR2 it answers with the bytes the main thread allocated
 * since the previous signal, after a full GC. The figure must follow what the process really
 * allocated, or the column would compare nothing; and the GC must have run, or an RSS reading
 * would count garbage.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Child, probe, startChild } from '../../bench/lib/proc.js';

// At the first SIGUSR2 (the probe's own handler answers it too), and only then, it allocates
// 10,000 arrays of 1,000 slots (≈ 8 KB each, ≈ 80 MB in all, garbage at once) and says so.
const SERVER = `
  process.stdout.write('listening 1\\n');
  process.once('SIGUSR2', () => setTimeout(() => {
    let keep;
    for (let i = 0; i < 10000; i++) keep = new Array(1000).fill(i);
    process.stdout.write('allocated ' + keep.length + '\\n');
  }, 100));
  setInterval(() => {}, 1000);
`;

describe('bench server probe', () => {
  let child: Child | undefined;
  let output = '';

  before(async () => {
    child = await startChild(
      ['--expose-gc', '--trace-gc', '--import', './bench/server-probe.mjs', '-e', SERVER],
      /listening (\d+)/,
    );
    child.proc.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
    });
  });
  after(() => child?.stop());

  // gc() shows in --trace-gc as a Mark-Compact for "testing" (the profiler's own GCs say "sampling profiler").
  const fullGcs = () => output.match(/Mark-Compact.*testing/g)?.length ?? 0;
  const waitFor = async (text: string) => {
    while (!output.includes(text)) await new Promise((r) => setTimeout(r, 20));
  };

  it('counts the bytes allocated between two signals, and only those, each after a full GC', {
    timeout: 60_000,
  }, async () => {
    const c = child!;
    const gcs0 = fullGcs();
    const start = await probe(c);
    assert.ok(start !== undefined, 'the probe answered');
    assert.ok(fullGcs() > gcs0, 'a full GC ran before the answer');
    await waitFor('allocated 1000');
    const burst = await probe(c);
    // 10,000 × (1,000 slots × 8 bytes + headers): 80 MB, estimated from ~1,200 samples.
    assert.ok(
      burst !== undefined && burst > 64e6 && burst < 100e6,
      `the burst counted ${burst} bytes, not about 80 MB`,
    );
    const gcs1 = fullGcs();
    const quiet = await probe(c);
    assert.ok(quiet !== undefined && quiet < 4e6, `nothing allocated, yet ${quiet} bytes counted`);
    assert.ok(fullGcs() > gcs1, 'a full GC ran before the answer');
  });
});
