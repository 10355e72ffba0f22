/**
 * The account domain service: every account rule is applied here (via rules.ts), whichever API
 * generation (v1 form, v2 JSON) the request came through. The api/ layer parses the wire into the
 * inputs below and renders the results; it never touches the store.
 */
import { type SecretVault, tokenOwner } from '../security/vault.js';
import type {
  AccountPatch,
  AccountRecord,
  AccountStore,
  NewAccountRecord,
  RelationStore,
} from '../store/port.js';
import { alreadyRegistered, type DomainError, isDomainError, notRegistered, tooMany } from './errors.js';
import { type AccountEvent, type AccountEventSink, NO_EVENTS } from './events.js';
import { NO_PRESENCE, type PresenceQuery, type PresenceSession } from './presence.js';
import {
  type AccountView,
  type BatchItemResult,
  generateToken,
  isSameCreate,
  type KickOption,
  type KickRequest,
  MUTE_FIELDS,
  type NewAccountInput,
  newAccountRecord,
  type RegisteredAccount,
  type SettingsInput,
  view,
} from './registration.js';
import {
  BATCH_CREATE_MAX,
  checkKickNotifyExt,
  checkProfile,
  checkProps,
  checkToken,
  type EmailValidationMode,
  lookupAccid,
  PROFILE_FIELDS,
  type ProfileInput,
  RELATION_TYPES,
  type RelationType,
} from './rules.js';

/** The switches of accounts-v1.md §0.1 and of the idempotency extension (config: serveSchema). */
export interface AccountPolicy {
  /** Lower-case an accid before looking it up (default false: exact match on the stored lower case). */
  lowercaseLookup: boolean;
  /** Answer a create whose every field equals the stored account with the original 200 (default false). */
  replayEqualCreate: boolean;
}

export interface AccountServiceOptions extends Partial<AccountPolicy> {
  events?: AccountEventSink;
  presence?: PresenceQuery;
}

export type {
  AccountView,
  BatchItemResult,
  KickOption,
  KickRequest,
  NewAccountInput,
  RegisteredAccount,
  SettingsInput,
} from './registration.js';
export { generateToken, SETTING_FIELDS } from './registration.js';

export class AccountService {
  readonly policy: AccountPolicy;
  #events: AccountEventSink;
  #presence: PresenceQuery;

  constructor(
    private readonly store: AccountStore & RelationStore,
    private readonly vault: SecretVault,
    private readonly now: () => number = Date.now,
    options: AccountServiceOptions = {},
  ) {
    this.policy = {
      lowercaseLookup: options.lowercaseLookup ?? false,
      replayEqualCreate: options.replayEqualCreate ?? false,
    };
    this.#events = options.events ?? NO_EVENTS;
    this.#presence = options.presence ?? NO_PRESENCE;
  }

  /** The client gateway plugs in the real session registry once it is built. */
  usePresence(presence: PresenceQuery): void {
    this.#presence = presence;
  }

  // ---- create -------------------------------------------------------------------------------------

  /**
   * user/create.action and POST /im/v2/accounts. Invalid input throws a DomainError; a duplicate
   * (an expected outcome, frequent under SDK retries) is returned as a DomainError value instead —
   * unless the replay switch is on and the create equals the stored account.
   */
  async registerAccount(appKey: string, input: NewAccountInput): Promise<RegisteredAccount | DomainError> {
    const record = newAccountRecord(appKey, input, this.now());
    if (await this.store.insertAccount(record))
      return { accid: record.accid, token: record.token, name: record.name ?? '', account: view(record) };
    if (this.policy.replayEqualCreate) {
      const stored = await this.store.getAccount(appKey, record.accid);
      if (stored && isSameCreate(stored, record, input.token, this.vault)) {
        const storedToken = this.vault.open(stored.tokenSealed, tokenOwner(appKey, stored.accid));
        return { accid: stored.accid, token: storedToken, name: stored.name ?? '', account: view(stored) };
      }
    }
    return alreadyRegistered();
  }

