/** When the SQLite writer trusts the checkpointer and when it checkpoints itself (src/store/sqlite-checkpoints.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import {
  CheckpointRecord,
  NoticeGate,
  StateChangeGate,
  type StoreNotice,
  WriterCheckpoints,
} from '../../src/store/sqlite-checkpoints.js';

const limits = { restartFrames: 100, hardFrames: 1000, staleMs: 1000 };
const OFF = { autocheckpoint: false, checkpoint: false };
const ON = { autocheckpoint: true, checkpoint: false };
const NOTHING = { autocheckpoint: undefined, checkpoint: false };
const CHECKPOINT = { autocheckpoint: undefined, checkpoint: true };

/** A writer that has seen the checkpointer's first report (automatic checkpoint switched off). */
function trusting() {
  const record = new CheckpointRecord();
  const w = new WriterCheckpoints(record, limits);
  record.report(1, 1);
  assert.deepEqual(w.next(0), OFF);
  return { record, w };
}

describe('WriterCheckpoints', () => {
  it('leaves SQLite its automatic checkpoint until the first report', () => {
    const w = new WriterCheckpoints(new CheckpointRecord(), limits);
    assert.deepEqual(w.next(0), NOTHING);
    assert.deepEqual(w.next(5000), NOTHING);
  });

  it('switches it off at the first report, then checkpoints once a large WAL was copied completely', () => {
    const { record, w } = trusting();
    record.report(99, 99);
    assert.deepEqual(w.next(10), NOTHING, 'a small WAL is left to grow');
    record.report(100, 100);
    assert.deepEqual(w.next(20), CHECKPOINT);
  });

  it('does not checkpoint while the checkpointer is behind, below the hard limit; does at it', () => {
    const { record, w } = trusting();
    record.report(999, 500);
    assert.deepEqual(w.next(10), NOTHING);
    record.report(1000, 10);
    assert.deepEqual(w.next(20), CHECKPOINT);
  });

  it('checkpoints once per report, not after every group', () => {
    const { record, w } = trusting();
    record.report(200, 200);
    assert.deepEqual(w.next(10), CHECKPOINT);
    assert.deepEqual(w.next(11), NOTHING, 'same round: the writer already checkpointed');
    record.report(5000, 5000);
    assert.deepEqual(w.next(12), CHECKPOINT, 'a new round');
  });

  it('switches the automatic checkpoint back on when the reports stop, and off when they resume', () => {
    const { record, w } = trusting();
    assert.deepEqual(w.next(1000), NOTHING, 'still within staleMs of the last report');
    record.report(5000, 5000);
    assert.deepEqual(w.next(1500), CHECKPOINT);
    // No report since t=1500 (the thread hangs, or fails every round).
    assert.deepEqual(w.next(2501), ON);
    assert.deepEqual(w.next(3000), NOTHING, 'untrusted: no checkpoint of its own');
    record.report(6000, 6000);
    assert.deepEqual(w.next(3100), OFF);
    assert.deepEqual(w.next(3101), CHECKPOINT);
  });

  it('counts an idle round (nothing committed since the last) as a sign of life', () => {
    const { record, w } = trusting();
    record.committed();
    const before = record.commits();
    record.idle();
    assert.equal(record.commits(), before, "the commit counter is the writer's alone");
    assert.deepEqual(w.next(1500), NOTHING, 'an idle round at t=1500 keeps the trust');
    record.idle();
    assert.deepEqual(w.next(3000), NOTHING);
    assert.deepEqual(w.next(5001), ON, 'no round at all for longer than staleMs');
  });

  it('switches it back on for good once the thread is lost, even with a fresh report', () => {
    const { record, w } = trusting();
    record.report(5000, 5000);
    w.lost();
    assert.deepEqual(w.next(10), ON);
    record.report(6000, 6000);
    assert.deepEqual(w.next(20), NOTHING);
  });

  it('wakes a checkpointer waiting on another thread at once on stop', async () => {
    const record = new CheckpointRecord();
    // The same wait as CheckpointRecord.wait (a worker cannot import the .ts sources here).
    const waiter = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const slots = new Int32Array(workerData);
       parentPort.postMessage('waiting');
       parentPort.postMessage(Atomics.wait(slots, 0, 0, 30000));`,
      { eval: true, workerData: record.buffer },
    );
    const answers: unknown[] = [];
    const done = new Promise<void>((resolve) =>
      waiter.on('message', (m) => {
        answers.push(m);
        if (answers.length === 2) resolve();
      }),
    );
    await new Promise((r) => waiter.once('message', r));
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    record.stop();
    await done;
    assert.ok(performance.now() - t0 < 10_000);
    assert.notEqual(answers[1], 'timed-out', 'woken by notify');
    assert.equal(record.wait(10_000), false, 'and stays stopped');
    await waiter.terminate();
  });
});

describe('NoticeGate', () => {
  const failed: StoreNotice = { level: 'warn', event: 'checkpoint-failed', message: 'failed', error: 'EIO' };
  const stale: StoreNotice = { level: 'warn', event: 'checkpointer-stale', message: 'stale' };

  it('passes one notice per event per interval, and counts what it held back', () => {
    const gate = new NoticeGate(1000);
    assert.deepEqual(gate.pass(failed, 0), failed);
    assert.equal(gate.pass(failed, 10), undefined);
    assert.equal(gate.pass(failed, 999), undefined);
    // Another event has its own interval.
    assert.deepEqual(gate.pass(stale, 500), stale);
    assert.deepEqual(gate.pass(failed, 1000), { ...failed, repeated: 2 });
    // Nothing held back since: no count.
    assert.deepEqual(gate.pass(failed, 2000), failed);
  });

  it('hands out what it held back once the interval is over, even if the event never recurs', () => {
    const gate = new NoticeGate(1000);
    const later: StoreNotice = { ...failed, error: 'ENOSPC' };
    assert.deepEqual(gate.pass(failed, 0), failed);
    assert.equal(gate.pass(failed, 100), undefined);
    assert.equal(gate.pass(later, 200), undefined);
    assert.deepEqual(gate.due(999), [], 'not before the interval ends');
    // The latest held notice, with the one held before it counted.
    assert.deepEqual(gate.due(1000), [{ ...later, repeated: 1 }]);
    assert.deepEqual(gate.due(5000), [], 'handed out once');
    // A new interval started with it: the next notice is held until it ends.
    assert.equal(gate.pass(failed, 1500), undefined);
    assert.deepEqual(gate.due(2000), [failed]);
  });
});

describe('StateChangeGate', () => {
  const stale: StoreNotice = { level: 'warn', event: 'checkpointer-stale', message: 'stale' };
  const resumed: StoreNotice = { level: 'info', event: 'checkpointer-resumed', message: 'resumed' };

  it('passes state changes as they happen, up to its burst per interval', () => {
    const gate = new StateChangeGate(2, 1000);
    assert.deepEqual(gate.pass(stale, 0), stale);
    assert.deepEqual(gate.pass(resumed, 10), resumed);
    assert.equal(gate.due(5000), undefined, 'nothing held');
    // A new interval: two more pass.
    assert.deepEqual(gate.pass(stale, 5000), stale);
    assert.deepEqual(gate.pass(resumed, 5001), resumed);
  });

  it('a flapping state: later changes are held, and the latest goes out when the interval ends, with the count', () => {
    const gate = new StateChangeGate(2, 1000);
    assert.deepEqual(gate.pass(stale, 0), stale);
    assert.deepEqual(gate.pass(resumed, 100), resumed);
    assert.equal(gate.pass(stale, 200), undefined);
    assert.equal(gate.pass(resumed, 300), undefined);
    assert.equal(gate.pass(stale, 400), undefined);
    assert.equal(gate.due(999), undefined, 'not before the interval ends');
    // The current state (stale), standing for the two changes held before it.
    assert.deepEqual(gate.due(1000), { ...stale, repeated: 2 });
    assert.equal(gate.due(5000), undefined, 'handed out once');
    // It counted as the first change of a new interval: one more passes, the next is held
    // even after that interval's end until due() hands it out.
    assert.deepEqual(gate.pass(resumed, 1100), resumed);
    assert.equal(gate.pass(stale, 1200), undefined);
    assert.equal(gate.pass(resumed, 2500), undefined, 'held behind the one still held');
    assert.deepEqual(gate.due(2500), { ...resumed, repeated: 1 });
  });

  it('forget() drops a held change (the checkpointer exited: its exit is the last word)', () => {
    const gate = new StateChangeGate(1, 1000);
    assert.deepEqual(gate.pass(stale, 0), stale);
    assert.equal(gate.pass(resumed, 10), undefined);
    gate.forget();
    assert.equal(gate.due(1000), undefined);
  });
});
