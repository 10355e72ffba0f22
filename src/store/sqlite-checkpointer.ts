/**
 * The SQLite checkpointer thread (see sqlite-checkpoints.ts): its own connection runs a PASSIVE
 * checkpoint every 50 ms, beside the writer thread, and reports the WAL's size and how
 * much of it was copied. It never writes rows and never takes the write lock. A round with no
 * commit since the last complete one runs no statement: an idle server's checkpointer only wakes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import {
  type CheckpointerData,
  CheckpointRecord,
  type CheckpointRow,
  type StoreNotice,
} from './sqlite-checkpoints.js';
import { openConnection } from './sqlite-writes.js';

const MAX_FAILED_ROUNDS = 20;
const data = workerData as CheckpointerData;
const record = new CheckpointRecord(data.record);
const db = openConnection(data.path, data.durability, Database);
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
try {
  // Blocking between rounds is fine: this thread has nothing else to do, and stop() wakes it.
  let failures = 0;
  // Commits seen before the last round that completed: none since, nothing new to copy.
  let copiedUpTo: number | undefined;
  while (record.wait(data.intervalMs)) {
    const commits = record.commits();
    if (commits === copiedUpTo) {
      record.idle();
      continue;
    }
    let row: CheckpointRow;
    try {
      row = checkpoint.get() as CheckpointRow;
      failures = 0;
    } catch (err) {
      // An I/O error, say: the next round tries again. Failing round after round, the thread ends,
      // and the writer hands the WAL back to SQLite's automatic checkpoint. The writer passes
      // these on to the store's log (its NoticeGate keeps one a minute).
      const error = String((err as Error)?.message ?? err);
      const ending = ++failures >= MAX_FAILED_ROUNDS;
      parentPort?.postMessage({
        level: 'warn',
        event: ending ? 'checkpointer-gave-up' : 'checkpointer-round-failed',
        message: ending
          ? `a WAL checkpoint round failed ${failures} times in a row: the checkpointer thread ends`
          : 'a WAL checkpoint round failed; the next round tries again',
        error,
      } satisfies StoreNotice);
      if (ending) break;
      continue;
    }
    // busy: another connection (the writer) was checkpointing; its figures are then -1.
    if (row.busy === 0 && row.log >= 0) {
      record.report(row.log, row.checkpointed);
      // Everything copied (no reader held frames back): the next round waits for a commit.
      copiedUpTo = row.checkpointed === row.log ? commits : undefined;
    }
  }
} finally {
  db.close();
}
