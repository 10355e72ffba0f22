/**
 * The transport-neutral shape of a CommsEase link packet (spec/client-protocol.md §4.3, §5.1):
 * both framings decode into it and encode from it, so each command handler is written once.
 */

/** Field types of the positional parameter / result lists (Appendix A). */
export const FIELD_TYPES = [
  'Byte',
  'Bool',
  'Int',
  'Long',
  'String',
  'Property',
  'PropertyArray',
  'StrArray',
  'LongArray',
  'StrStrMap',
  'StrLongMap',
  'LongLongMap',
  'KVArray',
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** A map small-integer tag → string value. Values are always strings on the way out (§4.3). */
export type Property = Record<string, string>;

/** A decoded request from a client. */
export interface Request {
  sid: number;
  cid: number;
  ser: number;
  /** Parameters, normalised: Property → Property (string values), Long → number, arrays → arrays. */
  params: unknown[];
}

/** A packet to a client: a reply (ser of the request) or a push (ser 0). */
export interface Outgoing {
  sid: number;
  cid: number;
  ser: number;
  code: number;
  /** The positional result list; empty for errors and for commands without results. */
  body: unknown[];
}

/** Types of a command's request parameters and of its reply / push body (Appendix A). */
export interface Layout {
  params: readonly FieldType[];
  result: readonly FieldType[];
}

/** The lookup the codecs need; the command table implements it. Undefined = unknown command. */
export type LayoutOf = (sid: number, cid: number) => Layout | undefined;

/** A frame that cannot be decoded; the transport closes the link with it. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
}

export const commandKey = (sid: number, cid: number) => `${sid}_${cid}`;
