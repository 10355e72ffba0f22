/** The runtime wires account events to the bus, which a scale-out deployment can inject. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MemoryBus } from '../../src/bus/memory.js';
import { SUBJECTS } from '../../src/bus/subjects.js';
import { openRuntime } from '../../src/runtime.js';

describe('runtime bus', () => {
  it('publishes account events on an injected bus and leaves closing it to its owner', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'nimbase-rt-'));
    const bus = new MemoryBus();
    const events: unknown[] = [];
    await bus.subscribe(SUBJECTS.accountEvents, (e) => events.push(e));
    const rt = await openRuntime({ dataDir, durability: 'full' }, { bus });
    try {
      assert.equal(rt.bus, bus);
      const { appKey } = await rt.apps.createApp('t');
      await rt.accounts.registerAccount(appKey, { accid: 'ev1' });
      await rt.accounts.updateSettings(appKey, 'ev1', { blocked: true }, { kick: true });
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(events, [{ type: 'blocked', appKey, accid: 'ev1', kick: true }]);
    } finally {
      await rt.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
    await bus.publish(SUBJECTS.accountEvents, { still: 'open' });
    await new Promise((r) => setImmediate(r));
    assert.equal(events.length, 2, 'the injected bus was not closed by the runtime');
  });

  it('a failing bus does not fail the write', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'nimbase-rt-'));
    const errors: unknown[] = [];
    const broken = new MemoryBus();
    broken.publish = async () => {
      throw new Error('broker down');
    };
    const rt = await openRuntime(
      { dataDir, durability: 'full' },
      { bus: broken, onEventError: (e) => errors.push(e) },
    );
    try {
      const { appKey } = await rt.apps.createApp('t');
      await rt.accounts.registerAccount(appKey, { accid: 'ev2' });
      const r = await rt.accounts.refreshToken(appKey, 'ev2');
      assert.equal(await rt.accounts.verifyToken(appKey, 'ev2', r.token), true);
      assert.equal(errors.length, 1);
    } finally {
      await rt.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
