/** answerGroup: each caller of a group commit gets its own op's result, across the group's batches. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerGroup } from '../../src/store/sqlite-write-path.js';

function caller() {
  const seen: { value?: unknown; error?: Error } = {};
  const resolve = (value: unknown) => {
    seen.value = value;
  };
  const reject = (e: unknown) => {
    seen.error = e as Error;
  };
  return { seen, resolve, reject };
}

describe('answerGroup', () => {
  it('maps values and failures over several batches, skipping a batch whose callers are gone', () => {
    const a = [caller(), caller()];
    const c = [caller(), caller(), caller()];
    answerGroup(
      [
        { pending: a, count: 2 },
        { pending: undefined, count: 1 }, // failed meanwhile: its op still has a slot
        { pending: c, count: 3 },
      ],
      {
        values: [true, null, 'gone', 7, null, false],
        failures: [
          {
            at: 1,
            error: { message: 'FOREIGN KEY constraint failed', code: 'SQLITE_CONSTRAINT_FOREIGNKEY' },
          },
          { at: 4, error: { message: 'boom' } },
        ],
        before: 1,
        after: 2,
      },
    );
    assert.equal(a[0]!.seen.value, true);
    assert.match(String(a[1]!.seen.error), /FOREIGN KEY/);
    assert.equal((a[1]!.seen.error as Error & { code?: string }).code, 'SQLITE_CONSTRAINT_FOREIGNKEY');
    assert.equal(c[0]!.seen.value, 7);
    assert.match(String(c[1]!.seen.error), /boom/);
    assert.equal(c[2]!.seen.value, false);
    assert.ok(
      c.every((x) => 'value' in x.seen !== 'error' in x.seen),
      'each caller answered once',
    );
  });

  it('fails every caller when the whole group failed, and a caller without a value', () => {
    const a = [caller(), caller()];
    const error = { message: 'database or disk is full', code: 'SQLITE_FULL' };
    answerGroup([{ pending: a, count: 2 }], {
      values: [],
      failures: [
        { at: 0, error },
        { at: 1, error },
      ],
      before: undefined,
      after: undefined,
    });
    assert.ok(a.every((x) => /disk is full/.test(String(x.seen.error))));
    const b = [caller()];
    answerGroup([{ pending: b, count: 1 }], { values: [], failures: [], before: 0, after: 0 });
    assert.match(String(b[0]!.seen.error), /no result/);
  });
});
