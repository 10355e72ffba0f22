/**
 * The binary WebSocket framing (spec/client-protocol.md §5): one packet per WebSocket message,
 * header `varint length | u8 SID | u8 CID | u16le SER | u8 tag | [u16le code if tag & 0x02]`,
 * then the positional fields. Pure functions over bytes, no socket (STYLE.md §9).
 */
import {
  type FieldType,
  FrameError,
  type LayoutOf,
  type Outgoing,
  type Property,
  type Request,
} from '../packet.js';

const TAG_HAS_CODE = 0x02;
/** The SDK's decoder rejects varints longer than 5 bytes (§5.2); so do we. */
const MAX_VARINT_BYTES = 5;
/** A count larger than the bytes left cannot be honest; checked before allocating. */
const MIN_ITEM_BYTES = 1;

export interface BinaryHeader {
  sid: number;
  cid: number;
  ser: number;
  tag: number;
  code?: number;
  /** Offset of the first body byte. */
  offset: number;
}

class Reader {
  offset = 0;
  /** The same bytes as a Buffer, made once per frame (strings are decoded from it). */
  readonly #text: Buffer;
  constructor(private readonly buf: Uint8Array) {
    this.#text = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get left(): number {
    return this.buf.length - this.offset;
  }

  #need(n: number): void {
    if (this.offset + n > this.buf.length) throw new FrameError('truncated frame');
  }

  u8(): number {
    this.#need(1);
    return this.buf[this.offset++]!;
  }

  u16(): number {
    this.#need(2);
    const v = this.buf[this.offset]! | (this.buf[this.offset + 1]! << 8);
    this.offset += 2;
    return v;
  }

  u32(): number {
    this.#need(4);
    const b = this.buf;
    const o = this.offset;
    this.offset += 4;
    return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
  }

  u64(): number {
    const lo = this.u32();
    const hi = this.u32();
    return hi * 0x100000000 + lo;
  }

  varint(): number {
    let value = 0;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      const b = this.u8();
      value += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) return value;
    }
    throw new FrameError('varint too long');
  }

  count(): number {
    const n = this.varint();
    if (n * MIN_ITEM_BYTES > this.left) throw new FrameError('count exceeds frame');
    return n;
  }

  string(): string {
    const n = this.varint();
    this.#need(n);
    const start = this.offset;
    this.offset += n;
    return this.#text.toString('utf8', start, this.offset);
  }

  property(): Property {
    const n = this.count();
    const p: Property = {};
    for (let i = 0; i < n; i++) {
      const tag = this.varint();
      p[tag] = this.string();
    }
    return p;
  }

  field(type: FieldType): unknown {
    switch (type) {
      case 'Byte':
        return this.u8();
      case 'Bool':
        return this.u8() !== 0;
      case 'Int':
        return this.u32();
      case 'Long':
        return this.u64();
      case 'String':
        return this.string();
      case 'Property':
        return this.property();
      case 'PropertyArray':
        return this.#list(() => this.property());
      case 'StrArray':
        return this.#list(() => this.string());
      case 'LongArray':
        return this.#list(() => this.u64());
      case 'StrStrMap':
        return Object.fromEntries(this.#list(() => [this.string(), this.string()]));
      case 'StrLongMap':
        return Object.fromEntries(this.#list(() => [this.string(), this.u64()]));
      case 'LongLongMap':
        return Object.fromEntries(this.#list(() => [String(this.u64()), this.u64()]));
      case 'KVArray':
        return this.#list(() => Object.fromEntries(this.#list(() => [this.string(), this.string()])));
    }
  }

  #list<T>(item: () => T): T[] {
    const n = this.count();
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item());
    return out;
  }
}

/** Reads the header of a binary frame; throws FrameError on a short or malformed one. */
export function decodeHeader(frame: Uint8Array): BinaryHeader {
  const r = new Reader(frame);
  const length = r.varint();
  // Clients write 0; the SDK's own decoder only rejects a length larger than the frame (§5.1).
  if (length > frame.length) throw new FrameError('declared length exceeds frame');
  const sid = r.u8();
  const cid = r.u8();
  const ser = r.u16();
  const tag = r.u8();
  const header: BinaryHeader = { sid, cid, ser, tag, offset: 0 };
  if (tag & TAG_HAS_CODE) header.code = r.u16();
  header.offset = r.offset;
  return header;
}

