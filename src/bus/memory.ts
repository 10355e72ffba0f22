/** The single-node bus: subscribers in this process, delivery on a later microtask (as a broker would). */
import type { Bus, BusHandler } from './port.js';

export class MemoryBus implements Bus {
  readonly kind = 'memory';
  readonly #subs = new Map<string, Set<BusHandler>>();
  readonly #onError: (err: unknown) => void;

  /** `onError` hears about handlers that throw; one bad subscriber must not crash the process. */
  constructor(options: { onError?: (err: unknown) => void } = {}) {
    this.#onError = options.onError ?? (() => {});
  }

  async publish(subject: string, payload: unknown): Promise<void> {
    const handlers = this.#subs.get(subject);
    if (!handlers || handlers.size === 0) return;
    // A copy keeps publishers and subscribers from sharing mutable objects, as a real broker would.
    const copy = structuredClone(payload);
    for (const h of [...handlers])
      queueMicrotask(() => {
        try {
          h(copy);
        } catch (err) {
          this.#onError(err);
        }
      });
  }

  async subscribe(subject: string, handler: BusHandler): Promise<() => void> {
    let set = this.#subs.get(subject);
    if (!set) {
      set = new Set();
      this.#subs.set(subject, set);
    }
    set.add(handler);
    return () => {
      set.delete(handler);
    };
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    this.#subs.clear();
  }
}
