import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ResendWindow } from '../../src/store/resend-window.js';

describe('ResendWindow', () => {
  it('hashes app, sender and idClient apart, into 30 bits', () => {
    const h = ResendWindow.hash('app', 'alice', 'c1');
    assert.equal(h, ResendWindow.hash('app', 'alice', 'c1'));
    assert.ok(Number.isInteger(h) && h >= 0 && h < 2 ** 30);
    // The separators keep the three parts apart: moving a character across a boundary changes the key.
    assert.notEqual(ResendWindow.hash('ap', 'palice', 'c1'), h);
    assert.notEqual(ResendWindow.hash('app', 'alic', 'ec1'), h);
    assert.notEqual(ResendWindow.hash('app', 'bob', 'c1'), h);
  });

  it('names every id stored under a hash, newest first, and forgets the oldest once full', () => {
    const w = new ResendWindow(3);
    w.add(7, 1);
    w.add(9, 2);
    w.add(7, 3); // a collision: both ids stay candidates
    assert.deepEqual(w.candidates(7), [3, 1]);
    assert.deepEqual(w.candidates(9), [2]);
    assert.equal(w.size, 3);
    w.add(5, 4); // evicts id 1
    assert.deepEqual(w.candidates(7), [3]);
    w.add(5, 5); // evicts id 2
    assert.deepEqual(w.candidates(9), []);
    w.add(6, 6); // evicts id 3
    assert.deepEqual(w.candidates(7), []);
    assert.deepEqual(w.candidates(5), [5, 4]);
    assert.equal(w.size, 3);
    assert.equal(w.through, 6);
  });

  it('keeps exactly the last `capacity` ids over many wraps', () => {
    const w = new ResendWindow(100);
    for (let id = 1; id <= 1000; id++) w.add(id % 37, id);
    let held = 0;
    for (let h = 0; h < 37; h++) {
      for (const id of w.candidates(h)) {
        assert.ok(id > 900, `id ${id} should have left the window`);
        assert.equal(id % 37, h);
        held++;
      }
    }
    assert.equal(held, 100);
  });

  it('agrees with a plain model through random adds, collisions and wrap-around probe runs', () => {
    // A few distinct hashes, several landing at the table's end (capacity 100: 256 slots), so probe
    // runs collide, wrap past the last slot, and entries are shifted back as old ones leave.
    const pool = [0, 1, 2, 3, 254, 255, 256 + 255, 512 + 254, 1024 + 1, 77, 78, 2 ** 29 + 255];
    let seed = 42;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (const capacity of [1, 7, 100]) {
      const w = new ResendWindow(capacity);
      const model: { hash: number; id: number }[] = [];
      for (let id = 1; id <= 3000; id++) {
        const hash = pool[Math.floor(random() * pool.length)]!;
        w.add(hash, id);
        model.push({ hash, id });
        if (model.length > capacity) model.shift();
        if (id % 37 === 0 || id > 2990)
          for (const h of pool)
            assert.deepEqual(
              w.candidates(h),
              model
                .filter((m) => m.hash === h)
                .map((m) => m.id)
                .reverse(),
              `capacity ${capacity}, after id ${id}, hash ${h}`,
            );
      }
    }
  });

  it('holds nothing with capacity 0, and clear() empties it', () => {
    const off = new ResendWindow(0);
    off.add(1, 1);
    assert.deepEqual(off.candidates(1), []);
    const w = new ResendWindow(4);
    w.add(1, 1);
    w.clear();
    assert.deepEqual(w.candidates(1), []);
    assert.equal(w.size, 0);
    assert.equal(w.through, 0);
    assert.throws(() => new ResendWindow(-1), RangeError);
  });
});