  /** Batch create (extension): ≤ 1000 accounts, one transaction, one result per item in input order. */
  async registerAccountBatch(
    appKey: string,
    inputs: readonly (NewAccountInput | DomainError)[],
  ): Promise<BatchItemResult[]> {
    if (inputs.length > BATCH_CREATE_MAX) throw tooMany('accounts', BATCH_CREATE_MAX);
    const results: BatchItemResult[] = [];
    const valid: { index: number; record: NewAccountRecord }[] = [];
    inputs.forEach((input, index) => {
      if (isDomainError(input)) {
        results.push({ outcome: 'invalid', error: input });
        return;
      }
      try {
        valid.push({ index, record: newAccountRecord(appKey, input, this.now()) });
        results.push({ outcome: 'exists', accid: '' }); // placeholder, replaced below
      } catch (err) {
        if (!isDomainError(err)) throw err;
        results.push({ outcome: 'invalid', error: err });
      }
    });
    const inserted = await this.store.insertAccountBatch(valid.map((v) => v.record));
    valid.forEach((v, i) => {
      results[v.index] = inserted[i]
        ? { outcome: 'created', accid: v.record.accid, token: v.record.token, account: view(v.record) }
        : { outcome: 'exists', accid: v.record.accid };
    });
    return results;
  }

  // ---- lookups ------------------------------------------------------------------------------------

