// Bench-only preload for the servers under test (`node --expose-gc --import ./bench/server-probe.mjs …`),
// the relay and nimbase alike. On SIGUSR2 it
//  1. counts the bytes the main thread allocated since the previous SIGUSR2 (or since it loaded).
//     V8's sampling heap profiler, keeping the samples of the objects the GC has already collected
//     too, samples one allocation per NIMBASE_BENCH_PROBE_INTERVAL_KIB KiB on average (64 without
//     it; the harness sets it from the window's length) and scales each sample, so the sum is an
//     unbiased estimate (within a few % once a few hundred samples were taken);
//  2. runs a full garbage collection, so that an RSS reading taken next counts live objects, not
//     garbage the GC has not yet reclaimed (nor the profile just read: it is dropped first);
//  3. answers with one stdout line `nimbase-bench-probe seq=<k> alloc-bytes=<n>`, k counting the
//     signals from 1, n = -1 when the count failed. The line comes after the GC, always, so a
//     harness that waits for answer k knows its GC is done.
// Worker threads inherit `--import`: there the preload does nothing (a signal never reaches them,
// and a profiler nobody stops would keep every sample).
import { Session } from 'node:inspector';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  const session = new Session();
  session.connect();
  const post = (method, params) =>
    new Promise((resolve, reject) =>
      session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
    );
  // The profiler keeps every sample until it is stopped (~200 bytes each, in the RSS), and stopping
  // it runs a full GC (so it is stopped only at a signal, between measured windows). The harness
  // sets the interval from the window's length (proc.ts, probeEnv), so that a window keeps about
  // ten thousand samples at most, however long it lasts.
  const intervalKiB = Number(process.env.NIMBASE_BENCH_PROBE_INTERVAL_KIB) || 64;
  const SAMPLING = {
    samplingInterval: intervalKiB * 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  };
  /** The bytes allocated under `node` and its callees (each node's selfSize is its scaled sample sum). */
  const total = (node) => node.children.reduce((sum, child) => sum + total(child), node.selfSize);
  const start = () => post('HeapProfiler.startSampling', SAMPLING);

  let seq = 0;
  const report = (err) =>
    process.stderr.write(`nimbase-bench-probe: no allocation count: ${err?.message ?? err}\n`);
  // A failure only costs the counts (answered -1): never an unhandled rejection in the server.
  let last = post('HeapProfiler.enable').then(start).catch(report);
  process.on('SIGUSR2', () => {
    const k = ++seq;
    const sampling = last;
    last = (async () => {
      let bytes = -1;
      try {
        await sampling;
        bytes = Math.round(total((await post('HeapProfiler.stopSampling')).profile.head));
      } catch (err) {
        report(err);
      }
      globalThis.gc?.();
      process.stdout.write(`nimbase-bench-probe seq=${k} alloc-bytes=${bytes}\n`);
      await start().catch(report);
    })();
  });
}
