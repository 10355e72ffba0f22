import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.js';

describe('GET /nimserver/health/readiness.action', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
  });
  after(() => s.close());

  it('answers 200 when the store and the bus answer, without a signature', async () => {
    for (const path of ['/nimserver/health/readiness.action', '/health/readiness.action']) {
      const res = await s.fetch(path);
      assert.equal(res.status, 200);
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(body.code, 200);
      assert.deepEqual(body.store, { kind: s.runtime.store.kind, ok: true });
      assert.deepEqual(body.bus, { kind: 'memory', ok: true });
      assert.equal(body.draining, false);
    }
  });

  it('answers 503 naming the part that fails, and 200 again once it recovers', async () => {
    const bus = s.runtime.bus;
    const ping = bus.ping.bind(bus);
    bus.ping = async () => false;
    try {
      const res = await s.fetch('/nimserver/health/readiness.action');
      assert.equal(res.status, 503);
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(body.code, 503);
      assert.deepEqual(body.bus, { kind: 'memory', ok: false });
    } finally {
      bus.ping = ping;
    }
    const store = s.runtime.store;
    const storePing = store.ping.bind(store);
    store.ping = () => Promise.reject(new Error('connection refused'));
    try {
      const res = await s.fetch('/nimserver/health/readiness.action');
      assert.equal(res.status, 503);
      assert.deepEqual(((await res.json()) as Record<string, unknown>).store, {
        kind: s.runtime.store.kind,
        ok: false,
      });
    } finally {
      store.ping = storePing;
    }
    assert.equal((await s.fetch('/nimserver/health/readiness.action')).status, 200);
  });
});
