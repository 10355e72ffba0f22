/** Every bus subject in one place (Dendrite's streams.go). */
export const SUBJECTS = {
  /** AccountEvent values published by the account service (see accounts/events.ts). */
  accountEvents: 'nimbase.account.events',
  /** MessageStoredEvent values published by the messaging service (see messaging/events.ts). */
  messages: 'nimbase.messages',
  /** SessionEvent values published by gateways: a session came online or went away (gateway/hub.ts). */
  sessions: 'nimbase.gateway.sessions',
} as const;
