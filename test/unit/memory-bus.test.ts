/**
 * The in-process bus copies what a subscriber could change and shares what nobody can: a deeply
 * frozen payload (a stored message's fields, frozen by MessagingService) reaches subscribers as is.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBus } from '../../src/bus/memory.js';

async function deliver(payload: unknown): Promise<unknown> {
  const bus = new MemoryBus();
  let got: unknown;
  await bus.subscribe('s', (p) => {
    got = p;
  });
  await bus.publish('s', payload);
  await new Promise((r) => setImmediate(r));
  return got;
}

describe('MemoryBus payloads', () => {
  it('copies plain objects, shares deeply frozen ones', async () => {
    const fields = Object.freeze({ '1': 'bob', '9': 'hi' });
    const event = { type: 'p2p', fields, nested: { a: 1 } };
    const got = (await deliver(event)) as typeof event;
    assert.deepEqual(got, event);
    assert.notEqual(got, event, 'the event itself is copied');
    assert.notEqual(got.nested, event.nested);
    assert.equal(got.fields, fields, 'the frozen fields are shared');
  });

  it('copies a frozen object that holds something mutable', async () => {
    const inner = { a: 1 };
    const outer = Object.freeze({ inner });
    const got = (await deliver(outer)) as typeof outer;
    assert.notEqual(got, outer);
    assert.notEqual(got.inner, inner);
    assert.deepEqual(got, outer);
  });
});
