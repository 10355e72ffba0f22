/**
 * The account domain service: every account rule is applied here (via rules.ts), whichever API
 * generation (v1 form, v2 JSON) the request came through.
 */
import { randomBytesPooled } from '../security/random.js';
import { type SecretVault, tokenOwner } from '../security/vault.js';
import type { AccountRecord, AccountStore } from '../store/port.js';
import { alreadyRegistered, type DomainError } from './errors.js';
import { checkProfile, checkProps, checkToken, normalizeAccid, type ProfileInput } from './rules.js';

/** What a caller asks to register; strings as received (absent = undefined). */
export interface NewAccountInput {
  accid: string | undefined;
  token?: string | undefined;
  profile?: ProfileInput;
  props?: string | undefined;
}

export interface RegisteredAccount {
  accid: string;
  token: string;
  name: string;
}

/** A server-generated token: 128 bits from the CSPRNG as 32 lowercase hex (the cloud's format). */
export const generateToken = (): string => randomBytesPooled(16).toString('hex');

export class AccountService {
  constructor(
    private readonly store: AccountStore,
    private readonly vault: SecretVault,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * user/create.action and POST /im/v2/accounts. Invalid input throws a DomainError; a duplicate
   * (an expected outcome, frequent under SDK retries) is returned as a DomainError value instead.
   */
  async registerAccount(appKey: string, input: NewAccountInput): Promise<RegisteredAccount | DomainError> {
    const accid = normalizeAccid(input.accid);
    const token = checkToken(input.token) ?? generateToken();
    const profile = checkProfile(input.profile ?? {});
    const props = checkProps(input.props);
    const now = this.now();
    const record: AccountRecord = {
      appKey,
      accid,
      tokenSealed: this.vault.seal(token, tokenOwner(appKey, accid)),
      name: profile.name || undefined,
      icon: profile.icon || undefined,
      sign: profile.sign || undefined,
      email: profile.email || undefined,
      birth: profile.birth || undefined,
      mobile: profile.mobile || undefined,
      ex: profile.ex || undefined,
      props: props || undefined,
      gender: profile.gender ?? 0,
      blocked: false,
      mute: false,
      muteP2P: false,
      muteTeam: false,
      muteRoom: false,
      muteQChat: false,
      muteAv: false,
      donnop: false,
      createdAt: now,
      updatedAt: now,
    };
    if (!(await this.store.insertAccount(record))) return alreadyRegistered();
    return { accid, token, name: profile.name ?? '' };
  }

  /** True when `token` is the account's current token (constant-time). */
  async verifyToken(appKey: string, accid: string, token: string): Promise<boolean> {
    const account = await this.store.getAccount(appKey, accid);
    return account !== undefined && this.vault.matches(account.tokenSealed, tokenOwner(appKey, accid), token);
  }
}
