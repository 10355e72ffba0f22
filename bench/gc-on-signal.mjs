// Bench-only preload (`node --expose-gc --import ./bench/gc-on-signal.mjs …`): SIGUSR2 runs a full
// garbage collection, so a memory reading counts live objects, not garbage the GC has not yet
// reclaimed. The harness sends the signal to the relay and to nimbase alike before each RSS reading.
process.on('SIGUSR2', () => globalThis.gc?.());
