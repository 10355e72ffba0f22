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
    const copy = copyPlain(payload);
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

/**
 * structuredClone for the plain JSON-like values bus payloads are (port.ts), in about a third of
 * its time (one stored message per send goes through here); anything else goes to structuredClone.
 */
function copyPlain(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  // What nobody can change needs no copy: a frozen object whose values are primitives or such objects.
  if (deepFrozen(v)) return v;
  if (Array.isArray(v)) return v.map(copyPlain);
  if (Object.getPrototypeOf(v) !== Object.prototype) return structuredClone(v);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = copyPlain((v as Record<string, unknown>)[k]);
  return out;
}

function deepFrozen(v: object): boolean {
  if (!Object.isFrozen(v)) return false;
  const values = Object.values(v);
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (x !== null && typeof x === 'object' && !deepFrozen(x)) return false;
  }
  return true;
}
