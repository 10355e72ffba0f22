// Bench-only preload for the servers under test (`node --expose-gc --import ./bench/server-probe.mjs …`),
// the relay and nimbase alike. On SIGUSR2 it
//  1. reports the bytes the main thread allocated since the previous SIGUSR2 (or since it loaded):
//     one stdout line `nimbase-bench-probe alloc-bytes=<n>`. V8's sampling heap profiler, counting
//     the objects the GC has already collected too, samples one allocation per 64 KiB on average and
//     scales each sample, so the figure is an unbiased estimate (±1 % over a few seconds of load)
//     at a cost the load does not notice;
//  2. runs a full garbage collection, so that an RSS reading taken next counts live objects, not
//     garbage the GC has not yet reclaimed.
// The line is written after both, so a harness that waits for it knows the GC is done.
import { Session } from 'node:inspector';

const session = new Session();
session.connect();
const post = (method, params) =>
  new Promise((resolve, reject) =>
    session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
  );

const SAMPLING = {
  samplingInterval: 64 * 1024,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
};

/** The bytes allocated under `node` and its callees (each node's selfSize is its scaled sample sum). */
function total(node) {
  let bytes = node.selfSize;
  for (const child of node.children) bytes += total(child);
  return bytes;
}

let started = post('HeapProfiler.enable').then(() => post('HeapProfiler.startSampling', SAMPLING));

process.on('SIGUSR2', () => {
  started = started
    .then(() => post('HeapProfiler.stopSampling'))
    .then(({ profile }) => {
      globalThis.gc?.();
      const bytes = Math.round(total(profile.head));
      return post('HeapProfiler.startSampling', SAMPLING).then(() =>
        process.stdout.write(`nimbase-bench-probe alloc-bytes=${bytes}\n`),
      );
    })
    .catch((err) => process.stderr.write(`nimbase-bench-probe failed: ${err?.message ?? err}\n`));
});
