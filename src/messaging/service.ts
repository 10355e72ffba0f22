/**
 * The p2p messaging domain: a send is validated, stamped (server id, time, sender fields), stored
 * durably with an offline entry for the recipient, then announced on the bus for real-time
 * delivery. The offline entry is retired only by the recipient's ack, so a message pushed in real
 * time to a client that dies before acking is delivered again at its next login: nothing is lost.
 */
import type { Bus } from '../bus/port.js';
import { SUBJECTS } from '../bus/subjects.js';
import type { AccountRecord, AccountStore, MessageRecord, MessageStore } from '../store/port.js';
import type { MessageStoredEvent } from './events.js';
import { checkMessageFields, muted, recipientNotFound, SCENE_P2P, SERVER_TAGS, TAG } from './rules.js';

/** Who sends: a logged-in session, or the app server through the server API. */
export interface SendOrigin {
  appKey: string;
  accid: string;
  /** The sender's client type (16 Web, 32 server API …). */
  clientType: number;
  deviceId: string;
  connectionId?: string | undefined;
}

/** Recipients remembered as existing (MessagingService.#exists) before the memory is cleared. */
const KNOWN_ACCOUNTS_MAX = 100_000;

const SERVER_TAG_SET: ReadonlySet<string> = new Set(SERVER_TAGS);

/** Offline messages handed out per login sync; the rest follow at the next one. */
export const OFFLINE_SYNC_LIMIT = 5000;

export class MessagingService {
  constructor(
    private readonly messages: MessageStore,
    private readonly accounts: AccountStore,
    private readonly bus: Bus,
    private readonly now: () => number = Date.now,
    /** A failed real-time announcement loses nothing (the offline entry stays); it is reported here. */
    private readonly onPublishError: (err: unknown) => void = () => {},
    /**
     * The store performs message inserts in the order they are called (both of nimbase's stores
     * do: they queue them for group commit): a sender's next send may then start as soon as this
     * one's insert is queued.
     */
    private readonly insertsInCallOrder = false,
  ) {}

  /**
   * 7_1 and msg/sendMsg.action. Throws a DomainError for invalid input (414), a muted sender (423)
   * or an unknown recipient (404). A resend of a stored idClient returns the stored message and is
   * not delivered twice (on SQLite: while the first copy is in the store's resend window).
   * `ordered` is called once the sender's next send may start without being stored before this one.
   */
  async sendP2P(
    origin: SendOrigin,
    input: Record<string, string>,
    ordered?: () => void,
  ): Promise<Readonly<Record<string, string>>> {
    checkMessageFields(input);
    const to = input[TAG.to]!.toLowerCase();
    const sender = await this.#account(origin.appKey, origin.accid);
    if (!sender) throw recipientNotFound(origin.accid);
    if (sender.mute || sender.muteP2P) throw muted();
    // Known recipients (the usual case) without a read; an unknown one is read once.
    if (to !== origin.accid && !this.#existing.has(`${origin.appKey}\u0000${to}`)) {
      if (!(await this.#exists(origin.appKey, to))) throw recipientNotFound(to);
    }

    // Copied without the server's tags rather than copied and `delete`d: a delete turns the object
    // into a slow dictionary for everything that reads it later (storage, bus, both encodings).
    const fields: Record<string, string> = {};
    for (const tag of Object.keys(input)) if (!SERVER_TAG_SET.has(tag)) fields[tag] = input[tag]!;
    const idClient =
      fields[TAG.idClient] || `s${this.now().toString(36)}${Math.random().toString(36).slice(2)}`;
    fields[TAG.scene] = String(SCENE_P2P);
    fields[TAG.to] = to;
    fields[TAG.from] = origin.accid;
    fields[TAG.fromClientType] = String(origin.clientType);
    fields[TAG.fromDeviceId] = origin.deviceId;
    fields[TAG.idClient] = idClient;
    fields[TAG.userUpdateTime] = String(sender.updatedAt);
    if (sender.name && fields[TAG.fromNick] === undefined) fields[TAG.fromNick] = sender.name;
    const offline = fields[TAG.isOfflinable] === '0' || to === origin.accid ? [] : [to];
    const insert = this.messages.insertMessage(
      { appKey: origin.appKey, scene: SCENE_P2P, from: origin.accid, to, idClient, time: this.now(), fields },
      offline,
    );
    if (this.insertsInCallOrder) ordered?.();
    const { message, inserted } = await insert;
    // Frozen: the reply, the bus event and every push share this one object (the in-process bus
    // does not copy what cannot change, and the binary framing encodes it once).
    const full = Object.freeze(wireFields(message));
    if (inserted) {
      const event: MessageStoredEvent = {
        type: 'p2p',
        appKey: origin.appKey,
        from: origin.accid,
        to,
        fields: full,
        originConnectionId: origin.connectionId,
      };
      try {
        await this.bus.publish(SUBJECTS.messages, event);
      } catch (err) {
        this.onPublishError(err);
      }
    }
    return full;
  }

  /**
   * Account reads shared by the sends of one event-loop turn (cleared before the next turn polls
   * for input): a busy sender or recipient is read once per turn, not once per message. Sends of
   * one turn are simultaneous; a mute or block answered to its caller is seen by every later turn.
   */
  #turnReads = new Map<string, Promise<AccountRecord | undefined>>();

  #account(appKey: string, accid: string): Promise<AccountRecord | undefined> {
    const key = `${appKey}\u0000${accid}`;
    let read = this.#turnReads.get(key);
    if (!read) {
      if (this.#turnReads.size === 0) setImmediate(() => this.#turnReads.clear());
      read = this.accounts.getAccount(appKey, accid);
      this.#turnReads.set(key, read);
    }
    return read;
  }

  /**
   * Accounts known to exist. Only the recipient's existence matters to a send, and an account is
   * never deleted (neither CommsEase nor nimbase has a delete call: accounts are blocked instead),
   * so a positive answer stays true. Bounded: cleared when full. If accounts ever become deletable,
   * a deletion must reach this set (or the set must go).
   */
  readonly #existing = new Set<string>();

  async #exists(appKey: string, accid: string): Promise<boolean> {
    const key = `${appKey}\u0000${accid}`;
    if (this.#existing.has(key)) return true;
    if (!(await this.#account(appKey, accid))) return false;
    if (this.#existing.size >= KNOWN_ACCOUNTS_MAX) this.#existing.clear();
    this.#existing.add(key);
    return true;
  }

  /** The account's undelivered messages, oldest first (login sync, 4_4). */
  async offlineMessages(appKey: string, accid: string): Promise<Record<string, string>[]> {
    return (await this.messages.listOffline(appKey, accid, OFFLINE_SYNC_LIMIT)).map(wireFields);
  }

  /** The client's 4_5 ack: ids that are not numbers or not this account's are ignored. */
  async acknowledge(appKey: string, accid: string, ids: readonly unknown[]): Promise<number> {
    const numeric = ids.map(Number).filter((n) => Number.isSafeInteger(n) && n > 0);
    return this.messages.ackOffline(appKey, accid, numeric);
  }
}

/** A stored message as the protocol carries it: its tags plus idServer and time. */
export function wireFields(m: MessageRecord): Record<string, string> {
  return { ...m.fields, [TAG.idServer]: String(m.id), [TAG.time]: String(m.time) };
}
