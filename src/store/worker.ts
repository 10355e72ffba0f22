/**
 * Starts one of the store's worker threads (the SQLite writer, the PostgreSQL insert thread) from
 * its own file beside this one: dist/store/<name>.js. Run from the .ts sources (tests, `tsx`), a
 * worker does not inherit tsx's loader (Node 20), so it registers it before importing the source.
 */
import { Worker } from 'node:worker_threads';

export function spawnStoreWorker(name: string, workerData: unknown): Worker {
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL(`./${name}.js`, import.meta.url), { workerData });
  const source = JSON.stringify(new URL(`./${name}.ts`, import.meta.url).href);
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${source}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}
