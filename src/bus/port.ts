/**
 * The fan-out port between nodes (DESIGN.md): everything that must reach a session held by another
 * node goes through it — account events (kicks), message delivery, presence. The in-process adapter
 * is the single-node default; a broker adapter (Redis or NATS) crosses nodes. Payloads are plain
 * JSON-serialisable values so every adapter can carry them.
 */
export type BusHandler = (payload: unknown) => void;

export interface Bus {
  /** 'memory', 'redis', 'nats': for logs and the readiness report. */
  readonly kind: string;
  /** Delivers `payload` to every subscriber of `subject` on every node (this one included). */
  publish(subject: string, payload: unknown): Promise<void>;
  /** Subscribes; resolves a function that ends the subscription. */
  subscribe(subject: string, handler: BusHandler): Promise<() => void>;
  /** True when the bus can carry messages (readiness). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
