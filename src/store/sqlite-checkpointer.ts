/**
 * The SQLite checkpointer thread (see sqlite-checkpoints.ts): its own connection runs a PASSIVE
 * checkpoint every 50 ms, beside the writer thread, and reports the WAL's size and how
 * much of it was copied. It never writes rows and never takes the write lock.
 */
import { workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { type CheckpointerData, CheckpointRecord, type CheckpointRow } from './sqlite-checkpoints.js';
import { openConnection } from './sqlite-writes.js';

const MAX_FAILED_ROUNDS = 20;
const data = workerData as CheckpointerData;
const record = new CheckpointRecord(data.record);
const db = openConnection(data.path, data.durability, Database);
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
try {
  // Blocking between rounds is fine: this thread has nothing else to do, and stop() wakes it.
  let failures = 0;
  while (record.wait(data.intervalMs)) {
    let row: CheckpointRow;
    try {
      row = checkpoint.get() as CheckpointRow;
      failures = 0;
    } catch {
      // An I/O error, say: the next round tries again. Failing round after round, the thread ends,
      // and the writer hands the WAL back to SQLite's automatic checkpoint.
      if (++failures >= MAX_FAILED_ROUNDS) break;
      continue;
    }
    // busy: another connection (the writer) was checkpointing; its figures are then -1.
    if (row.busy === 0 && row.log >= 0) record.report(row.log, row.checkpointed);
  }
} finally {
  db.close();
}
