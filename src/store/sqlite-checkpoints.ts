/**
 * WAL checkpoints off the commit path. SQLite's automatic checkpoint runs inside the COMMIT that
 * crosses `wal_autocheckpoint` pages: that commit (and every write queued behind it) waits while
 * a thousand pages are copied into the database file and both files are fsynced. Measured at 5,000
 * messages/s: ~15 such commits a second, 2–5 ms each, the writer's slowest groups.
 *
 * Instead, a checkpointer thread (sqlite-checkpointer.ts) with its own connection runs PASSIVE
 * checkpoints every 50 ms beside the writer: PASSIVE never takes the write lock, so commits go on
 * meanwhile. The writer turns its automatic checkpoint off at the checkpointer's first report.
 *
 * That alone would let the WAL grow for ever: the WAL restarts from its beginning only when a
 * write transaction starts while every frame has been copied, which under steady load never happens
 * by chance. So once the checkpointer reports a WAL of at least `restartFrames` frames that it had
 * copied completely, the writer, after posting its group's results, runs one PASSIVE checkpoint
 * itself: it copies only what was committed since, and as nothing can commit during it, the
 * writer's next transaction restarts the WAL.
 *
 * If the checkpointer falls behind by `hardFrames` (a slow disk), the writer checkpoints itself
 * whatever it costs, as SQLite would have; if its reports stop (the thread died, hangs or fails
 * every round), SQLite's automatic checkpoint is back on until they resume.
 */

/** Slots of the shared record (Int32). */
const STOP = 0;
const ROUND = 1;
const LOG = 2;
const COPIED = 3;
const COMMITS = 4;

export interface CheckpointLimits {
  /** WAL frames from which the writer restarts the WAL once the checkpointer caught up. */
  restartFrames: number;
  /** WAL frames from which the writer checkpoints itself, caught up or not. */
  hardFrames: number;
}

export interface CheckpointSettings extends CheckpointLimits {
  /** Milliseconds between two rounds of the checkpointer. */
  intervalMs: number;
  /** Groups the writer commits before it starts the checkpointer (SQLite's own until then). */
  startAfterGroups: number;
  /** Without a report for this long, the writer stops trusting the checkpointer. */
  staleMs: number;
}

/**
 * 4,000 frames of 4 KiB: a WAL of about 16 MiB between restarts (SQLite's automatic checkpoint:
 * 1,000); the hard limit, about 160 MiB, is reached only when the checkpointer cannot keep up.
 * A round every 50 ms: a page written many times meanwhile is copied once (measured at 25–28k
 * messages/s: the thread used 4.5 % of a core, against 10 % with rounds every 10 ms, and the
 * server 38–39 µs of CPU per message against 43–44).
 */
export const DEFAULT_CHECKPOINTS: CheckpointSettings = {
  restartFrames: 4000,
  hardFrames: 40_000,
  intervalMs: 50,
  startAfterGroups: 64,
  staleMs: 2000,
};

/** What the checkpointer thread gets. */
export interface CheckpointerData {
  path: string;
  durability: 'full' | 'normal';
  record: SharedArrayBuffer;
  /** Milliseconds between two rounds. */
  intervalMs: number;
}

/**
 * The record the checkpointer and the writer share: a stop flag, the last round's figures, and how
 * many groups the writer has committed.
 */
