/**
 * bench/server-probe.mjs, the preload that gives the gateway report its "allocated KiB/msg" column:
 * on SIGUSR2 it answers with the bytes the main thread allocated since the previous signal. The
 * figure must follow what the process really allocated, or the column would compare nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Child, probe, startChild } from '../../bench/lib/proc.js';

// Prints its "port"; 300 ms later allocates 10,000 arrays of 1,000 slots (≈ 8 KB each, ≈ 80 MB in
// all, garbage at once) and says so; then idles.
const SERVER = `
  process.stdout.write('listening 1\\n');
  setTimeout(() => {
    let keep;
    for (let i = 0; i < 10000; i++) keep = new Array(1000).fill(i);
    process.stdout.write('allocated ' + keep.length + '\\n');
  }, 300);
  setInterval(() => {}, 1000);
`;

describe('bench server probe', () => {
  let child: Child;
  let allocated: Promise<void>;

  before(async () => {
    child = await startChild(
      ['--expose-gc', '--import', './bench/server-probe.mjs', '-e', SERVER],
      /listening (\d+)/,
    );
    allocated = new Promise((resolve) =>
      child.proc.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('allocated')) resolve();
      }),
    );
  });
  after(() => child.stop());

  it('counts the bytes allocated between two signals, and only those', async () => {
    await allocated;
    const burst = await probe(child);
    assert.ok(burst !== undefined, 'the probe answered');
    // 10,000 × (1,000 slots × 8 bytes + headers): 80 MB, estimated from ~1,200 samples.
    assert.ok(burst > 64e6 && burst < 100e6, `the burst counted ${burst} bytes, not about 80 MB`);
    const quiet = await probe(child);
    assert.ok(quiet !== undefined && quiet < 4e6, `an idle second counted ${quiet} bytes`);
  });
});
