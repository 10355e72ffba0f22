/**
 * The account domain's view of who is online: a port the client gateway implements. Until a gateway
 * is wired in, NO_PRESENCE answers truthfully that nobody has a session (accounts-v1.md §12: every
 * account is reported offline rather than invented online).
 */

/** One live client session of an account (client types as in accounts-v2.md §2: 1 Android, 2 iOS…). */
export interface PresenceSession {
  clientType: number;
  /** When the session logged in, ms since the epoch. */
  loginTime: number;
  deviceId: string;
  /** The connection id the gateway gave the session. */
  consid: string;
}

export interface PresenceQuery {
  /** The live sessions of each of `accids` (lower-case, existing); accounts without one may be absent. */
  sessionsOf(appKey: string, accids: readonly string[]): Promise<Map<string, PresenceSession[]>>;
}

export const NO_PRESENCE: PresenceQuery = {
  sessionsOf: async () => new Map(),
};
