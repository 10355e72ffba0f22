/** When the SQLite writer runs a WAL checkpoint itself (src/store/sqlite-checkpoints.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CheckpointRecord, WriterCheckpoints } from '../../src/store/sqlite-checkpoints.js';

const limits = { restartFrames: 100, hardFrames: 1000 };

describe('WriterCheckpoints', () => {
  it('is not due before the checkpointer reported anything', () => {
    assert.equal(new WriterCheckpoints(new CheckpointRecord(), limits).due(), false);
  });

  it('is due once the checkpointer copied a WAL of restartFrames or more completely', () => {
    const record = new CheckpointRecord();
    const w = new WriterCheckpoints(record, limits);
    record.report(99, 99);
    assert.equal(w.due(), false, 'a small WAL is left to grow');
    record.report(100, 100);
    assert.equal(w.due(), true);
  });

  it('is not due while the checkpointer is behind, below the hard limit', () => {
    const record = new CheckpointRecord();
    const w = new WriterCheckpoints(record, limits);
    record.report(999, 500);
    assert.equal(w.due(), false);
  });

  it('is due at the hard limit, caught up or not', () => {
    const record = new CheckpointRecord();
    const w = new WriterCheckpoints(record, limits);
    record.report(1000, 10);
    assert.equal(w.due(), true);
  });

  it('is due once per report, not after every group', () => {
    const record = new CheckpointRecord();
    const w = new WriterCheckpoints(record, limits);
    record.report(200, 200);
    assert.equal(w.due(), true);
    assert.equal(w.due(), false, 'same round: the writer already checkpointed');
    record.report(5000, 5000);
    assert.equal(w.due(), true, 'a new round');
  });

  it('stops waiting once stopped', () => {
    const record = new CheckpointRecord();
    const t0 = performance.now();
    record.stop();
    assert.equal(record.wait(10_000), false);
    assert.ok(performance.now() - t0 < 5_000);
  });
});
