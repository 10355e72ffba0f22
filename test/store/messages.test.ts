/**
 * The MessageStore contract (store/port.ts). Written as a loop over adapters so every adapter runs
 * the same suite (STYLE.md §8); the PostgreSQL adapter joins the list when it implements the port.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { NewMessage, Store } from '../../src/store/port.js';
import { SqliteStore } from '../../src/store/sqlite.js';

const ADAPTERS: { name: string; open(): Promise<Store> }[] = [
  {
    name: 'sqlite',
    async open() {
      const s = new SqliteStore({ path: ':memory:' });
      await s.migrate();
      return s;
    },
  },
];

const msg = (idClient: string, over: Partial<NewMessage> = {}): NewMessage => ({
  appKey: 'app',
  scene: 0,
  from: 'alice',
  to: 'bob',
  idClient,
  time: 1_795_639_282_917,
  fields: { '0': '0', '1': 'bob', '2': 'alice', '9': `text ${idClient}`, '11': idClient },
  ...over,
});

for (const adapter of ADAPTERS) {
  describe(`MessageStore on ${adapter.name}`, () => {
    const opened: Store[] = [];
    const open = async () => {
      const s = await adapter.open();
      opened.push(s);
      return s;
    };
    after(async () => {
      for (const s of opened) await s.close();
    });

    it('assigns increasing safe-integer ids and keeps the fields verbatim', async () => {
      const s = await open();
      const a = await s.insertMessage(msg('c1'), ['bob']);
      const b = await s.insertMessage(msg('c2'), ['bob']);
      assert.ok(a.inserted && b.inserted);
      assert.ok(Number.isSafeInteger(a.message.id) && b.message.id > a.message.id);
      assert.deepEqual(a.message.fields, msg('c1').fields);
    });

    it('returns the stored message for a repeated (appKey, from, idClient) and writes nothing', async () => {
      const s = await open();
      const first = await s.insertMessage(msg('dup'), ['bob']);
      const again = await s.insertMessage(msg('dup', { time: 5, fields: { '9': 'changed' } }), ['bob']);
      assert.equal(again.inserted, false);
      assert.deepEqual(again.message, first.message);
      assert.equal((await s.listOffline('app', 'bob', 10)).length, 1);
      // The same idClient from another sender or app is another message.
      assert.ok((await s.insertMessage(msg('dup', { from: 'carol' }), ['bob'])).inserted);
      assert.ok((await s.insertMessage(msg('dup', { appKey: 'other' }), ['bob'])).inserted);
    });

    it('lists offline messages oldest first, per app and account, up to the limit', async () => {
      const s = await open();
      const ids: number[] = [];
      for (const c of ['o1', 'o2', 'o3']) ids.push((await s.insertMessage(msg(c), ['bob'])).message.id);
      await s.insertMessage(msg('x', { to: 'carol' }), ['carol']);
      await s.insertMessage(msg('y', { appKey: 'other' }), ['bob']);
      await s.insertMessage(msg('online-only'), []);
      assert.deepEqual(
        (await s.listOffline('app', 'bob', 10)).map((m) => m.id),
        ids,
      );
      assert.deepEqual(
        (await s.listOffline('app', 'bob', 2)).map((m) => m.id),
        ids.slice(0, 2),
      );
      assert.equal((await s.listOffline('app', 'nobody', 10)).length, 0);
    });

    it('acks retire only the account’s own entries', async () => {
      const s = await open();
      const m1 = (await s.insertMessage(msg('a1'), ['bob'])).message.id;
      const m2 = (await s.insertMessage(msg('a2'), ['bob'])).message.id;
      const mc = (await s.insertMessage(msg('a3', { to: 'carol' }), ['carol'])).message.id;
      assert.equal(await s.ackOffline('app', 'bob', [m1, mc, 999_999]), 1);
      assert.deepEqual(
        (await s.listOffline('app', 'bob', 10)).map((m) => m.id),
        [m2],
      );
      assert.equal((await s.listOffline('app', 'carol', 10)).length, 1);
      assert.equal(await s.ackOffline('app', 'bob', []), 0);
      assert.equal(await s.ackOffline('app', 'bob', [m1]), 0, 'acking twice is harmless');
    });
  });
}