  /** The account `raw` names, or the `<accid> not register` error (accounts-v1.md §2). */
  async #resolve(appKey: string, raw: string | undefined, param = 'accid'): Promise<AccountRecord> {
    const accid = lookupAccid(raw, this.policy.lowercaseLookup, param);
    const account = await this.store.getAccount(appKey, accid);
    if (!account) throw notRegistered(raw!, param);
    return account;
  }

  /** One account with its plain token (v2 GET /accounts/{id}). */
  async getAccount(
    appKey: string,
    raw: string | undefined,
  ): Promise<{ account: AccountView; token: string }> {
    const a = await this.#resolve(appKey, raw);
    return { account: view(a), token: this.vault.open(a.tokenSealed, tokenOwner(appKey, a.accid)) };
  }

  /**
   * Many accounts (getUinfos, v2 batch GETs): `found` in request order, `missing` the requested ids
   * that name no account of this app. `accids` come from rules.checkAccidList.
   */
  async getAccounts(
    appKey: string,
    accids: readonly string[],
  ): Promise<{ found: AccountView[]; missing: string[] }> {
    const keys = this.policy.lowercaseLookup ? accids.map((a) => a.toLowerCase()) : accids;
    // The store returns each existing account once, however often it is named.
    const rows = await this.store.getAccounts(appKey, keys);
    if (rows.length === keys.length && inOrder(rows, keys)) return { found: rows.map(view), missing: [] };
    const byAccid = new Map<string, AccountRecord>();
    for (const r of rows) byAccid.set(r.accid, r);
    const found: AccountView[] = [];
    const missing: string[] = [];
    for (let i = 0; i < keys.length; i++) {
      const row = byAccid.get(keys[i]!);
      if (!row) missing.push(accids[i]!);
      else {
        found.push(view(row));
        byAccid.delete(keys[i]!); // a second name for the same account adds nothing
      }
    }
    return { found, missing };
  }

  // ---- token --------------------------------------------------------------------------------------

  /** user/update.action: a new token (only the latest is valid from now on) and/or props. */
  async updateToken(
    appKey: string,
    raw: string | undefined,
    input: { token?: string | undefined; props?: string | undefined },
  ): Promise<void> {
    const token = checkToken(input.token);
    const props = checkProps(input.props);
    const a = await this.#resolve(appKey, raw);
    const patch: AccountPatch = { updatedAt: this.now() };
    if (token !== undefined) patch.tokenSealed = this.vault.seal(token, tokenOwner(appKey, a.accid));
    if (props !== undefined) patch.props = props;
    await this.#write(a, patch);
    if (token !== undefined)
      await this.#emit({ type: 'tokenChanged', appKey, accid: a.accid, reason: 'update' });
  }

  /** user/refreshToken.action, v2 refresh_token: a server-generated token. */
  async refreshToken(appKey: string, raw: string | undefined): Promise<{ accid: string; token: string }> {
    const a = await this.#resolve(appKey, raw);
    const token = generateToken();
    await this.#write(a, {
      tokenSealed: this.vault.seal(token, tokenOwner(appKey, a.accid)),
      updatedAt: this.now(),
    });
    await this.#emit({ type: 'tokenChanged', appKey, accid: a.accid, reason: 'refresh' });
    return { accid: a.accid, token };
  }

  // ---- profile and settings -----------------------------------------------------------------------

  /** user/updateUinfo.action, PATCH /im/v2/users/{id}: absent = unchanged, '' = cleared. */
  async updateProfile(
    appKey: string,
    raw: string | undefined,
    input: ProfileInput,
    emailMode: EmailValidationMode = 0,
  ): Promise<AccountView> {
    const profile = checkProfile(input, emailMode);
    const a = await this.#resolve(appKey, raw);
    return view(await this.#write(a, { ...profilePatch(profile), updatedAt: this.now() }));
  }

  /**
   * The flags: block/unblock, mute, muteAv, muteModule, setDonnop and v2 disable/push_config. Publishes
   * blocked/unblocked when `blocked` is given and muteChanged when a chat mute flag is given.
   */
  async updateSettings(
    appKey: string,
    raw: string | undefined,
    settings: SettingsInput,
    kick: KickOption = {},
  ): Promise<AccountView> {
    const ext = checkKickNotifyExt(kick.kickNotifyExt);
    const a = await this.#resolve(appKey, raw);
    const updated = await this.#write(a, { ...settings, updatedAt: this.now() });
    await this.#emitSettings(updated, settings, { kick: kick.kick, kickNotifyExt: ext });
    return view(updated);
  }

  /**
   * PATCH /im/v2/accounts/{id}: token, configuration and profile in one write, then the events, then
   * an optional kick of every session.
   */
  async updateAccount(
    appKey: string,
    raw: string | undefined,
    input: {
      token?: string | undefined;
      settings?: SettingsInput;
      profile?: ProfileInput;
      emailMode?: EmailValidationMode;
      kick?: KickOption;
    },
  ): Promise<{ account: AccountView; token: string }> {
    const token = checkToken(input.token);
    const profile = checkProfile(input.profile ?? {}, input.emailMode);
    const ext = checkKickNotifyExt(input.kick?.kickNotifyExt);
    const a = await this.#resolve(appKey, raw);
    const patch: AccountPatch = { ...profilePatch(profile), ...input.settings, updatedAt: this.now() };
    if (token !== undefined) patch.tokenSealed = this.vault.seal(token, tokenOwner(appKey, a.accid));
    const updated = await this.#write(a, patch);
    if (token !== undefined)
      await this.#emit({ type: 'tokenChanged', appKey, accid: a.accid, reason: 'update' });
    const settings = input.settings ?? {};
    const kick = input.kick?.kick === true;
    // Disabling with need_kick is one 'blocked' event carrying the kick, as block.action's needkick.
    await this.#emitSettings(updated, settings, {
      kick: kick && settings.blocked === true,
      kickNotifyExt: ext,
    });
    if (kick && settings.blocked !== true)
      await this.#emit({ type: 'kick', appKey, accid: a.accid, mode: 1, kickNotifyExt: ext });
    return {
      account: view(updated),
      token: token ?? this.vault.open(a.tokenSealed, tokenOwner(appKey, a.accid)),
    };
  }

  async #emitSettings(a: AccountRecord, s: SettingsInput, kick: KickOption): Promise<void> {
    if (s.blocked === true)
      await this.#emit({
        type: 'blocked',
        appKey: a.appKey,
        accid: a.accid,
        kick: kick.kick ?? false,
        kickNotifyExt: kick.kickNotifyExt,
      });
    if (s.blocked === false) await this.#emit({ type: 'unblocked', appKey: a.appKey, accid: a.accid });
    if (MUTE_FIELDS.some((f) => s[f] !== undefined))
      await this.#emit({
        type: 'muteChanged',
        appKey: a.appKey,
        accid: a.accid,
        mute: a.mute,
        muteP2P: a.muteP2P,
        muteTeam: a.muteTeam,
        muteRoom: a.muteRoom,
        muteQChat: a.muteQChat,
      });
  }

  // ---- presence -----------------------------------------------------------------------------------

  /** userOnlineStatus.action, v2 online_status: sessions of the existing accounts, and the unknown ids. */
  async onlineStatus(
    appKey: string,
    accids: readonly string[],
  ): Promise<{ found: AccountView[]; sessions: Map<string, PresenceSession[]>; missing: string[] }> {
    const { found, missing } = await this.getAccounts(appKey, accids);
    const sessions = found.length
      ? await this.#presence.sessionsOf(
          appKey,
          found.map((a) => a.accid),
        )
      : new Map<string, PresenceSession[]>();
    return { found, sessions, missing };
  }

  /**
   * POST /im/v2/accounts/{id}/actions/kick: publishes a 'kick' event (the gateway closes the sessions)
   * and answers the sessions it targets, from the presence registry, and the listed devices not online.
   */
  async kick(
    appKey: string,
    raw: string | undefined,
    req: KickRequest,
  ): Promise<{ kicked: PresenceSession[]; notOnline: string[] }> {
    const ext = checkKickNotifyExt(req.kickNotifyExt, 'kick_notify_extension');
    const a = await this.#resolve(appKey, raw);
    const sessions = (await this.#presence.sessionsOf(appKey, [a.accid])).get(a.accid) ?? [];
    const listed = new Set(req.deviceIds ?? []);
    const kicked = sessions.filter((s) =>
      req.mode === 1 ? true : req.mode === 2 ? listed.has(s.deviceId) : !listed.has(s.deviceId),
    );
    const online = new Set(sessions.map((s) => s.deviceId));
    const notOnline = req.mode === 2 ? [...listed].filter((d) => !online.has(d)) : [];
    await this.#emit({
      type: 'kick',
      appKey,
      accid: a.accid,
      mode: req.mode,
      deviceIds: req.mode === 1 ? undefined : [...listed],
      kickNotifyExt: ext,
    });
    return { kicked, notOnline };
  }

  // ---- relations (setSpecialRelation / listBlackAndMuteList) ---------------------------------------

  async setRelation(
    appKey: string,
    raw: string | undefined,
    rawTarget: string | undefined,
    type: RelationType,
    on: boolean,
  ): Promise<void> {
    const a = await this.#resolve(appKey, raw);
    const target = await this.#resolve(appKey, rawTarget, 'targetAcc');
    await this.store.setRelation(
      appKey,
      a.accid,
      { targetAccid: target.accid, type, createdAt: this.now() },
      on,
    );
  }

  async listRelations(
    appKey: string,
    raw: string | undefined,
  ): Promise<{ blacklist: string[]; mutelist: string[] }> {
    const a = await this.#resolve(appKey, raw);
    const rows = await this.store.listRelations(appKey, a.accid);
    return {
      blacklist: rows.filter((r) => r.type === RELATION_TYPES.blacklist).map((r) => r.targetAccid),
      mutelist: rows.filter((r) => r.type === RELATION_TYPES.mutelist).map((r) => r.targetAccid),
    };
  }

  // ---- login --------------------------------------------------------------------------------------

  /** True when `token` is the account's current token (constant-time). */
  async verifyToken(appKey: string, accid: string, token: string): Promise<boolean> {
    return (await this.loginAccount(appKey, accid, token)) !== undefined;
  }

  /**
   * The account when `token` is its current login token (compared in constant time), else
   * undefined: a login's token check and account read in one store read.
   */
  async loginAccount(appKey: string, accid: string, token: string): Promise<AccountRecord | undefined> {
    const account = await this.store.getAccount(appKey, accid);
    return account !== undefined && this.vault.matches(account.tokenSealed, tokenOwner(appKey, accid), token)
      ? account
      : undefined;
  }

  // ---- internals ----------------------------------------------------------------------------------

  /** Applies `patch` (durable when resolved) and returns the account as stored now. */
  async #write(a: AccountRecord, patch: AccountPatch): Promise<AccountRecord> {
    // The row as stored: a write of another request between our read and this one is part of it.
    const updated = await this.store.updateAccount(a.appKey, a.accid, patch);
    if (!updated) throw notRegistered(a.accid);
    return updated;
  }

  /** Events follow a durable write; a sink failure must not turn a done write into an error answer. */
  async #emit(event: AccountEvent): Promise<void> {
    // Absent optional fields are left out, as a JSON broker would carry them.
    for (const k of Object.keys(event) as (keyof AccountEvent)[]) if (event[k] === undefined) delete event[k];
    try {
      await this.#events.publish(event);
    } catch {
      // The sink reports its own failures (runtime.ts); the write stands.
    }
  }
}

function profilePatch(p: ReturnType<typeof checkProfile>): AccountPatch {
  const patch: AccountPatch = {};
  // '' clears: stored as absent, so getUinfos omits it (accounts-v1.md §7).
  for (const f of PROFILE_FIELDS) if (p[f] !== undefined) patch[f] = p[f] === '' ? undefined : p[f];
  if (p.gender !== undefined) patch.gender = p.gender;
  return patch;
}

/** True when every key found its row, in the keys' order (the common case: no map needed). */
function inOrder(rows: readonly AccountRecord[], keys: readonly string[]): boolean {
  for (let i = 0; i < rows.length; i++) if (rows[i]!.accid !== keys[i]) return false;
  return true;
}
