/**
 * The SQLite writer thread: it owns the store's only write connection. The store posts the writes of
 * each event-loop turn as one message; every message that arrives while a COMMIT is in progress
 * joins the next group, so under load one fsync covers many requests and none of it runs on the
 * thread that serves HTTP and WebSocket traffic. Results go back only after COMMIT returned.
 * WAL checkpoints run on a thread of their own beside this one (sqlite-checkpoints.ts).
 */
import { parentPort, type Worker, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import {
  type CheckpointerData,
  CheckpointRecord,
  type CheckpointSettings,
  NoticeGate,
  StateChangeGate,
  type StoreNotice,
  WriterCheckpoints,
} from './sqlite-checkpoints.js';
import {
  CommitRecord,
  type FromWriter,
  openConnection,
  SqliteWriteExecutor,
  type ToWriter,
  type WriteOp,
  type WriterData,
  writeErrorOf,
} from './sqlite-writes.js';
import { spawnStoreWorker } from './worker.js';

if (!parentPort) throw new Error('sqlite-writer.ts runs as a worker thread');
const port = parentPort;
const data = workerData as WriterData;
const db = openConnection(data.path, data.durability, Database);
const executor = new SqliteWriteExecutor(db, data.key, data.resendWindow);
const commits = new CommitRecord(data.commits);
const notices = new NoticeGate();
const stateChanges = new StateChangeGate();

const post = (notice: StoreNotice) => port.postMessage({ type: 'notice', notice } satisfies FromWriter);

/**
 * Passes a notice on to the store (which logs it). Repeating troubles go through their gate (one
 * per event a minute); a change of state (`gated` false) goes at once, so the log's last word is
 * the checkpointer's current state, unless it flaps (StateChangeGate: four a minute, then the
 * latest when the minute is over).
 */
function notify(notice: StoreNotice, gated = true): void {
  const now = performance.now();
  const passed = gated ? notices.pass(notice, now) : stateChanges.pass(notice, now);
  if (passed) post(passed);
}
// What the gates held back goes out once its minute is over, even if nothing of it recurs.
setInterval(() => {
  const now = performance.now();
  for (const notice of notices.due(now)) post(notice);
  const state = stateChanges.due(now);
  if (state) post(state);
}, 10_000).unref();

const errorText = (err: unknown) => String((err as Error)?.message ?? err);

/** Bytes: twice the WAL at its usual restart (4,000 frames of 4 KiB). */
const WAL_FILE_LIMIT = 32 * 1024 * 1024;
/** SQLite's default `wal_autocheckpoint`, in pages. */
const SQLITE_AUTOCHECKPOINT = 1000;

/**
 * WAL checkpoints beside this thread, not inside its COMMITs (sqlite-checkpoints.ts). The
 * checkpointer thread starts after `startAfterGroups` groups (a CLI command that writes once never
 * starts it); SQLite's automatic checkpoint stays on until its first report, and comes back on
 * whenever its reports stop (the thread lost, hung or failing). A lost thread is not started again.
 */
class Checkpoints {
  readonly #rule: WriterCheckpoints;
  readonly #checkpoint: Database.Statement;
  #thread: Worker | undefined;
  #exited: Promise<void> = Promise.resolve();
  #groups = 0;
  #closing = false;
  #unavailable = false;
  #startedAt = 0;
  /** The log was told the checkpointer is silent, and has not yet been told it reports again. */
  #silent = false;
  #lost = false;

  constructor(readonly settings: CheckpointSettings) {
    this.#rule = new WriterCheckpoints(new CheckpointRecord(), settings);
    this.#checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  }

  /** After a group's results are out: this may delay the next group, never this one's answers. */
  afterGroup(): void {
    this.#rule.record.committed();
    if (!this.#thread) {
      if (++this.#groups >= this.settings.startAfterGroups && !this.#closing && !this.#unavailable)
        this.#start();
      return;
    }
    const now = performance.now();
    const step = this.#rule.next(now);
    // A thread that never made its first report (hung opening the database, say) is as silent as
    // one that stopped; SQLite's automatic checkpoint simply stays on meanwhile.
    if (
      step.autocheckpoint === undefined &&
      this.#rule.untried() &&
      !this.#silent &&
      !this.#lost &&
      now - this.#startedAt > this.settings.staleMs
    ) {
      this.#silent = true;
      notify(
        {
          level: 'warn',
          event: 'checkpointer-stale',
          message: `the WAL checkpointer thread has not made its first report in ${this.settings.staleMs} ms: SQLite's automatic checkpoint stays on until it does`,
        },
        false,
      );
    }
    if (step.autocheckpoint !== undefined) {
      db.pragma(`wal_autocheckpoint = ${step.autocheckpoint ? SQLITE_AUTOCHECKPOINT : 0}`);
      this.#trustChanged(!step.autocheckpoint);
    }
    if (step.checkpoint) {
      try {
        this.#checkpoint.get();
      } catch (err) {
        // Retried after the checkpointer's next round; COMMITs do not depend on it.
        notify({
          level: 'warn',
          event: 'checkpoint-failed',
          message:
            "the writer's WAL checkpoint failed; it is tried again after the checkpointer's next round",
          error: errorText(err),
        });
      }
    }
  }

  #trustChanged(trusted: boolean): void {
    if (trusted && this.#silent)
      notify(
        {
          level: 'info',
          event: 'checkpointer-resumed',
          message: "the WAL checkpointer thread reports again: SQLite's automatic checkpoint is off again",
        },
        false,
      );
    else if (!trusted && !this.#lost)
      notify(
        {
          level: 'warn',
          event: 'checkpointer-stale',
          message: `the WAL checkpointer thread has not reported for ${this.settings.staleMs} ms (hung or failing): SQLite's automatic checkpoint is back on until it reports`,
        },
        false,
      );
    this.#silent = !trusted && !this.#lost;
  }

  #start(): void {
    let thread: Worker;
    try {
      thread = spawnStoreWorker('sqlite-checkpointer', {
        path: data.path,
        durability: data.durability,
        record: this.#rule.record.buffer,
        intervalMs: this.settings.intervalMs,
      } satisfies CheckpointerData);
    } catch (err) {
      // No thread to be had: SQLite's own checkpoints, as before.
      this.#unavailable = true;
      notify({
        level: 'warn',
        event: 'checkpointer-unavailable',
        message: 'the WAL checkpointer thread could not start: SQLite checkpoints inside commits instead',
        error: errorText(err),
      });
      return;
    }
    this.#startedAt = performance.now();
    // Its failed rounds, passed on to the store's log.
    thread.on('message', (notice: StoreNotice) => notify(notice));
    // Its exit is awaited on close; until then it must not keep this thread (or the process) alive.
    thread.unref();
    let failure: string | undefined;
    thread.on('error', (err) => {
      // Reported with its exit, below.
      failure = errorText(err);
    });
    this.#exited = new Promise((resolve) =>
      thread.once('exit', (code) => {
        // Lost before close: SQLite's own checkpoints take over at the next group.
        this.#rule.lost();
        this.#lost = true;
        // Its exit is the last word on it: a state change held back must not follow it in the log.
        stateChanges.forget();
        if (!this.#closing)
          notify({
            level: 'warn',
            event: 'checkpointer-exited',
            message: `the WAL checkpointer thread exited (code ${code}): SQLite's automatic checkpoint is back on`,
            error: failure,
          });
        resolve();
      }),
    );
    this.#thread = thread;
  }

  /** Stops the checkpointer; resolves once it has exited (its connection closed). */
  close(): Promise<void> {
    this.#closing = true;
    this.#rule.record.stop();
    return this.#exited;
  }
}
const checkpoints = new Checkpoints(data.checkpoints);
// After an excursion (a checkpointer that fell behind, a long read holding old frames), the WAL
// file is cut back to this size at its next restart; in steady state it stays below.
db.pragma(`journal_size_limit = ${WAL_FILE_LIMIT}`);

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
  checkpoints.afterGroup();
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
    case 'warm': {
      let reply: FromWriter;
      try {
        reply = { type: 'warm', messages: executor.fill() };
      } catch (err) {
        reply = { type: 'warm', messages: 0, error: writeErrorOf(err) };
      }
      port.postMessage(reply);
      return;
    }
    case 'close':
      flush();
      checkpoints.close().then(() => {
        db.close();
        port.postMessage({ type: 'closed' } satisfies FromWriter);
        port.close();
      });
      return;
  }
});
