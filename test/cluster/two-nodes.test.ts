/**
 * Two `nimbase serve` processes on different ports sharing one PostgreSQL database and one Redis
 * broker (docs/deployment.md). Needs PostgreSQL and Redis: skipped with the reason when absent,
 * failing when CI=true.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { RedisBus } from '../../src/bus/redis.js';
import { SUBJECTS } from '../../src/bus/subjects.js';
import { type Credentials, signHeaders } from '../../src/client/server-api.js';
import { openRuntime } from '../../src/runtime.js';
import { type NodeProcess, startNode } from '../helpers/node-process.js';
import { createTestDatabase, pgSkip, type TestDatabase } from '../helpers/pg.js';
import { REDIS_URL, redisSkip } from '../helpers/redis.js';

const skip = (await pgSkip()) || (await redisSkip());

async function call(
  base: string,
  c: Credentials,
  action: string,
  params: Record<string, string>,
  nonce?: string,
) {
  const res = await fetch(`${base}/nimserver/user/${action}.action`, {
    method: 'POST',
    headers: { ...signHeaders(c, nonce), 'Content-Type': 'application/x-www-form-urlencoded;charset=utf-8' },
    body: new URLSearchParams(params).toString(),
  });
  return (await res.json()) as { code: number; desc?: string };
}

const create = (base: string, c: Credentials, accid: string, nonce?: string) =>
  call(base, c, 'create', { accid }, nonce);

describe('two nodes, one PostgreSQL database, one Redis broker', { skip, timeout: 120_000 }, () => {
  let db: TestDatabase;
  let a: NodeProcess;
  let b: NodeProcess;
  let app: Credentials;
  /** An app with a tight per-app limit, so the shared counting shows without touching `app`. */
  let limited: Credentials;

  before(async () => {
    db = await createTestDatabase();
    const secretKey = randomBytes(32).toString('hex');
    // Apps are made before the nodes start, as an operator would with `nimbase app create`.
    const rt = await openRuntime({
      dataDir: mkdtempSync(join(tmpdir(), 'nimbase-admin-')),
      databaseUrl: db.url,
      secretKey,
      durability: 'full',
    });
    try {
      app = await rt.apps.createApp('cluster');
      limited = await rt.apps.createApp('limited');
    } finally {
      await rt.close();
    }
    const env = {
      NIMBASE_DATABASE_URL: db.url,
      NIMBASE_BUS_URL: REDIS_URL,
      NIMBASE_SECRET_KEY: secretKey,
      NIMBASE_RATE_LIMIT: `${limited.appKey}/user=4/60:60`,
      NIMBASE_REPLAY_PROTECTION: 'on',
    };
    [a, b] = await Promise.all([
      startNode({ ...env, NIMBASE_NODE_ID: 'node-a' }),
      startNode({ ...env, NIMBASE_NODE_ID: 'node-b' }),
    ]);
  });

  after(async () => {
    for (const n of [a, b])
      if (n && n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill('SIGKILL');
    await Promise.all([a?.exited, b?.exited]);
    await db?.drop();
  });

  it('both nodes are ready, on PostgreSQL and Redis, under their own node ids', async () => {
    for (const [n, id] of [
      [a, 'node-a'],
      [b, 'node-b'],
    ] as const) {
      const res = await fetch(`${n.url}/nimserver/health/readiness.action`);
      assert.equal(res.status, 200, n.output());
      assert.deepEqual(await res.json(), {
        code: 200,
        node: id,
        store: { kind: 'postgres', ok: true },
        bus: { kind: 'redis', ok: true },
        draining: false,
      });
    }
    assert.notEqual(a.url, b.url);
  });

  it('an account created on node A exists for node B', async () => {
    assert.equal((await create(a.url, app, 'Shared1')).code, 200);
    assert.deepEqual(await create(b.url, app, 'SHARED1'), { desc: 'already register', code: 414 });
  });

  it('2 × 50 concurrent creates of one accid across both nodes give exactly one 200', async () => {
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) => create(i % 2 ? b.url : a.url, app, 'racer')),
    );
    const codes = answers.map((x) => x.code);
    assert.equal(codes.filter((c) => c === 200).length, 1, JSON.stringify(codes));
    assert.equal(answers.filter((x) => x.code === 414 && x.desc === 'already register').length, 99);
  });

  it('shares the frequency control: one app’s allowance is counted across both nodes', async () => {
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => create(i % 2 ? b.url : a.url, limited, `lim${i}`)),
    );
    assert.equal(answers.filter((x) => x.code === 200).length, 4, JSON.stringify(answers));
    assert.equal(answers.filter((x) => x.code === 416).length, 6);
    // The other app is not limited.
    assert.equal((await create(b.url, app, 'free1')).code, 200);
  });

  it('shares the Nonce store: a Nonce used on A is refused on B (431)', async () => {
    const nonce = randomBytes(8).toString('hex');
    assert.equal((await create(a.url, app, 'nonce1', nonce)).code, 200);
    assert.deepEqual(await create(b.url, app, 'nonce2', nonce), {
      desc: 'duplicate http request',
      code: 431,
    });
  });

  it('account events from node A cross the broker (a block with needkick, for the gateway of every node)', async () => {
    const listener = new RedisBus({ url: REDIS_URL });
    try {
      const events: unknown[] = [];
      let got!: () => void;
      const arrived = new Promise<void>((r) => {
        got = r;
      });
      await listener.subscribe(SUBJECTS.accountEvents, (e) => {
        events.push(e);
        if ((e as { accid?: string }).accid === 'shared1') got();
      });
      assert.equal((await call(a.url, app, 'block', { accid: 'shared1', needkick: 'true' })).code, 200);
      await arrived;
      assert.ok(
        events.some(
          (e) =>
            (e as Record<string, unknown>).type === 'blocked' &&
            (e as Record<string, unknown>).appKey === app.appKey &&
            (e as Record<string, unknown>).kick === true,
        ),
        JSON.stringify(events),
      );
    } finally {
      await listener.close();
    }
  });

  it('kill -9 of node A loses no acknowledged account; node B keeps serving', async () => {
    const acked: string[] = [];
    let sent = 0;
    let killed = false;
    const worker = async () => {
      while (!killed && sent < 2000) {
        const accid = `k${sent++}`;
        try {
          if ((await create(a.url, app, accid)).code === 200) acked.push(accid);
        } catch {
          return; // the connection died with the node: this create is unacknowledged
        }
        if (acked.length >= 150 && !killed) {
          killed = true;
          a.proc.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    assert.equal(await a.exited, 'SIGKILL');
    assert.ok(acked.length >= 150);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ accid: string }>(
        'SELECT accid FROM accounts WHERE app_key = $1 AND accid = ANY($2::text[])',
        [app.appKey, acked],
      );
      assert.equal(rows.length, acked.length, 'every acknowledged create is stored');
    } finally {
      await client.end();
    }
    assert.deepEqual(await create(b.url, app, acked[0]!), { desc: 'already register', code: 414 });
    assert.equal((await create(b.url, app, 'after-kill')).code, 200);
  });

  it('node B shuts down gracefully on SIGTERM (exit 0)', async () => {
    b.proc.kill('SIGTERM');
    assert.equal(await b.exited, 0, b.output());
  });
});
