/** Every gateway limit in one table (hostile clients, spec/client-protocol.md §12). */
export const GATEWAY_LIMITS = {
  /** Largest WebSocket message accepted; a bigger one closes the link (ws close 1009). */
  maxFrameBytes: 256 * 1024,
  /**
   * Token bucket per connection: burst size and refill per second, across all commands. The refill
   * is the default of `--gateway-packet-rate` / NIMBASE_GATEWAY_PACKET_RATE (config.ts).
   */
  packetBurst: 200,
  packetsPerSecond: 50,
  /** A connection that has not logged in within this time is closed. */
  loginTimeoutMs: 30_000,
  /** A link silent for this long is closed (the SDK sends 1_2 every 30 s, §11.3). */
  idleTimeoutMs: 120_000,
  /** A socket.io session id must be used within this time after the handshake. */
  handshakeTtlMs: 60_000,
  maxPendingHandshakes: 10_000,
  /** socket.io liveness frame `2::` (§4.2: the client drops the link after 60 s of silence). */
  socketIoHeartbeatMs: 25_000,
  /** Grace before closing a kicked link, in case the client does not close it itself (§7.7). */
  kickCloseDelayMs: 50,
  /** Messages per 4_4 push during a login sync. */
  offlineBatch: 100,
  /** Ids remembered per connection to avoid re-sending in the sync what was pushed in real time. */
  deliveredMemory: 10_000,
} as const;
