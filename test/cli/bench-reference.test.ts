/**
 * bench/reference-create.mjs, the careful reference that `npm run bench -- --scenario reference`
 * measures beside nimbase: it must answer like create.action (200, then 414 for the same accid),
 * refuse a wrong CheckSum, and store what it answered, or its figures would compare nothing.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { signedCall } from '../../src/client/server-api.js';

for (const sealed of [false, true])
  describe(`bench reference server${sealed ? ' (sealed tokens)' : ''}`, () => {
    let dir: string;
    let child: ChildProcess;
    let baseUrl: string;
    const create = (accid: string, appSecret = 'baseline') =>
      signedCall({
        baseUrl,
        appKey: 'refapp',
        appSecret,
        path: '/nimserver/user/create.action',
        params: [['accid', accid]],
      }).then((t) => JSON.parse(t) as { code: number; info?: { token: string; accid: string } });

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'nimbase-ref-'));
      child = spawn(process.execPath, ['bench/reference-create.mjs'], {
        env: { ...process.env, REF_DB: join(dir, 'ref.db'), REF_SEAL: sealed ? '1' : '' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const port = await new Promise<string>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => {
          const m = /listening (\d+)/.exec(d.toString());
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`the reference exited (${code})`)));
      });
      baseUrl = `http://127.0.0.1:${port}`;
    });
    after(() => {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    });

    it('creates, answers 414 for a duplicate, refuses a wrong CheckSum, and stores the account', async () => {
      const first = await create('Ref1');
      assert.equal(first.code, 200);
      assert.equal(first.info?.accid, 'ref1');
      assert.match(first.info?.token ?? '', /^[0-9a-f]{32}$/);
      assert.equal((await create('ref1')).code, 414);
      assert.equal((await create('ref2', 'wrong')).code, 403);
      const db = new Database(join(dir, 'ref.db'), { readonly: true });
      const rows = db.prepare('SELECT accid, token FROM accounts').all() as {
        accid: string;
        token: Buffer;
      }[];
      db.close();
      assert.deepEqual(
        rows.map((r) => r.accid),
        ['ref1'],
      );
      // Sealed: the token is not stored in the clear.
      assert.equal(rows[0]!.token.includes(Buffer.from(first.info!.token)), !sealed);
    });
  });