export class CheckpointRecord {
  readonly #slots: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(20)) {
    this.#slots = new Int32Array(buffer);
  }

  /** Writer side: one more group committed. */
  committed(): void {
    Atomics.add(this.#slots, COMMITS, 1);
  }

  /** Checkpointer side: the groups committed so far (wraps; compare for equality only). */
  commits(): number {
    return Atomics.load(this.#slots, COMMITS);
  }

  /** Checkpointer side: a round with nothing new to copy, reported as alive with the same figures. */
  idle(): void {
    Atomics.add(this.#slots, ROUND, 1);
  }

  /** Checkpointer side: waits up to `ms`; false once asked to stop. */
  wait(ms: number): boolean {
    if (Atomics.load(this.#slots, STOP) !== 0) return false;
    Atomics.wait(this.#slots, STOP, 0, ms);
    return Atomics.load(this.#slots, STOP) === 0;
  }

  /** Checkpointer side: one round's result (`log` frames in the WAL, `copied` of them checkpointed). */
  report(log: number, copied: number): void {
    Atomics.store(this.#slots, LOG, log);
    Atomics.store(this.#slots, COPIED, copied);
    Atomics.add(this.#slots, ROUND, 1);
  }

  /** Writer side: the last round (its number first, so the figures are at least that recent). */
  read(): { round: number; log: number; copied: number } {
    const round = Atomics.load(this.#slots, ROUND);
    return { round, log: Atomics.load(this.#slots, LOG), copied: Atomics.load(this.#slots, COPIED) };
  }

  /** Writer side: asks the checkpointer to finish (it wakes at once). */
  stop(): void {
    Atomics.store(this.#slots, STOP, 1);
    Atomics.notify(this.#slots, STOP);
  }
}

/** What the writer does after a group (WriterCheckpoints.next). */
export interface CheckpointStep {
  /** Switch SQLite's automatic checkpoint on (true) or off (false); undefined: leave it. */
  autocheckpoint: boolean | undefined;
  /** Run one PASSIVE checkpoint now. */
  checkpoint: boolean;
}

const NOTHING: CheckpointStep = { autocheckpoint: undefined, checkpoint: false };

/**
 * The writer's side of the rule above. After each group, `next()` reads the shared record (no
 * statement, no system call) and says what to do. The checkpointer is trusted (SQLite's automatic
 * checkpoint off) only while its reports keep coming: a thread that died, hangs in a round or fails
 * every round stops moving the round counter, and after `staleMs` the writer hands the WAL back to
 * SQLite until the reports resume.
 */
export class WriterCheckpoints {
  /** The round of the writer's last own checkpoint. */
  #handled = 0;
  #seen = 0;
  #seenAt = 0;
  #trusted = false;
  #lost = false;

  constructor(
    readonly record: CheckpointRecord,
    readonly limits: CheckpointLimits & { staleMs: number },
  ) {}

  /** The checkpointer thread is gone for good. */
  lost(): void {
    this.#lost = true;
  }

  /** No report has come yet (SQLite's automatic checkpoint was never handed over). */
  untried(): boolean {
    return this.#seen === 0;
  }

  next(now: number): CheckpointStep {
    const { round, log, copied } = this.record.read();
    if (round !== this.#seen) {
      this.#seen = round;
      this.#seenAt = now;
    }
    const trusted = round > 0 && !this.#lost && now - this.#seenAt <= this.limits.staleMs;
    if (trusted !== this.#trusted) {
      this.#trusted = trusted;
      return { autocheckpoint: !trusted, checkpoint: false };
    }
    if (!trusted || round === this.#handled) return NOTHING;
    const caughtUp = copied === log && log >= this.limits.restartFrames;
    if (!caughtUp && log < this.limits.hardFrames) return NOTHING;
    // One checkpoint per report: the next one is due only after the checkpointer's next round.
    this.#handled = round;
    return { autocheckpoint: undefined, checkpoint: true };
  }
}

/** The row `PRAGMA wal_checkpoint` answers. */
export interface CheckpointRow {
  busy: number;
  log: number;
  checkpointed: number;
}

/** The notices' names (docs/deployment.md has a line for each). */
export type StoreNoticeEvent =
  | 'checkpointer-unavailable'
  | 'checkpointer-round-failed'
  | 'checkpointer-gave-up'
  | 'checkpointer-exited'
  | 'checkpointer-stale'
  | 'checkpointer-resumed'
  | 'checkpoint-failed';

/**
 * What the writer thread tells the store about its checkpoints: a checkpointer thread that could not
 * start, failed a round, stopped reporting or exited, and the writer's own checkpoint failing. No
 * write is lost in any of these (SQLite's own checkpoint takes over); `serve` logs them, so that a
 * failing disk or a lost thread is seen before the WAL has grown.
 */
export interface StoreNotice {
  level: 'warn' | 'info';
  event: StoreNoticeEvent;
  message: string;
  /** The error's message, when one caused it. */
  error?: string | undefined;
  /**
   * Notices held back since the last line logged, besides this one: of the same event (NoticeGate),
   * or state changes of a flapping checkpointer (StateChangeGate).
   */
  repeated?: number | undefined;
}

/**
 * At most one notice per event per `intervalMs`: a disk failing every 50 ms round must not flood the
 * log. The ones held back are counted: the next that passes carries the count, and `due()` hands out
 * the latest held one (with the count) once its interval has ended, so no count is lost even when
 * nothing of that event comes again. State changes that must be seen as they happen (the
 * checkpointer going silent, reporting again) go through StateChangeGate instead.
 */
export class NoticeGate {
  readonly #events = new Map<string, { at: number; held: number; last: StoreNotice | undefined }>();

  constructor(readonly intervalMs = 60_000) {}

  /** The notice to emit now (with the count held back before it), or undefined to hold it back. */
  pass(notice: StoreNotice, now: number): StoreNotice | undefined {
    const seen = this.#events.get(notice.event);
    if (seen && now - seen.at < this.intervalMs) {
      seen.held++;
      seen.last = notice;
      return undefined;
    }
    this.#events.set(notice.event, { at: now, held: 0, last: undefined });
    return seen?.held ? { ...notice, repeated: seen.held } : notice;
  }

  /** The latest held-back notice of each event whose interval has ended, with the count before it. */
  due(now: number): StoreNotice[] {
    const out: StoreNotice[] = [];
    for (const [event, seen] of this.#events) {
      if (!seen.last || now - seen.at < this.intervalMs) continue;
      out.push(seen.held > 1 ? { ...seen.last, repeated: seen.held - 1 } : seen.last);
      this.#events.set(event, { at: now, held: 0, last: undefined });
    }
    return out;
  }
}

/**
 * The checkpointer's state changes (going silent, reporting again) are logged as they happen, so
 * the log's last word is the current state; but a checkpointer that flaps must not fill the log
 * with two lines a flap. Within `intervalMs`, the first `burst` changes pass; later ones are held,
 * and the latest of them goes out when the interval ends (`due`), carrying how many it stands for.
 */
export class StateChangeGate {
  #windowStart = Number.NEGATIVE_INFINITY;
  #passed = 0;
  #held: StoreNotice | undefined;
  #heldCount = 0;

  constructor(
    readonly burst = 4,
    readonly intervalMs = 60_000,
  ) {}

  /** The notice to emit now, or undefined when it is held (the state flaps). */
  pass(notice: StoreNotice, now: number): StoreNotice | undefined {
    if (this.#held === undefined && now - this.#windowStart >= this.intervalMs) {
      this.#windowStart = now;
      this.#passed = 0;
    }
    if (this.#held === undefined && this.#passed < this.burst) {
      this.#passed++;
      return notice;
    }
    this.#held = notice;
    this.#heldCount++;
    return undefined;
  }

  /** Drops a held change: the checkpointer is gone, and its last state change is no longer its state. */
  forget(): void {
    this.#held = undefined;
    this.#heldCount = 0;
  }

  /** Once the interval is over: the latest held change (the current state), with the count before it. */
  due(now: number): StoreNotice | undefined {
    const held = this.#held;
    if (held === undefined || now - this.#windowStart < this.intervalMs) return undefined;
    const out = this.#heldCount > 1 ? { ...held, repeated: this.#heldCount - 1 } : held;
    this.#held = undefined;
    this.#heldCount = 0;
    // It starts a new interval, counted as its first change.
    this.#windowStart = now;
    this.#passed = 1;
    return out;
  }
}
