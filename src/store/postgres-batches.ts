/**
 * Group statements for PostgresStore: the items queued during one event-loop turn go to PostgreSQL
 * as ONE statement, at the end of the turn (the check phase, after the turn's requests were read).
 * At most `maxInFlight` statements run at once; items arriving meanwhile wait and go together in
 * the next, so a busy server sends fewer, larger statements instead of one per turn: each costs a
 * round trip (a socket write that wakes the backend, a read) and, for writes, a transaction with its
 * WAL flush.
 *
 * A group's run may hand back its answers as a function instead of giving them itself (`Settle`):
 * the batcher then frees the slot and sends the next group first, and answers this one's callers
 * only after that statement is on its way: on process.nextTick, behind the tick in which pg-pool
 * hands an idle client the next query (which writes it at once). PostgreSQL works on the next group
 * while the event loop handles this one's replies; with one statement at a time (the messages) the
 * two no longer take turns (measured: the connection sat idle 2.2 ms of every 8 ms while the
 * replies of 135 messages went out). For that, a run must call `pool.query` without an `await`
 * before it; when the pool has no idle client (all busy, or opening one) the answers may go first,
 * which costs only that gain.
 */
export type Settle = () => void;

/** What the batcher can do with any item: fail it (a no-op for one already answered). */
interface Failable {
  reject(err: unknown): void;
}

export class TurnBatcher<T extends Failable> {
  #pending: T[] = [];
  #scheduled = false;
  readonly #inFlight = new Set<Promise<void>>();
  /** Groups whose statement is done and whose callers are about to be answered (Settle). */
  readonly #answering = new Set<Promise<void>>();

  /**
   * `run` executes one group and settles every item of it, itself or through the Settle it
   * resolves (anything else it resolves is ignored). Should it reject, or its Settle throw, every
   * item of the group not answered yet fails with that error. `sizeOf` weighs an item (default 1);
   * a group is cut once it reaches `maxSize`.
   */
  constructor(
    private readonly run: (group: T[]) => Promise<unknown>,
    private readonly maxInFlight: number,
    private readonly maxSize: number,
    private readonly sizeOf: (item: T) => number = () => 1,
  ) {
    if (!(maxInFlight >= 1)) throw new Error('maxInFlight must be at least 1');
  }

  add(item: T): void {
    this.#pending.push(item);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#start();
    });
  }

  #start(): void {
    if (this.#pending.length === 0 || this.#inFlight.size >= this.maxInFlight) return;
    let size = 0;
    let cut = 0;
    while (cut < this.#pending.length && (cut === 0 || size < this.maxSize))
      size += this.sizeOf(this.#pending[cut++]!);
    const group = cut === this.#pending.length ? this.#pending : this.#pending.slice(0, cut);
    this.#pending = cut === this.#pending.length ? [] : this.#pending.slice(cut);
    const p: Promise<void> = this.run(group).then(
      (result) => {
        this.#inFlight.delete(p);
        if (typeof result !== 'function') {
          // What waited goes at the end of this turn, with whatever this turn adds.
          if (this.#pending.length > 0) this.#schedule();
          return;
        }
        // The statement is done and its connection back in the pool: what waited goes now, and
        // this group's callers hear after it was sent.
        try {
          this.#start();
        } finally {
          this.#answerLater(group, result as Settle);
        }
      },
      (err: unknown) => {
        this.#inFlight.delete(p);
        failAll(group, err);
        if (this.#pending.length > 0) this.#schedule();
      },
    );
    this.#inFlight.add(p);
    if (this.#pending.length > 0) this.#schedule();
  }

  #answerLater(group: T[], settle: Settle): void {
    const answered = new Promise<void>((resolve) =>
      process.nextTick(() => {
        this.#answering.delete(answered);
        settleOrFail(group, settle);
        resolve();
      }),
    );
    this.#answering.add(answered);
  }

  /** Sends everything queued (respecting the limit) and waits until no statement is running. */
  async drain(): Promise<void> {
    while (this.#pending.length > 0 || this.#inFlight.size > 0 || this.#answering.size > 0) {
      this.#start();
      await Promise.race([...this.#inFlight, ...this.#answering]);
    }
  }
}

function failAll(group: readonly Failable[], err: unknown): void {
  for (const item of group) item.reject(err);
}

/** Runs `settle`; if it throws, the items it did not answer fail with that error. */
function settleOrFail(group: readonly Failable[], settle: Settle): void {
  try {
    settle();
  } catch (err) {
    failAll(group, err);
  }
}

/**
 * What to do when a group's statement failed. PostgreSQL rolled it back, so nothing of it is stored.
 * - 'split': the data of one item was refused (SQLSTATE class 22 data exception, 23 integrity
 *   constraint, 54 program limit): run the items one at a time, so only the bad one fails.
 * - 'again': a deadlock or serialization failure (40P01, 40001): the same group once more.
 * - 'fail': anything else (a lost connection, a server shutting down, a timeout): fail the whole
 *   group at once rather than retrying up to a thousand items one by one behind it. When the
 *   connection dropped, the COMMIT may have happened anyway: the callers see an error, and a retry
 *   of theirs finds what was stored (inserts are idempotent by key; an update sets the same values).
 */
export function onGroupError(err: unknown): 'split' | 'again' | 'fail' {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || code.length !== 5) return 'fail';
  if (code === '40P01' || code === '40001') return 'again';
  const cls = code.slice(0, 2);
  return cls === '22' || cls === '23' || cls === '54' ? 'split' : 'fail';
}

/**
 * Runs one group's statement with `once`, which settles every item when the statement succeeds
 * (itself, or through the Settle it resolves, which is passed on to the batcher) and throws
 * (settling none) when it fails; then follows onGroupError: the same group once more, each item
 * alone in order (only the refused one fails), or every item failed at once.
 */
export async function runGroup<T extends Failable>(
  group: T[],
  once: (group: T[]) => Promise<unknown>,
): Promise<Settle | undefined> {
  let error: unknown;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const settle = await once(group);
      return typeof settle === 'function' ? (settle as Settle) : undefined;
    } catch (err) {
      error = err;
      const next = onGroupError(err);
      if (next === 'again' && attempt === 0) continue;
      if (next === 'split' && group.length > 1) {
        // One by one, each answered before the next runs: the rare path, kept simple.
        for (const item of group) {
          const settle = await runGroup([item], once);
          if (settle) settleOrFail([item], settle);
        }
        return undefined;
      }
      break;
    }
  }
  for (const item of group) item.reject(error);
  return undefined;
}
