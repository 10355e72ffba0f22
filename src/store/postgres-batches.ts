/**
 * Group statements for PostgresStore: the items queued during one event-loop turn go to PostgreSQL
 * as ONE statement, at the end of the turn (the check phase, after the turn's requests were read).
 * At most `maxInFlight` statements run at once; items arriving meanwhile wait and go together in
 * the next, so a busy server sends fewer, larger statements instead of one per turn: each costs a
 * round trip (a socket write that wakes the backend, a read) and, for writes, a transaction with its
 * WAL flush.
 */
export class TurnBatcher<T> {
  #pending: T[] = [];
  #scheduled = false;
  readonly #inFlight = new Set<Promise<void>>();

  /**
   * `run` executes one group and settles every item of it itself: it must not reject.
   * `sizeOf` weighs an item (default 1); a group is cut once it reaches `maxSize`.
   */
  constructor(
    private readonly run: (group: T[]) => Promise<void>,
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
    const p = this.run(group).finally(() => {
      this.#inFlight.delete(p);
      // What waited goes at the end of this turn, with whatever this turn adds.
      if (this.#pending.length > 0) this.#schedule();
    });
    this.#inFlight.add(p);
    if (this.#pending.length > 0) this.#schedule();
  }

  /** Sends everything queued (respecting the limit) and waits until no statement is running. */
  async drain(): Promise<void> {
    while (this.#pending.length > 0 || this.#inFlight.size > 0) {
      this.#start();
      await Promise.race(this.#inFlight);
    }
  }
}
