/**
 * The one command table (STYLE.md §10): every request the gateway understands and every push it
 * sends, with the positional layouts of Appendix A. The codecs read the layouts; the dispatcher
 * reads the handlers. Transports only decode, dispatch and encode.
 */
import { commandKey, type FieldType, type Layout } from './packet.js';
import type { Session } from './session.js';

/** A handler's answer: 200 with a body, or another code (the body is then dropped). */
export interface Reply {
  code: number;
  body?: unknown[];
}

/**
 * `ordered` lets the session's next request start before this one completes, if that one is
 * `pipelined`: a handler calls it once what must happen in arrival order is done (a send has been
 * queued for storage, so the next send is stored after it). Other requests wait for completion.
 */
export type Handler = (
  session: Session,
  params: unknown[],
  ordered: () => void,
) => Promise<Reply | undefined> | Reply | undefined;

export interface CommandSpec {
  sid: number;
  cid: number;
  name: string;
  params: readonly FieldType[];
  result: readonly FieldType[];
  /** Allowed before login (login itself, heartbeat). */
  beforeLogin?: boolean;
  /** The client expects no reply (`hasPacketResponse:false`, §6.1). */
  noReply?: boolean;
  /** May start once the previous request called `ordered`, before it completes (see Handler). */
  pipelined?: boolean;
}

export interface PushSpec {
  sid: number;
  cid: number;
  name: string;
  result: readonly FieldType[];
}

/** A defined command: its spec and its handler. */
export interface Entry extends CommandSpec {
  handler: Handler;
}

export class CommandTable {
  readonly #commands = new Map<string, Entry>();
  readonly #pushes = new Map<string, PushSpec>();

  define(spec: CommandSpec, handler: Handler): void {
    const key = commandKey(spec.sid, spec.cid);
    if (this.#commands.has(key)) throw new Error(`command ${key} defined twice`);
    this.#commands.set(key, { ...spec, handler });
  }

  definePush(spec: PushSpec): void {
    this.#pushes.set(commandKey(spec.sid, spec.cid), spec);
  }

  command(sid: number, cid: number): Entry | undefined {
    return this.#commands.get(commandKey(sid, cid));
  }

  /** Request layouts, for decoding (a `LayoutOf`). */
  readonly layoutOf = (sid: number, cid: number): Layout | undefined =>
    this.#commands.get(commandKey(sid, cid));

  /** The body types of a reply (ser ≠ 0) or a push (ser 0), for the binary encoder. */
  resultOf(sid: number, cid: number, isPush: boolean): readonly FieldType[] | undefined {
    const key = commandKey(sid, cid);
    if (isPush) return this.#pushes.get(key)?.result ?? this.#commands.get(key)?.result;
    return this.#commands.get(key)?.result ?? this.#pushes.get(key)?.result;
  }
}

/** Pushes the server sends (Appendix A, S→C rows). */
export const PUSHES = {
  kicked: { sid: 2, cid: 5, name: 'kicked', result: ['Int', 'Int', 'String', 'Int'] },
  multiPortLogin: { sid: 2, cid: 7, name: 'multiPortLogin', result: ['Byte', 'PropertyArray'] },
  syncMyInfo: { sid: 3, cid: 109, name: 'syncMyInfo', result: ['Property', 'Long'] },
  syncOfflineMsgs: { sid: 4, cid: 4, name: 'syncOfflineMsgs', result: ['PropertyArray'] },
  msg: { sid: 7, cid: 2, name: 'msg', result: ['Property'] },
  syncSendMsg: { sid: 7, cid: 101, name: 'syncSendMsg', result: ['Property'] },
} as const satisfies Record<string, PushSpec>;
