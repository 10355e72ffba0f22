/**
 * The persistence port. Adapters (sqlite.ts, postgres.ts) implement it and pass the same contract
 * suite (test/store/contract.test.ts). It speaks domain types only: driver types and driver error
 * codes stop inside the adapter. Expected outcomes (a duplicate accid, a missing row) are return
 * values, never exceptions: they are on the hot path.
 */

/** An account as stored. Optional strings are undefined when never set or cleared. */
export interface AccountRecord {
  appKey: string;
  /** Lower-cased accid (spec/accounts-v1.md §0.1). */
  accid: string;
  /** The login token sealed by SecretVault; never the plain token. */
  tokenSealed: Uint8Array;
  name?: string | undefined;
  icon?: string | undefined;
  sign?: string | undefined;
  email?: string | undefined;
  birth?: string | undefined;
  mobile?: string | undefined;
  ex?: string | undefined;
  props?: string | undefined;
  gender: number;
  /** Banned through block.action / v2 disable. */
  blocked: boolean;
  /** Global mute (mute.action). */
  mute: boolean;
  muteP2P: boolean;
  muteTeam: boolean;
  muteRoom: boolean;
  muteQChat: boolean;
  muteAv: boolean;
  /** setDonnop: no mobile push while a desktop client is online. */
  donnop: boolean;
  createdAt: number;
  updatedAt: number;
}

/**
 * An account to insert: its login token still in the clear. The store seals it with the key given to
 * `useSealingKey` where it writes the row (on SQLite, on the writer thread, off the request path);
 * only the sealed form is ever stored.
 */
export interface NewAccountRecord extends Omit<AccountRecord, 'tokenSealed'> {
  token: string;
}

/** Columns an update may change; a key that is present (even undefined) is written. */
export type AccountPatch = Partial<Omit<AccountRecord, 'appKey' | 'accid' | 'createdAt'>>;

export interface AccountStore {
  /** Inserts `account`; resolves false (no exception) when (appKey, accid) exists. Durable when resolved. */
  insertAccount(account: NewAccountRecord): Promise<boolean>;
  getAccount(appKey: string, accid: string): Promise<AccountRecord | undefined>;
  /** The accounts that exist among `accids` (each once, however often named), in no particular order. */
  getAccounts(appKey: string, accids: readonly string[]): Promise<AccountRecord[]>;
  /**
   * Applies `patch`; resolves the account as stored after it (a concurrent update's changes may be in
   * it too), or undefined when the account does not exist. Durable when resolved.
   */
  updateAccount(appKey: string, accid: string, patch: AccountPatch): Promise<AccountRecord | undefined>;
  countAccounts(appKey: string): Promise<number>;
  /**
   * Inserts every account of `accounts` in ONE transaction (batch create, import); per item true when
   * inserted, false when (appKey, accid) existed. Durable when resolved.
   */
  insertAccountBatch(accounts: readonly NewAccountRecord[]): Promise<boolean[]>;
  /** Up to `limit` accounts of `appKey` with accid > `afterAccid`, in accid order (export paging). */
  listAccountsPage(appKey: string, afterAccid: string | undefined, limit: number): Promise<AccountRecord[]>;
}

/** setSpecialRelation.action: `accid` puts `targetAccid` on its blacklist (1) or mute list (2). */
export interface RelationRecord {
  targetAccid: string;
  type: number;
  createdAt: number;
}

export interface RelationStore {
  /** Adds (`on`) or removes a relation; adding twice or removing a missing one is a no-op. Durable when resolved. */
  setRelation(appKey: string, accid: string, relation: RelationRecord, on: boolean): Promise<void>;
  /** The relations of `accid`, oldest first. */
  listRelations(appKey: string, accid: string): Promise<RelationRecord[]>;
}

/** A remembered answer to a request sent with an Idempotency-Key (a nimbase extension). */
export interface IdempotencyRecord {
  appKey: string;
  key: string;
  /**
   * The request's fingerprint and the answer body, sealed together by SecretVault: both may reveal a
   * token, so neither is stored in the clear.
   */
  responseSealed: Uint8Array;
  createdAt: number;
}

