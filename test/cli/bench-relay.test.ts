/**
 * bench/relay-server.mjs as issue 6's durable references (`npm run bench -- --gateway-reference`):
 * a message is stored before it is forwarded and acknowledged, and the idempotent variant keeps what
 * nimbase keeps per message (a random 32-hex idClient under UNIQUE, an offline entry), or the
 * figures compared with nimbase's would compare different work.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import WebSocket from 'ws';

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}
const next = (ws: WebSocket) =>
  new Promise<string>((resolve) => ws.once('message', (d: Buffer) => resolve(d.toString())));

for (const schema of ['append', 'idempotent'] as const)
  describe(`bench durable relay (${schema})`, () => {
    let dir: string;
    let db: string;
    let child: ChildProcess;
    let port: string;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'nimbase-relay-'));
      db = join(dir, 'relay.db');
      child = spawn(process.execPath, ['bench/relay-server.mjs'], {
        env: { ...process.env, RELAY_DB: db, RELAY_SCHEMA: schema === 'idempotent' ? 'idempotent' : '' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      port = await new Promise<string>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => {
          const m = /listening (\d+)/.exec(d.toString());
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`the relay exited (${code})`)));
      });
    });
    after(() => {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    });

    it('stores each message, then forwards it and acknowledges the sender', async () => {
      const a = await open(`ws://127.0.0.1:${port}/?id=1`);
      const b = await open(`ws://127.0.0.1:${port}/?id=2`);
      // In the idempotent variant, a frame that carries an idClient is stored once however often
      // it comes (the third frame resends the second).
      const frames = [
        { to: 2, seq: 1, body: 'hello 1' },
        { to: 2, seq: 2, body: 'hello 2', idClient: 'c'.repeat(32) },
        { to: 2, seq: 3, body: 'hello 2', idClient: 'c'.repeat(32) },
      ];
      for (const f of frames) {
        const seq = f.seq;
        const frame = JSON.stringify(f);
        const delivered = next(b);
        const acked = next(a);
        a.send(frame);
        assert.equal(await delivered, frame);
        assert.equal(await acked, `{"ack":${seq}}`);
      }
      a.close();
      b.close();
      // Acknowledged means committed: a reader sees every row now.
      const r = new Database(db, { readonly: true });
      try {
        const rows = r.prepare('SELECT * FROM messages ORDER BY id').all() as Record<string, unknown>[];
        assert.deepEqual(
          rows.map((m) => m.to_id),
          schema === 'idempotent' ? ['2', '2'] : ['2', '2', '2'],
        );
        if (schema === 'idempotent') {
          assert.deepEqual(
            rows.map((m) => m.from_id),
            ['1', '1'],
          );
          assert.match(String(rows[0]!.id_client), /^[0-9a-f]{32}$/, 'drawn for a frame without one');
          assert.equal(rows[1]!.id_client, 'c'.repeat(32));
          assert.deepEqual(
            r.prepare('SELECT accid, message_id FROM offline ORDER BY message_id').all(),
            rows.map((m) => ({ accid: '2', message_id: m.id })),
          );
          const index = r
            .prepare('SELECT count(*) AS n FROM pragma_index_list(\'messages\') WHERE "unique" = 1')
            .get() as {
            n: number;
          };
          assert.equal(index.n, 1, 'UNIQUE (from_id, id_client)');
        }
      } finally {
        r.close();
      }
    });
  });
