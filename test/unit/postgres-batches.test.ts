/** TurnBatcher (store/postgres-batches.ts): groups per turn, the in-flight limit, and early answers (Settle); no database needed. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runGroup, type Settle, TurnBatcher } from '../../src/store/postgres-batches.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A statement the test finishes by hand. */
function deferred() {
  let finish!: () => void;
  let fail!: (err: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  return { done, finish, fail };
}

/** An item that remembers how it was answered. */
interface Item {
  name: string;
  got?: string;
  resolve(): void;
  reject(err: unknown): void;
}
const item = (name: string): Item => {
  const i: Item = {
    name,
    resolve() {
      i.got ??= 'ok';
    },
    reject(err: unknown) {
      // As a promise's: once answered, an item stays answered.
      i.got ??= `failed: ${(err as Error).message}`;
    },
  };
  return i;
};
const names = (group: Item[]) => group.map((i) => i.name).join(',');

/**
 * A batcher whose statements the test finishes (`statements[i].finish()`), logging `start a,b`
 * when a group's run starts, `sent a,b` when its statement would reach the socket (pg-pool writes
 * a query on process.nextTick when it has an idle client) and `answer a,b` when its callers are
 * answered. `throwIn` names an item whose answer throws.
 */
function batcher(o: { settle: boolean; maxInFlight?: number; throwIn?: string }) {
  const log: string[] = [];
  const statements: ReturnType<typeof deferred>[] = [];
  const b = new TurnBatcher<Item>(
    async (group) => {
      log.push(`start ${names(group)}`);
      process.nextTick(() => log.push(`sent ${names(group)}`));
      const s = deferred();
      statements.push(s);
      await s.done;
      const answer = () => {
        log.push(`answer ${names(group)}`);
        for (const i of group) {
          if (i.name === o.throwIn) throw new Error(`answering ${i.name}`);
          i.resolve();
        }
      };
      if (o.settle) return answer satisfies Settle;
      answer();
      return undefined;
    },
    o.maxInFlight ?? 1,
    100,
  );
  return { b, log, statements };
}

describe('TurnBatcher', () => {
  it("one statement at a time: what arrives meanwhile goes together in the next, after the first's end", async () => {
    const { b, log, statements } = batcher({ settle: false });
    b.add(item('a'));
    b.add(item('b'));
    await turn();
    b.add(item('c'));
    b.add(item('d'));
    await turn();
    assert.deepEqual(log, ['start a,b', 'sent a,b']);
    statements[0]!.finish();
    await turn();
    await turn();
    assert.deepEqual(log, ['start a,b', 'sent a,b', 'answer a,b', 'start c,d', 'sent c,d']);
    statements[1]!.finish();
    await b.drain();
    assert.equal(log.at(-1), 'answer c,d');
  });

  it('a Settle frees the slot first: the next statement is sent before the callers of the last are answered', async () => {
    const { b, log, statements } = batcher({ settle: true });
    b.add(item('a'));
    await turn();
    b.add(item('b'));
    b.add(item('c'));
    await turn();
    assert.deepEqual(log, ['start a', 'sent a']);
    statements[0]!.finish();
    await turn();
    assert.deepEqual(log, ['start a', 'sent a', 'start b,c', 'sent b,c', 'answer a']);
    statements[1]!.finish();
    await turn();
    assert.equal(log.at(-1), 'answer b,c');
  });

  it('two statements at once when allowed; a third group waits for one of them', async () => {
    const { b, log, statements } = batcher({ settle: true, maxInFlight: 2 });
    b.add(item('a'));
    await turn();
    b.add(item('b'));
    await turn();
    b.add(item('c'));
    await turn();
    assert.deepEqual(log, ['start a', 'sent a', 'start b', 'sent b']);
    statements[1]!.finish();
    await turn();
    assert.deepEqual(log.slice(4), ['start c', 'sent c', 'answer b']);
    statements[0]!.finish();
    statements[2]!.finish();
    await b.drain();
    assert.deepEqual(log.slice(7).sort(), ['answer a', 'answer c']);
  });

  it('drain() waits until the callers of the last statement were answered', async () => {
    const { b, log, statements } = batcher({ settle: true });
    b.add(item('a'));
    await turn();
    const drained = b.drain();
    statements[0]!.finish();
    await drained;
    assert.deepEqual(log, ['start a', 'sent a', 'answer a']);
  });

  it('a run that rejects fails its items and frees its slot: the next group still runs', async () => {
    const { b, statements } = batcher({ settle: true });
    const [a, c] = [item('a'), item('c')];
    b.add(a);
    await turn();
    b.add(c);
    statements[0]!.fail(new Error('lost connection'));
    await turn();
    assert.equal(a.got, 'failed: lost connection');
    assert.equal(c.got, undefined);
    statements[1]!.finish();
    await b.drain();
    assert.equal(c.got, 'ok');
  });

  it('a Settle that throws fails the items it did not answer, not the ones it did, and nothing else', async () => {
    const { b, statements } = batcher({ settle: true, throwIn: 'b' });
    const group = [item('a'), item('b'), item('c')];
    for (const i of group) b.add(i);
    await turn();
    const d = item('d');
    b.add(d);
    statements[0]!.finish();
    await turn();
    assert.deepEqual(
      group.map((i) => i.got),
      ['ok', 'failed: answering b', 'failed: answering b'],
    );
    statements[1]!.finish();
    await b.drain();
    assert.equal(d.got, 'ok');
  });
});

describe('runGroup with a Settle', () => {
  const sqlError = (code: string) => Object.assign(new Error(code), { code });

  it("passes the statement's Settle on, without calling it", async () => {
    const group = [item('1'), item('2')];
    const settle = await runGroup(group, async (g) => () => {
      for (const i of g) i.resolve();
    });
    assert.equal(typeof settle, 'function');
    assert.ok(group.every((i) => i.got === undefined));
    settle!();
    assert.ok(group.every((i) => i.got === 'ok'));
  });

  it('split after a data error: each item is answered (its Settle called) before the next runs', async () => {
    const group = [item('1'), item('2'), item('3'), item('4')];
    const log: string[] = [];
    const settle = await runGroup(group, async (g) => {
      log.push(`run ${names(g)}`);
      if (g.length > 1 || g[0]!.name === '2') throw sqlError('22003');
      return () => {
        log.push(`answer ${g[0]!.name}`);
        // Item 3's answer throws: it fails, and the split goes on.
        if (g[0]!.name === '3') throw new Error('answering 3');
        g[0]!.resolve();
      };
    });
    assert.equal(settle, undefined);
    assert.deepEqual(log, [
      'run 1,2,3,4',
      'run 1',
      'answer 1',
      'run 2',
      'run 3',
      'answer 3',
      'run 4',
      'answer 4',
    ]);
    assert.deepEqual(
      group.map((i) => i.got),
      ['ok', 'failed: 22003', 'failed: answering 3', 'ok'],
    );
  });
});
