/**
 * The SQLite writer thread: it owns the store's only write connection. The store posts the writes of
 * each event-loop turn as one message; every message that arrives while a COMMIT is in progress
 * joins the next group, so under load one fsync covers many requests and none of it runs on the
 * thread that serves HTTP and WebSocket traffic. Results go back only after COMMIT returned.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import {
  CommitRecord,
  type FromWriter,
  openConnection,
  SqliteWriteExecutor,
  type ToWriter,
  type WriteOp,
  type WriterData,
} from './sqlite-writes.js';

if (!parentPort) throw new Error('sqlite-writer.ts runs as a worker thread');
const port = parentPort;
const data = workerData as WriterData;
const db = openConnection(data.path, data.durability, Database);
const executor = new SqliteWriteExecutor(db, data.key);
const commits = new CommitRecord(data.commits);

let queued: { id: number; ops: WriteOp[] }[] = [];
let scheduled = false;

function flush(): void {
  scheduled = false;
  const batches = queued;
  queued = [];
  if (batches.length === 0) return;
  const all = batches.length === 1 ? batches[0]!.ops : batches.flatMap((b) => b.ops);
  const result = executor.runGroup(all);
  // Published before the results leave: the store may read the cache meanwhile (CommitRecord).
  commits.committed(result.before, result.after);
  const message: FromWriter = {
    type: 'results',
    ids: batches.map((b) => b.id),
    counts: batches.map((b) => b.ops.length),
    ...result,
  };
  port.postMessage(message);
}

port.on('message', (m: ToWriter) => {
  switch (m.type) {
    case 'ops':
      queued.push({ id: m.id, ops: m.ops });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
      return;
    case 'key':
      executor.useSealingKey(m.key);
      return;
    case 'close':
      flush();
      db.close();
      port.postMessage({ type: 'closed' } satisfies FromWriter);
      port.close();
      return;
  }
});