export interface IdempotencyStore {
  getIdempotency(appKey: string, key: string): Promise<IdempotencyRecord | undefined>;
  /** Resolves false when (appKey, key) exists. Durable when resolved. */
  insertIdempotency(record: IdempotencyRecord): Promise<boolean>;
  /** Forgets records created before `createdBefore` (ms); resolves how many. */
  deleteIdempotencyBefore(createdBefore: number): Promise<number>;
}

/** An application (tenant): its accounts live apart from every other app's. */
export interface AppRecord {
  appKey: string;
  name: string;
  secretSealed: Uint8Array;
  /** The secret before the last rotation, accepted until `previousSecretExpiresAt` (ms). */
  previousSecretSealed?: Uint8Array | undefined;
  previousSecretExpiresAt?: number | undefined;
  createdAt: number;
}

export interface AppStore {
  /** Resolves false when the appKey exists. */
  insertApp(app: AppRecord): Promise<boolean>;
  getApp(appKey: string): Promise<AppRecord | undefined>;
  listApps(): Promise<AppRecord[]>;
  /** Replaces the secret fields; resolves false when the app does not exist. */
  updateAppSecrets(
    appKey: string,
    secrets: Pick<AppRecord, 'secretSealed' | 'previousSecretSealed' | 'previousSecretExpiresAt'>,
  ): Promise<boolean>;
}

export interface Store extends AccountStore, AppStore, RelationStore, IdempotencyStore, MessageStore {
  /** 'sqlite' or 'postgres': for logs and the readiness report. */
  readonly kind: string;
  /**
   * insertMessage stores messages in the order it is called (and numbers them in that order), so a
   * sender's next message may be queued before this one is stored. Both of nimbase's stores do.
   */
  readonly messagesInCallOrder: boolean;
  /** The SecretVault key new accounts' tokens are sealed with (before the first insert). */
  useSealingKey(key: Uint8Array): void;
  /** Applies pending migrations; resolves the number applied. */
  migrate(): Promise<number>;
  /** True when the store answers a trivial query (readiness). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * A stored message. `fields` are the message's protocol tags (spec/client-protocol.md §8) as sent
 * and completed by the server, minus the store-assigned id (tag 12) and time (tag 7), which live in
 * their own columns; keeping the tags verbatim preserves fields the server does not interpret.
 */
export interface MessageRecord {
  /** Store-assigned, unique, increasing, below 2^53 (the SDK decodes Longs as JS numbers). */
  id: number;
  appKey: string;
  /** 0 p2p (teams later). */
  scene: number;
  from: string;
  to: string;
  idClient: string;
  time: number;
  fields: Record<string, string>;
}

export type NewMessage = Omit<MessageRecord, 'id'>;

/**
 * `s` as a store keeps it: both drivers send the UTF-8 of a JavaScript string, where a lone
 * surrogate (which the JSON framing can carry) becomes U+FFFD. Keys compared in memory against
 * stored ones need this first; so do strings put in JSON text for PostgreSQL, which refuses a
 * `\ud800` escape.
 */
export function wellFormed(s: string): string {
  const w = s as unknown as { isWellFormed(): boolean; toWellFormed(): string };
  return w.isWellFormed() ? s : w.toWellFormed();
}

/**
 * A new message's columns in the order both stores insert them: app_key, scene, from_accid, to_id,
 * id_client, time, fields (JSON text).
 */
export type MessageInsertValues = [string, number, string, string, string, number, string];
export const messageInsertValues = (m: NewMessage): MessageInsertValues => [
  m.appKey,
  m.scene,
  m.from,
  m.to,
  m.idClient,
  m.time,
  JSON.stringify(m.fields),
];

export interface MessageStore {
  /**
   * Stores a message and, in the same transaction, one offline entry per `offlineFor` account.
   * A message with the same (appKey, from, idClient) already stored is returned with inserted=false
   * (a client resend) and nothing is written: on PostgreSQL always, on SQLite while the first copy
   * is among its last `resendWindow` messages (resend-window.ts). Durable when resolved.
   */
  insertMessage(
    message: NewMessage,
    offlineFor: readonly string[],
  ): Promise<{ message: MessageRecord; inserted: boolean }>;
  /** The account's undelivered messages, oldest first. */
  listOffline(appKey: string, accid: string, limit: number): Promise<MessageRecord[]>;
  /** Retires offline entries after the client's ack; resolves how many were removed. */
  ackOffline(appKey: string, accid: string, ids: readonly number[]): Promise<number>;
}
