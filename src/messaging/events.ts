/**
 * What the messaging domain tells the gateways (through the bus, SUBJECTS.messages): a message was
 * stored and must reach the online sessions of its recipient and the sender's other sessions.
 */
export interface MessageStoredEvent {
  type: 'p2p';
  appKey: string;
  from: string;
  to: string;
  /** The complete message (protocol tags, §8), idServer and time included. */
  fields: Record<string, string>;
  /** The connection that sent it, excluded from the sender's copies; absent for server-API sends. */
  originConnectionId?: string | undefined;
}
