/** The rows of PostgreSQL's grouped account update (store/postgres-updates.ts) and what a failed group does next; no database needed. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AccountPatch } from '../../src/store/port.js';
import { onGroupError, runGroup } from '../../src/store/postgres-batches.js';
import {
  encodeUpdates,
  keyOf,
  type PendingUpdate,
  UPDATE_ACCOUNTS,
} from '../../src/store/postgres-updates.js';

const update = (appKey: string, accid: string, patch: AccountPatch): PendingUpdate => ({
  appKey,
  accid,
  patch,
  resolve: () => {},
  reject: () => {},
});

/** Field positions in a row: [appKey, accid, mask, tokenSealed, name, icon, sign, …] (ACCOUNT_COLUMNS order). */
const TOKEN = 3;
const NAME = 4;
const ICON = 5;
const SIGN = 6;

describe('encodeUpdates', () => {
  it('one row per account; a later update of a field wins; the mask is the union of the fields named', () => {
    const e = encodeUpdates([
      update('k', 'b', { sign: 's' }),
      update('k', 'a', { name: 'n1', icon: 'i1' }),
      update('other', 'a', { name: 'x' }),
      update('k', 'a', { name: 'n2', icon: undefined }),
    ]);
    // In key order (every statement locks shared rows in the same order), each update pointing at its row.
    assert.deepEqual(e.keys, [keyOf('k', 'a'), keyOf('k', 'b'), keyOf('other', 'a')]);
    assert.deepEqual(e.slot, [1, 0, 2, 0]);
    const rows = JSON.parse(e.rows) as unknown[][];
    assert.equal(rows.length, 3);
    const [a, b] = rows;
    assert.deepEqual(a!.slice(0, 2), ['k', 'a']);
    assert.equal(a![2], (1 << (NAME - 3)) | (1 << (ICON - 3)));
    assert.equal(a![NAME], 'n2');
    assert.equal(a![ICON], null); // named, undefined: cleared (the mask has it)
    assert.equal(b![2], 1 << (SIGN - 3));
    assert.equal(b![NAME], null); // not named: outside the mask, kept by the statement
  });

  it('a sealed token travels as hex, booleans and numbers as themselves, lone surrogates as U+FFFD', () => {
    const rows = JSON.parse(
      encodeUpdates([
        update('k', 'a', {
          tokenSealed: new Uint8Array([0, 255, 16]),
          blocked: true,
          gender: 2,
          sign: 'x\ud800',
        }),
      ]).rows,
    ) as unknown[][];
    const row = rows[0]!;
    assert.equal(row[TOKEN], '00ff10');
    assert.ok(row.includes(true));
    assert.ok(row.includes(2));
    assert.equal(row[SIGN], 'x\ufffd');
  });

  it('refuses a field that is not an account column', () => {
    assert.throws(
      () => encodeUpdates([update('k', 'a', { nope: 1 } as unknown as AccountPatch)]),
      /unknown account field nope/,
    );
  });

  it('the statement sets every column from its own position, inside the mask only, and never created_at', () => {
    assert.match(UPDATE_ACCOUNTS.text, /name = CASE WHEN u\.m & 2 <> 0 THEN \(u\.r->>4\) ELSE a\.name END/);
    assert.match(
      UPDATE_ACCOUNTS.text,
      /token_sealed = CASE WHEN u\.m & 1 <> 0 THEN decode\(\(u\.r->>3\), 'hex'\)/,
    );
    assert.doesNotMatch(UPDATE_ACCOUNTS.text, /created_at =/);
  });
});

describe('onGroupError', () => {
  it('splits a group on data errors, runs it again on a deadlock, fails it at once otherwise', () => {
    const err = (code?: string) => Object.assign(new Error('x'), code === undefined ? {} : { code });
    assert.equal(onGroupError(err('22003')), 'split'); // numeric value out of range
    assert.equal(onGroupError(err('22P05')), 'split'); // untranslatable character
    assert.equal(onGroupError(err('23505')), 'split'); // unique violation
    assert.equal(onGroupError(err('54000')), 'split'); // program limit exceeded
    assert.equal(onGroupError(err('40P01')), 'again'); // deadlock detected
    assert.equal(onGroupError(err('40001')), 'again'); // serialization failure
    assert.equal(onGroupError(err('57P01')), 'fail'); // admin shutdown
    assert.equal(onGroupError(err('08006')), 'fail'); // connection failure
    assert.equal(onGroupError(err('ECONNRESET')), 'fail'); // a socket error, not SQLSTATE
    assert.equal(onGroupError(err()), 'fail');
    assert.equal(onGroupError(null), 'fail');
  });
});

describe('runGroup', () => {
  type Item = { id: number; bad?: boolean; got?: string; reject(err: unknown): void };
  const items = (...bad: number[]): Item[] =>
    [1, 2, 3].map((id) => {
      const item: Item = {
        id,
        bad: bad.includes(id),
        reject(err: unknown) {
          item.got = `rejected ${(err as { code?: string }).code}`;
        },
      };
      return item;
    });
  const sqlError = (code: string) => Object.assign(new Error(code), { code });

  it('a data error runs the items one by one: only the refused one fails, the others in order', async () => {
    const group = items(2);
    const calls: number[][] = [];
    await runGroup(group, async (g) => {
      calls.push(g.map((i) => i.id));
      if (g.some((i) => i.bad)) throw sqlError('22003');
      for (const i of g) i.got = 'ok';
    });
    assert.deepEqual(calls, [[1, 2, 3], [1], [2], [3]]);
    assert.deepEqual(
      group.map((i) => i.got),
      ['ok', 'rejected 22003', 'ok'],
    );
  });

  it('a deadlock runs the group once more; a second one fails it', async () => {
    let n = 0;
    const once = items();
    await runGroup(once, async (g) => {
      if (n++ === 0) throw sqlError('40P01');
      for (const i of g) i.got = 'ok';
    });
    assert.equal(n, 2);
    assert.deepEqual(
      once.map((i) => i.got),
      ['ok', 'ok', 'ok'],
    );
    const twice = items();
    await runGroup(twice, async () => {
      throw sqlError('40P01');
    });
    assert.deepEqual(
      twice.map((i) => i.got),
      ['rejected 40P01', 'rejected 40P01', 'rejected 40P01'],
    );
  });

  it('a lost connection fails the whole group at once, without a retry per item', async () => {
    const group = items();
    let calls = 0;
    await runGroup(group, async () => {
      calls++;
      throw Object.assign(new Error('Connection terminated unexpectedly'), { code: undefined });
    });
    assert.equal(calls, 1);
    assert.ok(group.every((i) => i.got === 'rejected undefined'));
  });
});
