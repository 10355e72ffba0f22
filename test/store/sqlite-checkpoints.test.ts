/**
 * The SQLite writer thread's WAL checkpoints (src/store/sqlite-checkpoints.ts): SQLite's automatic
 * checkpoint is off on the writer, a checkpointer thread copies the WAL beside it, and the WAL still
 * restarts, so its file stays bounded under steady writes; every write survives a reopen.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { CheckpointSettings, StoreNotice } from '../../src/store/sqlite-checkpoints.js';
import { newAccount } from '../helpers/accounts.js';

const KEY = randomBytes(32);
const APP = 'ckptapp';
// About 60 accounts per 4 KiB page: 12,000 accounts with a 300-byte name are some 1,000 frames.
const TURNS = 240;
const WARMUP_TURNS = 40;
const PER_TURN = 50;
const NAME = 'n'.repeat(300);

async function open(
  path: string,
  checkpoints?: CheckpointSettings,
  onNotice?: (n: StoreNotice) => void,
): Promise<SqliteStore> {
  const s = new SqliteStore({ path, checkpoints, onNotice });
  s.useSealingKey(KEY);
  await s.migrate();
  return s;
}

/**
 * A store whose checkpointer reports every `intervalMs` against a patience of 50 ms, written to one
 * account at a time until `done(notices)` or `maxMs`: its notices, and how many accounts it wrote.
 */
async function writeWatching(
  path: string,
  intervalMs: number,
  maxMs: number,
  done: (n: StoreNotice[]) => boolean,
) {
  const notices: StoreNotice[] = [];
  const store = await open(
    path,
    { restartFrames: 64, hardFrames: 100_000, intervalMs, startAfterGroups: 1, staleMs: 50 },
    (n) => notices.push(n),
  );
  await store.insertApp({ appKey: APP, name: APP, secretSealed: Buffer.from([1]), createdAt: 1 });
  const started = performance.now();
  let written = 0;
  while (performance.now() - started < maxMs && !done(notices)) {
    await store.insertAccount(newAccount(APP, `w${written++}`));
    await new Promise((r) => setTimeout(r, 5));
  }
  await store.close();
  return { notices, written };
}

/** The WAL header's checkpoint sequence number: it counts the WAL's restarts (sqlite.org/fileformat.html). */
function walRestarts(path: string): number {
  const header = Buffer.alloc(16);
  const fd = openSync(`${path}-wal`, 'r');
  try {
    readSync(fd, header, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  return header.readUInt32BE(12);
}

describe('SqliteStore WAL checkpoints', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nimbase-ckpt-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the WAL file bounded under steady writes, and loses nothing', async () => {
    const path = join(dir, 'steady.db');
    const store = await open(path, {
      restartFrames: 64,
      hardFrames: 100_000,
      intervalMs: 2,
      startAfterGroups: 1,
      staleMs: 2000,
    });
    await store.insertApp({ appKey: APP, name: APP, secretSealed: Buffer.from([1]), createdAt: 1 });
    const turn = async (t: number) => {
      // One turn's creates form one group; the next turn starts as soon as they are answered.
      const created = await Promise.all(
        Array.from({ length: PER_TURN }, (_, i) =>
          store.insertAccount(newAccount(APP, `a${t}-${i}`, { name: NAME })),
        ),
      );
      assert.ok(created.every(Boolean));
    };
    // The checkpointer thread starts with the writer; until its first round SQLite's automatic
    // checkpoint (1,000 frames) bounds the WAL. Past the warm-up, only its own rounds do.
    const warm = performance.now();
    let t = 0;
    while (t < WARMUP_TURNS || performance.now() - warm < 1500) await turn(t++);
    const walAfterWarmup = statSync(`${path}-wal`).size;
    const restartsAfterWarmup = walRestarts(path);
    const total = t + TURNS;
    for (; t < total; t++) await turn(t);
    const grown = statSync(`${path}-wal`).size - walAfterWarmup;
    // Without checkpoints the WAL would grow by every frame written (some 4 MiB here); restarted
    // every 64 frames or so, it does not grow at all.
    assert.ok(grown < 512 * 1024, `the WAL file grew by ${grown} bytes`);
    // SQLite's automatic checkpoint (1,000 frames) would restart it once or twice over these
    // ~1,000 frames: many restarts show the checkpointer at work.
    const restarts = walRestarts(path) - restartsAfterWarmup;
    assert.ok(restarts >= 10, `the WAL restarted ${restarts} times`);
    await store.close();

    const reopened = await open(path);
    assert.equal(await reopened.countAccounts(APP), total * PER_TURN);
    assert.equal((await reopened.getAccount(APP, `a${total - 1}-${PER_TURN - 1}`))?.name, NAME);
    await reopened.close();
  });

  it('tells the store each time the checkpointer stops reporting, and each time it reports again', async () => {
    const path = join(dir, 'notices.db');
    const changes = (notices: StoreNotice[]) =>
      notices.filter((n) => n.event === 'checkpointer-stale' || n.event === 'checkpointer-resumed');
    // Rounds far apart against a short patience: between two reports the writer, still writing,
    // finds the checkpointer silent, as it would a hung one, and hands the WAL back to SQLite. Two
    // silences and two recoveries: a change of state is never held back by the notice gate.
    const { notices, written } = await writeWatching(path, 400, 8000, (n) => changes(n).length >= 4);
    const seen = changes(notices);
    assert.deepEqual(
      seen.slice(0, 4).map((n) => `${n.event}:${n.level}`),
      [
        'checkpointer-stale:warn',
        'checkpointer-resumed:info',
        'checkpointer-stale:warn',
        'checkpointer-resumed:info',
      ],
      JSON.stringify(notices),
    );
    // Its first report came 400 ms after it started: the first silence is that one.
    assert.match(seen[0]!.message, /has not made its first report in 50 ms/);
    assert.match(seen[2]!.message, /has not reported for 50 ms/);
    // Closing stops the thread on purpose: no notice of its exit.
    assert.ok(!notices.some((n) => n.event === 'checkpointer-exited'), JSON.stringify(notices));
    const reopened = await open(path);
    assert.equal(await reopened.countAccounts(APP), written);
    await reopened.close();
  });

  it('tells the store when the checkpointer has made no first report in time', async () => {
    // Its first round comes 5 s after it starts.
    const { notices } = await writeWatching(join(dir, 'first-report.db'), 5000, 1500, (n) => n.length > 0);
    assert.deepEqual(
      notices.map((n) => n.event),
      ['checkpointer-stale'],
      JSON.stringify(notices),
    );
    assert.match(notices[0]!.message, /has not made its first report in 50 ms/);
  });
});
