/** CommitRecord: what the SQLite writer thread publishes after each COMMIT for the store's cache check. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommitRecord } from '../../src/store/sqlite-writes.js';

describe('CommitRecord', () => {
  it('starts with nothing written', () => {
    assert.deepEqual(CommitRecord.create().read(), { last: -1, foreign: 0 });
  });

  it('counts the first group, a gap between two groups, and a failed group as foreign', () => {
    const record = CommitRecord.create();
    const writer = new CommitRecord(record.buffer); // the writer thread's view of the same memory
    writer.committed(4, 5); // first group: what came before it is unknown
    assert.deepEqual(record.read(), { last: 5, foreign: 1 });
    writer.committed(5, 6); // chained: ours alone
    writer.committed(6, 6); // changed nothing
    assert.deepEqual(record.read(), { last: 6, foreign: 1 });
    writer.committed(8, 9); // 6 → 8: someone else committed in between
    assert.deepEqual(record.read(), { last: 9, foreign: 2 });
    writer.committed(undefined, undefined); // the group failed: the generation is unknown
    assert.deepEqual(record.read(), { last: -1, foreign: 3 });
    writer.committed(9, 10); // after a failure nothing is chained
    assert.deepEqual(record.read(), { last: 10, foreign: 4 });
  });
});
