/**
 * The p2p messaging domain: a send is validated, stamped (server id, time, sender fields), stored
 * durably with an offline entry for the recipient, then announced on the bus for real-time
 * delivery. The offline entry is retired only by the recipient's ack, so a message pushed in real
 * time to a client that dies before acking is delivered again at its next login: nothing is lost.
 */
import type { Bus } from '../bus/port.js';
import { SUBJECTS } from '../bus/subjects.js';
import type { AccountStore, MessageRecord, MessageStore } from '../store/port.js';
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
  ) {}

  /**
   * 7_1 and msg/sendMsg.action. Throws a DomainError for invalid input (414), a muted sender (423)
   * or an unknown recipient (404). A resend of a stored idClient returns the stored message and is
   * not delivered twice.
   */
  async sendP2P(origin: SendOrigin, input: Record<string, string>): Promise<Record<string, string>> {
    checkMessageFields(input);
    const to = input[TAG.to]!.toLowerCase();
    const [sender, recipient] = await Promise.all([
      this.accounts.getAccount(origin.appKey, origin.accid),
      to === origin.accid ? undefined : this.accounts.getAccount(origin.appKey, to),
    ]);
    if (!sender) throw recipientNotFound(origin.accid);
    if (sender.mute || sender.muteP2P) throw muted();
    if (to !== origin.accid && !recipient) throw recipientNotFound(to);

    const fields: Record<string, string> = { ...input };
    for (const tag of SERVER_TAGS) delete fields[tag];
    const idClient =
      fields[TAG.idClient] || `s${this.now().toString(36)}${Math.random().toString(36).slice(2)}`;
    Object.assign(fields, {
      [TAG.scene]: String(SCENE_P2P),
      [TAG.to]: to,
      [TAG.from]: origin.accid,
      [TAG.fromClientType]: String(origin.clientType),
      [TAG.fromDeviceId]: origin.deviceId,
      [TAG.idClient]: idClient,
      [TAG.userUpdateTime]: String(sender.updatedAt),
    });
    if (sender.name && fields[TAG.fromNick] === undefined) fields[TAG.fromNick] = sender.name;
    const offline = fields[TAG.isOfflinable] === '0' || to === origin.accid ? [] : [to];
    const { message, inserted } = await this.messages.insertMessage(
      { appKey: origin.appKey, scene: SCENE_P2P, from: origin.accid, to, idClient, time: this.now(), fields },
      offline,
    );
    const full = wireFields(message);
    if (inserted) {
      const event: MessageStoredEvent = {
        type: 'p2p',
        appKey: origin.appKey,
        from: origin.accid,
        to,
        fields: full,
        originConnectionId: origin.connectionId,
      };
      await this.bus.publish(SUBJECTS.messages, event).catch(this.onPublishError);
    }
    return full;
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
