/**
 * Shared pieces of the hostile-input properties (test/hostile): the values a hostile client sends,
 * byte-exact form encodings (lone surrogates included), and a watch on the store that sees every
 * committed write.
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { ACCID_MAX } from '../../src/accounts/rules.js';

export { type RawResponse, rawRequest, send } from './raw-http.js';

/** Runs per property for the main endpoint (others get a quarter); HOSTILE_RUNS overrides. */
export const RUNS = Number(process.env.HOSTILE_RUNS ?? 100);

/** Replay a failure with HOSTILE_SEED=<seed from the report>. */
export const FC_OPTIONS = {
  includeErrorInReport: true,
  ...(process.env.HOSTILE_SEED ? { seed: Number(process.env.HOSTILE_SEED) } : {}),
};
// ---- values a hostile client sends ----
export const SPECIAL = [
  '',
  ' ',
  '0',
  '1',
  '2',
  '3',
  '-1',
  '01',
  '1.0',
  '1e0',
  '+1',
  ' 1',
  '1 ',
  '0x1',
  'NaN',
  'Infinity',
  '-0',
  '１',
  '٣',
  '9'.repeat(400),
  'e\u0301\u0301\u0301',
  '\u202Eevil\u202C',
  'שלום',
  '\u200F\u200E',
  '\0',
  'a\0b',
  '\uD800',
  'x\uDFFFy',
  '\uD83D\uDE00',
  '😀'.repeat(40),
  'a'.repeat(ACCID_MAX),
  'a'.repeat(ACCID_MAX + 1),
  'x'.repeat(129),
  'x'.repeat(1025),
  '%',
  '%zz',
  '%C3%28',
  '%ED%A0%80',
  '&',
  '=',
  '&accid=evil',
  'null',
  'true',
  'false',
  '[]',
  '["victim"]',
  '["victim",null,1,{}]',
  '[{"accid":"batch1","token":"t"}]',
  '[[[[[[[[[[]]]]]]]]]]',
  JSON.stringify(Array.from({ length: 201 }, (_, i) => `a${i}`)),
  '{"a":1}',
  '{"msg":"hello"}',
  'victim',
  '<script>alert(1)</script>',
  "'; DROP TABLE accounts; --",
  'zhang@example.com',
  '邮件',
  '\r\n',
  '\t',
] as const;

export const value = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SPECIAL) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 60 }) },
  { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9_@.-]{1,36}$/) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double()).map(String) },
);

/** UTF-16 → bytes, keeping lone surrogates as their 3-byte (invalid UTF-8) form. */
export function wtf8(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Buffer.from(out);
}

export type Style = 'percent' | 'plus' | 'raw' | 'double';
const UNRESERVED = /[A-Za-z0-9\-_.~*]/;
export function encode(s: string, style: Style): Buffer {
  if (style === 'raw') return wtf8(s);
  if (style === 'double') return Buffer.from(encode(s, 'percent').toString('latin1').replaceAll('%', '%25'));
  let out = '';
  for (const b of wtf8(s)) {
    const ch = String.fromCharCode(b);
    if (b < 0x80 && UNRESERVED.test(ch)) out += ch;
    else if (style === 'plus' && ch === ' ') out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return Buffer.from(out, 'latin1');
}

export const hasLoneSurrogate = (s: string) =>
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

// ---- what the store holds ----
/**
 * Detects any committed write by the server: SQLite's data_version, read on a connection of our
 * own, changes whenever another connection commits (https://sqlite.org/pragma.html#pragma_data_version).
 * O(1) per call, so every call can be checked; a full digest confirms it at the end of each property.
 */
export class StoreWatch {
  readonly #db: Database.Database;
  constructor(path: string) {
    this.#db = new Database(path, { readonly: true });
  }
  version(): number {
    return this.#db.pragma('data_version', { simple: true }) as number;
  }
  digest(): string {
    const h = createHash('sha256');
    const tables = this.#db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .all() as { name: string }[];
    for (const { name } of tables) {
      h.update(`\0table ${name}\0`);
      for (const row of this.#db.prepare(`SELECT * FROM "${name}"`).raw().iterate())
        h.update(
          JSON.stringify(row, (_k, v) => (v?.type === 'Buffer' ? Buffer.from(v.data).toString('hex') : v)),
        );
    }
    return h.digest('hex');
  }
  close() {
    this.#db.close();
  }
}