/**
 * Decodes a client request. The parameter types come from the command table; an unknown command
 * decodes with no parameters (it is answered 200 empty, spec §12 item 12). Bytes after the last
 * declared field are ignored, as the SDK does.
 */
export function decodeBinaryRequest(frame: Uint8Array, layoutOf: LayoutOf): Request {
  const h = decodeHeader(frame);
  const layout = layoutOf(h.sid, h.cid);
  const r = new Reader(frame);
  r.offset = h.offset;
  const params = layout ? layout.params.map((t) => r.field(t)) : [];
  return { sid: h.sid, cid: h.cid, ser: h.ser, params };
}

/** Decodes the body of any packet with explicit field types (tests, tools). */
export function decodeBinaryBody(frame: Uint8Array, types: readonly FieldType[]): unknown[] {
  const h = decodeHeader(frame);
  const r = new Reader(frame);
  r.offset = h.offset;
  return types.map((t) => r.field(t));
}

/** The bytes of frozen Properties already encoded (see Writer.property). */
const encodedProperties = new WeakMap<object, Uint8Array>();

/**
 * Writes into one scratch buffer shared by every encode (encoding is synchronous), grown on demand;
 * `bytes()` copies out the frame. Per frame that is one allocation instead of a byte array, a
 * Buffer per string and a final copy.
 */
let scratch = Buffer.allocUnsafe(64 * 1024);

class Writer {
  #at = 0;

  bytes(): Uint8Array {
    // A pooled Buffer (one slab for many small frames) rather than a fresh ArrayBuffer per frame.
    const out = Buffer.allocUnsafe(this.#at);
    scratch.copy(out, 0, 0, this.#at);
    return out;
  }

  #room(n: number): void {
    if (this.#at + n <= scratch.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(scratch.length * 2, this.#at + n));
    scratch.copy(bigger, 0, 0, this.#at);
    scratch = bigger;
  }

  u8(v: number): void {
    this.#room(1);
    scratch[this.#at++] = v & 0xff;
  }

  u16(v: number): void {
    this.#room(2);
    scratch[this.#at++] = v & 0xff;
    scratch[this.#at++] = (v >>> 8) & 0xff;
  }

  u32(v: number): void {
    this.#room(4);
    scratch.writeUInt32LE(v >>> 0, this.#at);
    this.#at += 4;
  }

  u64(v: unknown): void {
    // Safe non-negative integers (ids, times) without BigInt; anything else as before.
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) {
      this.u32(v % 0x100000000);
      this.u32(Math.floor(v / 0x100000000));
      return;
    }
    const big = toBigInt(v);
    this.u32(Number(big & 0xffffffffn));
    this.u32(Number((big >> 32n) & 0xffffffffn));
  }

  varint(v: number): void {
    let x = v >>> 0;
    this.#room(5);
    while (x >= 0x80) {
      scratch[this.#at++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    scratch[this.#at++] = x;
  }

  string(s: string): void {
    // Up to 42 UTF-16 units make at most 126 bytes: a one-byte length, written after the text.
    if (s.length <= 42) {
      this.#room(1 + s.length * 3);
      const start = this.#at + 1;
      let i = 0;
      // ASCII byte by byte (most tags: ids, numbers, accids); anything else through the encoder.
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        scratch[start + i] = c;
      }
      const n = i === s.length ? i : i + scratch.write(s.slice(i), start + i, 'utf8');
      scratch[this.#at] = n;
      this.#at = start + n;
      return;
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.varint(n);
    this.#room(n);
    this.#at += scratch.write(s, this.#at, n, 'utf8');
  }

  property(p: unknown): void {
    const obj = (p ?? {}) as Record<string, unknown>;
    if (!Object.isFrozen(obj)) {
      this.#property(obj);
      return;
    }
    // A frozen Property encodes the same every time: a message's 7_1 reply and its 7_2 push (and
    // 7_101 copies) encode it once.
    const known = encodedProperties.get(obj);
    if (known !== undefined) {
      this.#room(known.length);
      scratch.set(known, this.#at);
      this.#at += known.length;
      return;
    }
    const start = this.#at;
    this.#property(obj);
    encodedProperties.set(obj, Buffer.from(scratch.subarray(start, this.#at)));
  }

  #property(obj: Record<string, unknown>): void {
    // One key list (for-in over integer-like keys builds one on each pass); written in one pass,
    // again without the empty values if there were any (rare).
    const keys = Object.keys(obj);
    const start = this.#at;
    this.varint(keys.length);
    let count = 0;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const v = obj[k];
      if (v === undefined || v === null) continue;
      count++;
      this.varint(Number(k));
      if (typeof v === 'string') this.string(v);
      else this.string(propertyValue(v));
    }
    if (count === keys.length) return;
    this.#at = start;
    this.varint(count);
    for (let i = 0; i < keys.length; i++) {
      const v = obj[keys[i]!];
      if (v === undefined || v === null) continue;
      this.varint(Number(keys[i]));
      this.string(propertyValue(v));
    }
  }

  /** Returns nothing useful; `unknown` lets each case end with `return this.x(…)`. */
  field(type: FieldType, v: unknown): unknown {
    switch (type) {
      case 'Byte':
        return this.u8(Number(v ?? 0));
      case 'Bool':
        return this.u8(v === true || v === 1 || v === '1' || v === 'true' ? 1 : 0);
      case 'Int':
        return this.u32(Number(v ?? 0));
      case 'Long':
        return this.u64(v ?? 0);
      case 'String':
        return this.string(String(v ?? ''));
      case 'Property':
        return this.property(v);
      case 'PropertyArray':
        return this.#list(v, (x) => this.property(x));
      case 'StrArray':
        return this.#list(v, (x) => this.string(String(x)));
      case 'LongArray':
        return this.#list(v, (x) => this.u64(x));
      case 'StrStrMap':
        return this.#map(v, (k, x) => {
          this.string(k);
          this.string(String(x));
        });
      case 'StrLongMap':
        return this.#map(v, (k, x) => {
          this.string(k);
          this.u64(x);
        });
      case 'LongLongMap':
        return this.#map(v, (k, x) => {
          this.u64(k);
          this.u64(x);
        });
      case 'KVArray':
        return this.#list(v, (x) =>
          this.#map(x, (k, y) => {
            this.string(k);
            this.string(String(y));
          }),
        );
    }
  }

  #list(v: unknown, item: (x: unknown) => void): void {
    const arr = Array.isArray(v) ? v : [];
    this.varint(arr.length);
    for (const x of arr) item(x);
  }

  #map(v: unknown, entry: (k: string, x: unknown) => void): void {
    const entries = Object.entries((v ?? {}) as Record<string, unknown>);
    this.varint(entries.length);
    for (const [k, x] of entries) entry(k, x);
  }
}

