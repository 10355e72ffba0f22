/**
 * PostgresStore's insert thread: it receives each group of account inserts as one message (the
 * creates of one or more event-loop turns, tokens in the clear), seals the tokens, runs the group's
 * statement on a pool of its own and posts the per-row results back after COMMIT. So the AES-GCM
 * sealing, building the statement's parameters, the socket write that wakes the backend and reading
 * its answer all run beside the event loop that serves HTTP, as on SQLite (sqlite-writer.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import { AccountInserter, type EncodedGroup, type InsertResult } from './postgres-inserts.js';

export interface PgWriterData {
  url: string;
  maxConnections: number;
  key: Uint8Array;
}

export type ToPgWriter =
  | { type: 'insert'; id: number; group: EncodedGroup }
  | { type: 'key'; key: Uint8Array }
  | { type: 'close' };

export type FromPgWriter =
  | { type: 'results'; id: number; results: InsertResult[] }
  | { type: 'failed'; id: number; message: string }
  | { type: 'closed' };

if (!parentPort) throw new Error('postgres-writer.ts runs as a worker thread');
const port = parentPort;
const data = workerData as PgWriterData;
const pool = new pg.Pool({
  connectionString: data.url,
  max: data.maxConnections,
  application_name: 'nimbase-writer',
});
pool.on('error', () => {}); // an idle client lost its server: the next query opens a fresh one
let inserter = new AccountInserter(pool, data.key);
const running = new Set<Promise<void>>();

port.on('message', (m: ToPgWriter) => {
  switch (m.type) {
    case 'insert': {
      const p = inserter
        .insertGroup(m.group)
        .then(
          (results) => port.postMessage({ type: 'results', id: m.id, results } satisfies FromPgWriter),
          (err: unknown) =>
            port.postMessage({ type: 'failed', id: m.id, message: String((err as Error)?.message ?? err) }),
        )
        .finally(() => running.delete(p));
      running.add(p);
      return;
    }
    case 'key':
      inserter = new AccountInserter(pool, m.key);
      return;
    case 'close':
      void Promise.allSettled(running)
        .then(() => pool.end())
        .finally(() => {
          port.postMessage({ type: 'closed' } satisfies FromPgWriter);
          port.close();
        });
      return;
  }
});
