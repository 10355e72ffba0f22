/**
 * The socket.io 0.9 text framing with JSON packets (spec/client-protocol.md §4): what the v9/v8 SDK
 * uses under Node, and browsers with `binaryWebsocket:false`. Pure functions, no socket.
 */
import {
  type FieldType,
  FrameError,
  type LayoutOf,
  type Outgoing,
  type Property,
  type Request,
} from '../packet.js';
import { propertyValue } from './binary.js';

/** socket.io 0.9 frame kinds we speak (§4.2). */
export type SocketIoFrame =
  | { kind: 'disconnect' }
  | { kind: 'connect' }
  | { kind: 'heartbeat' }
  | { kind: 'message'; data: string };

export const CONNECT_FRAME = '1::';
export const HEARTBEAT_FRAME = '2::';

/** Splits `type:id:endpoint[:data]`; frames other than 0–3 are protocol errors here. */
export function parseSocketIoFrame(text: string): SocketIoFrame {
  const m = /^([0-8]):([0-9]*\+?):([^:]*)(?::([\s\S]*))?$/.exec(text);
  if (!m) throw new FrameError('not a socket.io frame');
  switch (m[1]) {
    case '0':
      return { kind: 'disconnect' };
    case '1':
      return { kind: 'connect' };
    case '2':
      return { kind: 'heartbeat' };
    case '3':
    case '4':
      return { kind: 'message', data: m[4] ?? '' };
    default:
      throw new FrameError(`unsupported socket.io frame type ${m[1]}`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const u8 = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 255;
const u16 = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffff;

/**
 * Decodes the JSON of a `3:::` frame into a request. JSON clients send numbers for numeric tags and
 * binary ones strings (§7.1): values are normalised to what the binary framing would carry, so the
 * handlers see one shape. `hasPacketResponse:false` marks requests that expect no reply (§6.1).
 */
export function decodeJsonRequest(data: string, layoutOf: LayoutOf): Request & { noReply: boolean } {
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    throw new FrameError('invalid JSON');
  }
  if (!isObject(raw)) throw new FrameError('packet is not an object');
  const { SID: sid, CID: cid, SER: ser, Q: q } = raw;
  if (!u8(sid) || !u8(cid) || !u16(ser)) throw new FrameError('bad SID/CID/SER');
  if (q !== undefined && !Array.isArray(q)) throw new FrameError('Q is not a list');
  const layout = layoutOf(sid as number, cid as number);
  const items = (q ?? []) as unknown[];
  const params = layout
    ? layout.params.map((type, i) => normalise(type, unwrap(items[i])))
    : items.map((x) => unwrap(x));
  return {
    sid: sid as number,
    cid: cid as number,
    ser: ser as number,
    params,
    noReply: raw.hasPacketResponse === false,
  };
}

function unwrap(item: unknown): unknown {
  if (item === undefined) return undefined;
  if (!isObject(item) || !('v' in item)) throw new FrameError('parameter is not {t, v}');
  return item.v;
}

function toProperty(v: unknown): Property {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new FrameError('Property is not an object');
  const p: Property = {};
  for (const [k, x] of Object.entries(v)) {
    if (!/^\d{1,5}$/.test(k)) throw new FrameError('Property tag is not a number');
    if (x === undefined || x === null) continue;
    p[String(Number(k))] = propertyValue(x);
  }
  return p;
}

function toNumber(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v === undefined || v === null) return 0;
  throw new FrameError('not a number');
}

const list = (v: unknown): unknown[] => {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new FrameError('not a list');
  return v;
};

/** Turns a JSON value into what the binary decoder would produce for `type`. */
export function normalise(type: FieldType, v: unknown): unknown {
  switch (type) {
    case 'Byte':
    case 'Int':
    case 'Long':
      return toNumber(v);
    case 'Bool':
      return v === true || v === 1 || v === '1' || v === 'true';
    case 'String':
      return v === undefined || v === null ? '' : propertyValue(v);
    case 'Property':
      return toProperty(v);
    case 'PropertyArray':
      // Sent as "ArrayMable": a list of {t:"Property", v:{…}} (§4.3); accept bare objects too.
      return list(v).map((x) => toProperty(isObject(x) && 'v' in x && 't' in x ? x.v : x));
    case 'StrArray':
      return list(v).map((x) => propertyValue(x));
    case 'LongArray':
      return list(v).map(toNumber);
    default:
      if (v === undefined || v === null) return type === 'KVArray' ? [] : {};
      return v;
  }
}

/** Encodes a reply or push as a `3:::` frame with lowercase keys (§4.3). */
export function encodeJson(p: Outgoing): string {
  return `3:::${JSON.stringify({ sid: p.sid, cid: p.cid, ser: p.ser, code: p.code, r: p.code === 200 ? p.body : [] })}`;
}
