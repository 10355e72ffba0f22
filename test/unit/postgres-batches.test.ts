/** TurnBatcher (store/postgres-batches.ts): groups per turn, the in-flight limit, and early answers (Settle); no database needed. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runGroup, type Settle, TurnBatcher } from '../../src/store/postgres-batches.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A statement the test finishes by hand. */
function deferred() {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return { done, finish };
}

/**
 * A batcher with one statement at a time whose statements the test finishes (`statements[i].finish()`),
 * logging `start a,b` when a group is sent and `answer a,b` when its callers are answered.
 */
function batcher(withSettle: boolean) {
  const log: string[] = [];
  const statements: ReturnType<typeof deferred>[] = [];
  const b = new TurnBatcher<string>(
    async (group) => {
      log.push(`start ${group.join(',')}`);
      const s = deferred();
      statements.push(s);
      await s.done;
      const answer = () => {
        log.push(`answer ${group.join(',')}`);
      };
      if (withSettle) return answer satisfies Settle;
      answer();
      return undefined;
    },
    1,
    100,
  );
  return { b, log, statements };
}

describe('TurnBatcher', () => {
  it("one statement at a time: what arrives meanwhile goes together in the next, after the first's end", async () => {
    const { b, log, statements } = batcher(false);
    b.add('a');
    b.add('b');
    await turn();
    b.add('c');
    b.add('d');
    await turn();
    assert.deepEqual(log, ['start a,b']);
    statements[0]!.finish();
    await turn();
    await turn();
    assert.deepEqual(log, ['start a,b', 'answer a,b', 'start c,d']);
    statements[1]!.finish();
    await b.drain();
    assert.deepEqual(log, ['start a,b', 'answer a,b', 'start c,d', 'answer c,d']);
  });

  it('a Settle frees the slot first: the next group is sent before the callers of the last are answered', async () => {
    const { b, log, statements } = batcher(true);
    b.add('a');
    await turn();
    b.add('b');
    b.add('c');
    await turn();
    assert.deepEqual(log, ['start a']);
    statements[0]!.finish();
    await turn();
    assert.deepEqual(log, ['start a', 'start b,c', 'answer a']);
    statements[1]!.finish();
    await turn();
    assert.deepEqual(log, ['start a', 'start b,c', 'answer a', 'answer b,c']);
  });

  it('drain() waits until the callers of the last statement were answered', async () => {
    const { b, log, statements } = batcher(true);
    b.add('a');
    await turn();
    const drained = b.drain();
    statements[0]!.finish();
    await drained;
    assert.deepEqual(log, ['start a', 'answer a']);
  });
});

describe('runGroup with a Settle', () => {
  type Item = { id: number; got?: string; reject(err: unknown): void };
  const item = (id: number): Item => ({
    id,
    reject(err: unknown) {
      this.got = `rejected ${(err as Error).message}`;
    },
  });

  it("passes the statement's Settle on, without calling it", async () => {
    const group = [item(1), item(2)];
    const settle = await runGroup(group, async (g) => () => {
      for (const i of g) i.got = 'ok';
    });
    assert.equal(typeof settle, 'function');
    assert.ok(group.every((i) => i.got === undefined));
    settle!();
    assert.ok(group.every((i) => i.got === 'ok'));
  });

  it('split after a data error: each item is answered (its Settle called) before the next runs', async () => {
    const group = [item(1), item(2), item(3)];
    const log: string[] = [];
    const settle = await runGroup(group, async (g) => {
      log.push(`run ${g.map((i) => i.id).join(',')}`);
      if (g.length > 1 || g[0]!.id === 2) throw Object.assign(new Error('bad'), { code: '22003' });
      return () => {
        log.push(`answer ${g[0]!.id}`);
        g[0]!.got = 'ok';
      };
    });
    assert.equal(settle, undefined);
    assert.deepEqual(log, ['run 1,2,3', 'run 1', 'answer 1', 'run 2', 'run 3', 'answer 3']);
    assert.deepEqual(
      group.map((i) => i.got),
      ['ok', 'rejected bad', 'ok'],
    );
  });
});
