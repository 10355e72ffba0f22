/**
 * The bus contract: the same cases on every adapter. The memory bus is one node; the Redis bus also
 * runs the cross-node cases with two bus instances (two nodes) on one broker.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MemoryBus } from '../../src/bus/memory.js';
import type { Bus } from '../../src/bus/port.js';
import { RedisBus } from '../../src/bus/redis.js';
import { REDIS_URL, redisSkip } from '../helpers/redis.js';

interface Adapter {
  name: string;
  skip: string | false;
  crossNode: boolean;
  open(): Bus;
}

const ADAPTERS: Adapter[] = [
  { name: 'memory', skip: false, crossNode: false, open: () => new MemoryBus() },
  { name: 'redis', skip: await redisSkip(), crossNode: true, open: () => new RedisBus({ url: REDIS_URL }) },
];

/** Resolves the first `n` payloads a subscriber receives. */
function collect(bus: Bus, subject: string, n: number) {
  const got: unknown[] = [];
  let done!: (v: unknown[]) => void;
  const all = new Promise<unknown[]>((r) => {
    done = r;
  });
  const ready = bus.subscribe(subject, (p) => {
    got.push(p);
    if (got.length === n) done(got);
  });
  return { ready, all, got };
}

/** A unique subject per case: Redis is shared by every test run on the machine. */
const subject = () => `nimbase.test.${randomBytes(6).toString('hex')}`;

/** Gives a broker time to deliver what it would (wrongly) deliver; used only to assert absence. */
const settle = async (bus: Bus, s: string) => {
  const marker = collect(bus, `${s}.marker`, 1);
  await marker.ready;
  await bus.publish(`${s}.marker`, 'm');
  await marker.all;
};

for (const adapter of ADAPTERS) {
  describe(`Bus contract on ${adapter.name}`, { skip: adapter.skip }, () => {
    let bus: Bus;
    before(() => {
      bus = adapter.open();
    });
    after(() => bus.close());

    it('reports its kind and answers ping', async () => {
      assert.equal(bus.kind, adapter.name);
      assert.equal(await bus.ping(), true);
    });

    it('delivers a JSON payload to every subscriber, in publish order', async () => {
      const s = subject();
      const a = collect(bus, s, 3);
      const b = collect(bus, s, 3);
      await Promise.all([a.ready, b.ready]);
      const payloads = [{ type: 'kick', accid: 'zhang', n: 1 }, 'two', [3, null, true]];
      for (const p of payloads) await bus.publish(s, p);
      assert.deepEqual(await a.all, payloads);
      assert.deepEqual(await b.all, payloads);
    });

    it('gives subscribers copies, not the publisher’s object', async () => {
      const s = subject();
      const a = collect(bus, s, 1);
      await a.ready;
      const sent = { nested: { v: 1 } };
      await bus.publish(s, sent);
      const [got] = (await a.all) as [typeof sent];
      assert.deepEqual(got, sent);
      assert.notEqual(got, sent);
    });

    it('keeps subjects apart and stops delivery after unsubscribe', async () => {
      const s = subject();
      const other = collect(bus, `${s}.other`, 1);
      await other.ready;
      const got: unknown[] = [];
      const stop = await bus.subscribe(s, (p) => got.push(p));
      await bus.publish(s, 1);
      await settle(bus, s);
      stop();
      await bus.publish(s, 2);
      await settle(bus, s);
      assert.deepEqual(got, [1]);
      assert.deepEqual(other.got, []);
    });

    it('survives a handler that throws', async () => {
      const s = subject();
      await bus.subscribe(s, () => {
        throw new Error('handler bug');
      });
      const ok = collect(bus, s, 2);
      await ok.ready;
      await bus.publish(s, 'a');
      await bus.publish(s, 'b');
      assert.deepEqual(await ok.all, ['a', 'b']);
    });

    if (adapter.crossNode) {
      it('crosses nodes: a publish on one bus reaches subscribers on another', async () => {
        const nodeB = adapter.open();
        try {
          const s = subject();
          const onA = collect(bus, s, 2);
          const onB = collect(nodeB, s, 2);
          await Promise.all([onA.ready, onB.ready]);
          await bus.publish(s, { from: 'A' });
          await nodeB.publish(s, { from: 'B' });
          assert.deepEqual(((await onB.all) as { from: string }[]).map((p) => p.from).sort(), ['A', 'B']);
          assert.deepEqual(((await onA.all) as { from: string }[]).map((p) => p.from).sort(), ['A', 'B']);
        } finally {
          await nodeB.close();
        }
      });

      it('answers ping false once closed', async () => {
        const b = adapter.open();
        try {
          assert.equal(await b.ping(), true);
        } finally {
          await b.close();
        }
        assert.equal(await b.ping(), false);
      });
    }
  });
}
