/** The rows of PostgreSQL's grouped account update (store/postgres-updates.ts); no database needed. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AccountPatch } from '../../src/store/port.js';
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
