/**
 * The gateway core (Tinode's hub): the sessions of this node by account, the one dispatch that
 * every transport feeds, and the bus subscriptions that reach sessions from anywhere — account
 * events (kicks), stored messages (7_2 / 7_101) and session changes (2_7, reconnect takeover).
 */
import type { Logger } from 'pino';
import { isDomainError } from '../accounts/errors.js';
import type { AccountEvent } from '../accounts/events.js';
import type { AccountService } from '../accounts/service.js';
import type { AppService } from '../apps/service.js';
import type { Bus } from '../bus/port.js';
import { SUBJECTS } from '../bus/subjects.js';
import type { MessageStoredEvent } from '../messaging/events.js';
import type { MessagingService } from '../messaging/service.js';
import type { AccountStore } from '../store/port.js';
import { CommandTable, type Entry, PUSHES, type Reply } from './commands.js';
import { defineCommands } from './handlers.js';
import { GATEWAY_LIMITS } from './limits.js';
import type { Property, Request } from './packet.js';
import { type Link, Session } from './session.js';

/** Published on SUBJECTS.sessions when a session logs in or goes away. */
export interface SessionEvent {
  type: 'online' | 'offline';
  appKey: string;
  accid: string;
  connectionId: string;
  clientType: number;
  instanceId: string;
  /** Login tag 8 was 0: an automatic reconnect of the SDK instance `instanceId` (§11.2). */
  reconnect: boolean;
  port: Property;
}

export interface GatewayDeps {
  accounts: AccountService;
  /** Profiles and account state for login, 3_7 and sync (read-only). */
  accountReader: Pick<AccountStore, 'getAccount' | 'getAccounts'>;
  apps: Pick<AppService, 'secretsFor'>;
  messaging: MessagingService;
  bus: Bus;
  logger: Logger;
  now: () => number;
  /** A prefix that keeps connection ids unique across nodes. */
  nodeId: string;
  /** Packets per second per link after the burst; default GATEWAY_LIMITS.packetsPerSecond. */
  packetRate?: number | undefined;
}

/** Client types that exclude each other (a new mobile login replaces the other mobile one). */
const EXCLUSIVE_CLIENT_TYPES = new Set([1, 2]);
/** The client type shown for server-initiated kicks ("Server", §7.7). */
export const SERVER_CLIENT_TYPE = 32;
export const KICK_REASON = { samePlatform: 1, server: 2, otherPlatform: 3 } as const;

export class Gateway {
  readonly table = new CommandTable();
  readonly #byAccount = new Map<string, Set<Session>>();
  readonly #all = new Set<Session>();
  readonly #unsubscribe: (() => void)[] = [];
  #seq = 0;
  #sweeper: NodeJS.Timeout | undefined;

  /** Packets per second per link after the burst (`--gateway-packet-rate`). */
  readonly packetRate: number;

  constructor(readonly deps: GatewayDeps) {
    this.packetRate = deps.packetRate ?? GATEWAY_LIMITS.packetsPerSecond;
    defineCommands(this);
  }

