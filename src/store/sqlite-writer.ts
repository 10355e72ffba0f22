/**
 * The SQLite writer thread: it owns the store's only write connection. The store posts the writes of
 * each event-loop turn as one message; every message that arrives while a COMMIT is in progress
 * joins the next group, so under load one fsync covers many requests and none of it runs on the
 * thread that serves HTTP and WebSocket traffic. Results go back only after COMMIT returned.
 * WAL checkpoints run on a thread of their own beside this one (sqlite-checkpoints.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { type CheckpointerData, CheckpointRecord, WriterCheckpoints } from './sqlite-checkpoints.js';
import {
  CommitRecord,
  type FromWriter,
  openConnection,
  SqliteWriteExecutor,
  type ToWriter,
  type WriteOp,
  type WriterData,
} from './sqlite-writes.js';
import { spawnStoreWorker } from './worker.js';

if (!parentPort) throw new Error('sqlite-writer.ts runs as a worker thread');
const port = parentPort;
const data = workerData as WriterData;
const db = openConnection(data.path, data.durability, Database);
const executor = new SqliteWriteExecutor(db, data.key);
const commits = new CommitRecord(data.commits);

// Checkpoints run beside this thread, not inside its COMMITs (sqlite-checkpoints.ts), once the
// checkpointer has started: until its first round, SQLite's automatic checkpoint stays on.
const checkpoints = new WriterCheckpoints(new CheckpointRecord(), data.checkpoints);
const checkpointer = spawnStoreWorker('sqlite-checkpointer', {
  path: data.path,
  durability: data.durability,
  record: checkpoints.record.buffer,
  intervalMs: data.checkpoints.intervalMs,
} satisfies CheckpointerData);
// Its exit is awaited on close; until then it must not keep this thread (or the process) alive.
checkpointer.unref();
let closing = false;
let handedOver = false;
const checkpointerExited = new Promise((resolve) =>
  checkpointer.once('exit', () => {
    // Lost before close (it failed to start, say): SQLite's own checkpoints take over again.
    if (!closing && handedOver) db.pragma('wal_autocheckpoint = 1000');
    resolve(undefined);
  }),
);
checkpointer.on('error', () => {
  // Reported by its exit, above.
});
const walCheckpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');

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
  // After the results are out: this delays the next group, never this one's answers.
  if (!handedOver && checkpoints.record.read().round > 0) {
    db.pragma('wal_autocheckpoint = 0');
    handedOver = true;
  }
  if (checkpoints.due()) {
    try {
      walCheckpoint.get();
    } catch {
      // Retried after the checkpointer's next round; COMMITs do not depend on it.
    }
  }
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
      closing = true;
      checkpoints.record.stop();
      checkpointerExited.then(() => {
        db.close();
        port.postMessage({ type: 'closed' } satisfies FromWriter);
        port.close();
      });
      return;
  }
});
