/** Every bus subject in one place (Dendrite's streams.go). */
export const SUBJECTS = {
  /** AccountEvent values published by the account service (see accounts/events.ts). */
  accountEvents: 'nimbase.account.events',
} as const;