  async start(): Promise<void> {
    const { bus } = this.deps;
    this.#sweeper = setInterval(() => this.#sweepIdle(), GATEWAY_LIMITS.idleTimeoutMs / 4);
    this.#sweeper.unref();
    this.#unsubscribe.push(
      await bus.subscribe(SUBJECTS.accountEvents, (e) =>
        this.#guard(() => this.#onAccountEvent(e as AccountEvent)),
      ),
      await bus.subscribe(SUBJECTS.messages, (e) =>
        this.#guard(() => this.#onMessage(e as MessageStoredEvent)),
      ),
      await bus.subscribe(SUBJECTS.sessions, (e) =>
        this.#guard(() => this.#onSessionEvent(e as SessionEvent)),
      ),
    );
  }

  async stop(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    for (const u of this.#unsubscribe.splice(0)) u();
    for (const s of [...this.#all]) s.close(1001, 'server shutting down');
  }

  /** A transport hands over a new connection. */
  open(link: Link): Session {
    const id = `${this.deps.nodeId}_${++this.#seq}_${this.deps.now()}`;
    const session = new Session(id, link, (s) => this.#closed(s), this.deps.now);
    this.#all.add(session);
    // Cleared at login (register) or close: an idle logged-in session keeps no timer.
    session.loginTimer = setTimeout(() => {
      if (session.state === 'connected') session.close(1008, 'login timeout');
    }, GATEWAY_LIMITS.loginTimeoutMs);
    session.loginTimer.unref();
    return session;
  }

  get connectionCount(): number {
    return this.#all.size;
  }

  /**
   * The account domain's PresenceQuery (accounts/presence.ts) answered from this node's sessions:
   * userOnlineStatus and the v2 online queries report real sessions.
   */
  readonly presence = {
    sessionsOf: async (appKey: string, accids: readonly string[]) => {
      const out = new Map<
        string,
        { clientType: number; loginTime: number; deviceId: string; consid: string }[]
      >();
      for (const accid of accids) {
        const sessions = this.sessionsOf(appKey, accid);
        if (sessions.length === 0) continue;
        out.set(
          accid,
          sessions.map((s) => ({
            clientType: s.login!.clientType,
            loginTime: s.login!.loginTime,
            deviceId: s.login!.deviceId,
            consid: s.connectionId,
          })),
        );
      }
      return out;
    },
  };

  /** The logged-in sessions of an account on this node. */
  sessionsOf(appKey: string, accid: string): Session[] {
    return [...(this.#byAccount.get(accountKey(appKey, accid)) ?? [])];
  }

  /**
   * What every transport calls with a decoded request: rate limit now, then dispatch in arrival
   * order (a client's sends are stored in the order it sent them). A request starts when every
   * earlier one has completed; a pipelined one (7_1) already when the previous one has done its
   * ordered part (its send is queued for the group commit), so a client's sends share commits.
   * A request that may start at once starts now, without a promise hop (the common case).
   */
  receive(session: Session, req: Request, noReply = false): void {
    if (session.state === 'closed') return;
    if (!session.takePacket(this.packetRate)) {
      session.close(1008, 'too many packets');
      return;
    }
    const cmd = this.table.command(req.sid, req.cid);
    const waiting = session.waiting;
    if (waiting === undefined && mayStart(session, cmd)) this.#start(session, req, cmd, noReply);
    else if (waiting === undefined) session.waiting = [{ req, cmd, noReply }];
    else waiting.push({ req, cmd, noReply });
  }

  /** Starts the waiting requests whose turn has come, in arrival order. */
  #startWaiting(session: Session): void {
    let waiting = session.waiting;
    while (waiting !== undefined && session.state !== 'closed') {
      const next = waiting[0]!;
      if (!mayStart(session, next.cmd)) return;
      waiting.shift();
      if (waiting.length === 0) session.waiting = undefined;
      this.#start(session, next.req, next.cmd, next.noReply);
      waiting = session.waiting;
    }
  }

  #start(session: Session, req: Request, cmd: Entry | undefined, noReply: boolean): void {
    session.running++;
    session.lastReleased = false;
    let released = false;
    // Only the most recent request can release: a later one starts only after it has released.
    const release = () => {
      if (released) return;
      released = true;
      session.lastReleased = true;
      this.#startWaiting(session);
    };
    this.#dispatch(session, req, cmd, noReply, release).then(
      () => this.#completed(session, release),
      (err: unknown) => {
        // #dispatch answers handler errors itself; anything here is a bug: end this link only.
        this.deps.logger.error({ err, sid: req.sid, cid: req.cid }, 'gateway dispatch failed');
        session.close(1011, 'internal error');
        this.#completed(session, release);
      },
    );
  }

  #completed(session: Session, release: () => void): void {
    session.running--;
    release();
    this.#startWaiting(session); // a non-pipelined request may start now that all before it are done
  }

  /** The one dispatch (STYLE.md §10): login gate, handler, reply. */
  dispatch(session: Session, req: Request, noReply = false, ordered: () => void = noop): Promise<void> {
    return this.#dispatch(session, req, this.table.command(req.sid, req.cid), noReply, ordered);
  }

  async #dispatch(
    session: Session,
    req: Request,
    cmd: Entry | undefined,
    noReply: boolean,
    ordered: () => void,
  ): Promise<void> {
    if (session.state === 'closed') return;
    if (!session.active && !cmd?.beforeLogin) return session.close(1008, 'command before login');
    if (!cmd) {
      // Unknown commands get 200 with no body (spec §12 item 12): newer SDKs add commands.
      if (!noReply) session.reply(req.sid, req.cid, req.ser, 200, []);
      return;
    }
    let reply: (Reply & { after?: () => void }) | undefined;
    try {
      const r = cmd.handler(session, req.params, ordered);
      reply = r instanceof Promise ? await r : r;
    } catch (err) {
      if (isDomainError(err)) reply = { code: err.code };
      else {
        this.deps.logger.error({ err, sid: req.sid, cid: req.cid }, 'gateway handler failed');
        reply = { code: 500 };
      }
    }
    if (!noReply && !cmd.noReply) {
      const code = reply?.code ?? 200;
      session.reply(req.sid, req.cid, req.ser, code, code === 200 ? (reply?.body ?? []) : []);
    }
    reply?.after?.();
  }

  /** Makes a logged-in session visible to deliveries and to the account's other sessions. */
  register(session: Session): void {
    const l = session.login!;
    const key = accountKey(l.appKey, l.accid);
    let set = this.#byAccount.get(key);
    if (!set) {
      set = new Set();
      this.#byAccount.set(key, set);
    }
    set.add(session);
    session.state = 'active';
    session.clearLoginTimer();
    void this.#publishSession(session, 'online');
  }

  /** 2_5: tells the client why, then closes the link shortly after (§7.7). */
  kick(session: Session, from: number, reason: number, custom = '', customClientType = 0): void {
    if (!session.active) return;
    session.push(PUSHES.kicked, [from, reason, custom, customClientType]);
    if (this.#unregister(session)) void this.#publishSession(session, 'offline');
    session.state = 'connected';
    const t = setTimeout(() => session.close(4000, 'kicked'), GATEWAY_LIMITS.kickCloseDelayMs);
    t.unref();
  }

  /** Half-open links (no heartbeat for a while) are closed, so a dead device does not linger. */
  #sweepIdle(): void {
    const limit = this.deps.now() - GATEWAY_LIMITS.idleTimeoutMs;
    for (const s of [...this.#all]) if (s.lastSeen < limit) s.close(1001, 'idle');
  }

  #closed(session: Session): void {
    this.#all.delete(session);
    if (this.#unregister(session)) void this.#publishSession(session, 'offline');
  }

  #unregister(session: Session): boolean {
    const l = session.login;
    if (!l) return false;
    const key = accountKey(l.appKey, l.accid);
    const set = this.#byAccount.get(key);
    if (!set?.delete(session)) return false;
    if (set.size === 0) this.#byAccount.delete(key);
    return true;
  }

  async #publishSession(session: Session, type: SessionEvent['type']): Promise<void> {
    const l = session.login!;
    const event: SessionEvent = {
      type,
      appKey: l.appKey,
      accid: l.accid,
      connectionId: session.connectionId,
      clientType: l.clientType,
      instanceId: l.instanceId,
      reconnect: l.reconnect,
      port: session.port(),
    };
    await this.deps.bus.publish(SUBJECTS.sessions, event).catch((err) => {
      this.deps.logger.warn({ err }, 'cannot publish a session event');
    });
  }

  #onSessionEvent(e: SessionEvent): void {
    for (const s of this.sessionsOf(e.appKey, e.accid)) {
      if (s.connectionId === e.connectionId) continue;
      const l = s.login!;
      if (e.type === 'online' && e.reconnect && l.instanceId === e.instanceId) {
        // The same SDK instance reconnected (§11.2): the old link is stale, end it quietly. Only on
        // reconnects: instances in one Node process share tag 26 on their manual logins.
        s.close(1000, 'replaced by a reconnect');
      } else if (
        e.type === 'online' &&
        EXCLUSIVE_CLIENT_TYPES.has(e.clientType) &&
        EXCLUSIVE_CLIENT_TYPES.has(l.clientType)
      ) {
        this.kick(s, e.clientType, KICK_REASON.samePlatform);
      } else {
        s.push(PUSHES.multiPortLogin, [e.type === 'online' ? 2 : 3, [e.port]]);
      }
    }
  }

  #onMessage(e: MessageStoredEvent): void {
    const id = e.fields['12'] ?? '';
    // The live sets, not copies (sessionsOf): pushing never adds or removes a session.
    for (const s of this.#byAccount.get(accountKey(e.appKey, e.to)) ?? NO_SESSIONS) {
      s.remember(id);
      s.push(PUSHES.msg, [e.fields]);
    }
    if (e.fields['102'] === '0') return; // isSyncable off: no copies to the sender's devices
    for (const s of this.#byAccount.get(accountKey(e.appKey, e.from)) ?? NO_SESSIONS) {
      if (s.connectionId === e.originConnectionId || e.to === e.from) continue;
      s.push(PUSHES.syncSendMsg, [e.fields]);
    }
  }

  #onAccountEvent(e: AccountEvent): void {
    const sessions = this.sessionsOf(e.appKey, e.accid);
    switch (e.type) {
      case 'blocked':
        if (e.kick)
          for (const s of sessions) this.kick(s, SERVER_CLIENT_TYPE, KICK_REASON.server, e.kickNotifyExt);
        return;
      case 'tokenChanged':
        for (const s of sessions) this.kick(s, SERVER_CLIENT_TYPE, KICK_REASON.server);
        return;
      case 'kick': {
        const ids = new Set(e.deviceIds ?? []);
        for (const s of sessions) {
          const listed = ids.has(s.login!.deviceId);
          if (e.mode === 1 || (e.mode === 2 && listed) || (e.mode === 3 && !listed))
            this.kick(s, SERVER_CLIENT_TYPE, KICK_REASON.server, e.kickNotifyExt);
        }
        return;
      }
      default:
        // Mute and unblock are read fresh at each send / login: nothing to push.
        return;
    }
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.deps.logger.error({ err }, 'gateway bus handler failed');
    }
  }
}

const accountKey = (appKey: string, accid: string) => `${appKey}\u0000${accid}`;
const noop = () => {};
/** A pipelined command may start once the previous request has released; others once all are done. */
const mayStart = (session: Session, cmd: Entry | undefined) =>
  cmd?.pipelined === true ? session.lastReleased : session.running === 0;
const NO_SESSIONS: ReadonlySet<Session> = new Set();
