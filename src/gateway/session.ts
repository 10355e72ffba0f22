/**
 * One client connection, whatever its framing: its login state, what it was sent, and the helpers
 * to reply, push, kick and close. The transport owns the socket and gives the session a Link.
 */
import type { Entry } from './commands.js';
import { GATEWAY_LIMITS } from './limits.js';
import type { Outgoing, Property, Request } from './packet.js';

/** What a transport offers a session. */
export interface Link {
  readonly framing: 'json' | 'binary';
  readonly remoteAddress: string;
  readonly remotePort: number;
  send(p: Outgoing): void;
  /** Closes the connection; `code` is a WebSocket close code. */
  close(code: number, reason: string): void;
}

/** What a successful 2_3 login established. */
export interface LoginInfo {
  appKey: string;
  accid: string;
  clientType: number;
  deviceId: string;
  /** Login tag 26: one per SDK instance, unchanged across its automatic reconnects (§11.2). */
  instanceId: string;
  /** Login tag 8 = 0: an automatic reconnect rather than a manual login. */
  reconnect: boolean;
  os: string;
  customTag: string;
  customClientType: number;
  loginTime: number;
}

export class Session {
  state: 'connected' | 'active' | 'closed' = 'connected';
  login: LoginInfo | undefined;
  /** idServers pushed in real time on this connection; the login sync skips them. */
  readonly delivered = new Set<string>();
  /**
   * Requests are handled in arrival order (Gateway.receive): `running` have started and not
   * completed; `lastReleased`: the most recently started one has done its ordered part (a pipelined
   * command may start); `waiting`: requests not started yet, oldest first (undefined when none).
   */
  running = 0;
  lastReleased = true;
  waiting: { req: Request; cmd: Entry | undefined; noReply: boolean }[] | undefined;
  /** Time of the last packet from the client (idle sweep). */
  lastSeen: number;
  /** Closes the link if it has not logged in in time (set by the hub, cleared at login). */
  loginTimer: NodeJS.Timeout | undefined;
  #tokens: number = GATEWAY_LIMITS.packetBurst;
  #refilledAt: number;
  readonly #onClose: (s: Session) => void;

  constructor(
    readonly connectionId: string,
    readonly link: Link,
    onClose: (s: Session) => void,
    private readonly now: () => number,
  ) {
    this.#refilledAt = now();
    this.lastSeen = this.#refilledAt;
    this.#onClose = onClose;
  }

  get active(): boolean {
    return this.state === 'active';
  }

  /** Token bucket: false when the client sends faster than `perSecond` after its burst. */
  takePacket(perSecond: number): boolean {
    const t = this.now();
    this.lastSeen = t;
    this.#tokens = Math.min(
      GATEWAY_LIMITS.packetBurst,
      this.#tokens + ((t - this.#refilledAt) / 1000) * perSecond,
    );
    this.#refilledAt = t;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  reply(sid: number, cid: number, ser: number, code: number, body: unknown[] = []): void {
    if (this.state === 'closed') return;
    this.link.send({ sid, cid, ser, code, body });
  }

  /** A server-initiated packet (ser 0); only to logged-in sessions (§6.4). */
  push(spec: { sid: number; cid: number }, body: unknown[]): void {
    if (!this.active) return;
    this.link.send({ sid: spec.sid, cid: spec.cid, ser: 0, code: 200, body });
  }

  remember(idServer: string): void {
    if (this.delivered.size >= GATEWAY_LIMITS.deliveredMemory) this.delivered.clear();
    this.delivered.add(idServer);
  }

  /** The login-port Property (§9.2) other sessions of the account see. */
  port(): Property {
    const l = this.login!;
    return {
      '3': String(l.clientType),
      '4': l.os,
      '13': l.deviceId,
      '19': l.accid,
      '38': l.customTag,
      ...(l.customClientType ? { '39': String(l.customClientType) } : {}),
      '102': this.connectionId,
      '103': this.link.remoteAddress,
      '109': String(l.loginTime),
    };
  }

  clearLoginTimer(): void {
    if (this.loginTimer) clearTimeout(this.loginTimer);
    this.loginTimer = undefined;
  }

  /** Ends the session (idempotent). The transport calls it when the socket goes away. */
  close(code = 1000, reason = 'bye'): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.clearLoginTimer();
    this.#onClose(this);
    this.link.close(code, reason);
  }
}