function toBigInt(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return BigInt(Math.max(0, Math.trunc(v)));
  if (typeof v === 'string' && /^\d+$/.test(v)) return BigInt(v);
  return 0n;
}

/** Property values are strings on the wire; objects travel JSON-encoded (§5.2). */
export function propertyValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'object') return JSON.stringify(v);
  if (typeof v === 'boolean') return v ? '1' : '0';
  return String(v);
}

/**
 * Encodes a reply or push. The body is written only for a 200 answer with a known layout; error
 * replies are the bare header with the code (vectors B3). Always tag 0x02 + code, as the SDK expects
 * of notify-wrapped packets too (§6.5).
 */
export function encodeBinary(p: Outgoing, result: readonly FieldType[] | undefined): Uint8Array {
  const w = new Writer();
  w.varint(0);
  w.u8(p.sid);
  w.u8(p.cid);
  w.u16(p.ser);
  w.u8(TAG_HAS_CODE);
  w.u16(p.code);
  if (p.code === 200 && result) for (const [i, t] of result.entries()) w.field(t, p.body[i]);
  return w.bytes();
}

/** Encodes a client-side request (tests and tools speak the client's side with it). */
export function encodeBinaryRequest(r: Request, params: readonly FieldType[]): Uint8Array {
  const w = new Writer();
  w.varint(0);
  w.u8(r.sid);
  w.u8(r.cid);
  w.u16(r.ser);
  w.u8(0);
  for (const [i, t] of params.entries()) w.field(t, r.params[i]);
  return w.bytes();
}
