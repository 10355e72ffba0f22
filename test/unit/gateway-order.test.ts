/**
 * The per-link FIFO of Gateway.receive: requests run in arrival order; a pipelined command starts
 * once the previous request has done its ordered part, any other once every earlier one is done.
 * Driven with test commands on a real Gateway, a fake link and handlers the test releases by hand.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Gateway } from '../../src/gateway/hub.js';
import type { Outgoing } from '../../src/gateway/packet.js';

function setup() {
  const gw = new Gateway({ now: Date.now, nodeId: 't', logger: pino({ level: 'silent' }) } as never);
  const events: string[] = [];
  const gates = new Map<number, { ordered: () => void; done: () => void }>();
  const handler = (name: string) => (_s: unknown, params: unknown[], ordered: () => void) => {
    const ser = params[0] as number;
    events.push(`start ${name}${ser}`);
    return new Promise<{ code: number; body: unknown[] }>((resolve) => {
      gates.set(ser, { ordered, done: () => resolve({ code: 200, body: [] }) });
    });
  };
  gw.table.define(
    { sid: 99, cid: 1, name: 'pipe', params: [], result: [], beforeLogin: true, pipelined: true },
    handler('p'),
  );
  gw.table.define(
    { sid: 99, cid: 2, name: 'plain', params: [], result: [], beforeLogin: true },
    handler('n'),
  );
  const session = gw.open({
    framing: 'binary',
    remoteAddress: '127.0.0.1',
    remotePort: 1,
    send: (p: Outgoing) => events.push(`reply ${p.ser}`),
    close: () => {},
  });
  session.clearLoginTimer();
  const send = (cid: 1 | 2, ser: number) => gw.receive(session, { sid: 99, cid, ser, params: [ser] });
  const tick = () => new Promise((r) => setImmediate(r));
  return { events, gates, send, tick };
}

describe('gateway request order', () => {
  it('starts a pipelined request after the previous ordered part, others after everything before', async () => {
    const { events, gates, send, tick } = setup();
    send(1, 1);
    send(1, 2);
    send(2, 3);
    send(1, 4);
    await tick();
    assert.deepEqual(events, ['start p1']);
    gates.get(1)!.ordered();
    await tick();
    assert.deepEqual(events, ['start p1', 'start p2'], 'p2 starts once p1 is ordered');
    gates.get(2)!.ordered();
    await tick();
    assert.deepEqual(events.length, 2, 'n3 waits for p1 and p2 to complete');
    gates.get(2)!.done();
    await tick();
    assert.deepEqual(events.slice(2), ['reply 2'], 'p2 may complete first; n3 still waits for p1');
    gates.get(1)!.done();
    await tick();
    assert.deepEqual(events.slice(3), ['reply 1', 'start n3']);
    gates.get(3)!.ordered(); // a plain request that calls ordered still lets p4 start before it completes
    await tick();
    assert.deepEqual(events.slice(5), ['start p4']);
    gates.get(4)!.done();
    gates.get(3)!.done();
    await tick();
    assert.deepEqual(events.slice(6), ['reply 4', 'reply 3']);
  });

  it('a request after a completed one starts at once', async () => {
    const { events, gates, send, tick } = setup();
    send(2, 1);
    assert.deepEqual(events, ['start n1'], 'started in the same turn, without a promise hop');
    gates.get(1)!.done();
    await tick();
    send(1, 2);
    assert.deepEqual(events, ['start n1', 'reply 1', 'start p2']);
  });
});
