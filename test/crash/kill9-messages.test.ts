/**
 * Crash safety for messages: a 7_1 answered with an idServer survives `kill -9`, and after the
 * restart a resend of it (same idClient, `13 resend:"1"`) gets that same message back instead of
 * storing it again: the SQLite writer refills its resend window from the table after an unclean
 * stop too (docs/gateway.md, "Resends on SQLite").
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { signHeaders } from '../../src/client/server-api.js';
import { createApp, killHard, type Served, serveChild } from '../helpers/crash.js';
import { loginProps, type RawClient, rawConnect } from '../helpers/raw-client.js';
import type { TestServer } from '../helpers/server.js';

const SERVE_ARGS = ['--gateway-packet-rate', '100000'];
type Wire = Record<string, string>;

async function login(served: Served, appKey: string, accid: string): Promise<RawClient> {
  const c = await rawConnect({ url: served.url } as TestServer, '/websocket');
  c.request(2, 3, 1, [loginProps(appKey, accid, `tok-${accid}`)]);
  const reply = await c.waitPacket((p) => p.sid === 2 && p.cid === 3, 'the login reply', 15_000);
  assert.equal(reply.code, 200);
  return c;
}

const text = (idClient: string, resend: boolean): Wire => ({
  '0': '0',
  '1': 'kbob',
  '8': '0',
  '9': `crash ${idClient}`,
  '11': idClient,
  '13': resend ? '1' : '0',
});

/** The 7_1 replies received so far: idClient → idServer. */
function replies(c: RawClient): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of c.packets)
    if (p.sid === 7 && p.cid === 1 && p.code === 200) {
      const m = p.body[0] as Wire;
      out.set(m['11']!, m['12']!);
    }
  return out;
}

/** Integrity, no (sender, idClient) stored twice, and every answered idClient under its idServer. */
function auditFile(dataDir: string, acked: ReadonlyMap<string, string>): void {
  const db = new Database(join(dataDir, 'nimbase.db'), { readonly: true });
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    const twice = db
      .prepare('SELECT id_client FROM messages GROUP BY from_accid, id_client HAVING count(*) > 1')
      .all();
    assert.deepEqual(twice, [], 'no message is stored twice');
    const stored = db.prepare('SELECT id FROM messages WHERE id_client = ?').pluck();
    for (const [idClient, idServer] of acked)
      assert.equal(String(stored.get(idClient)), idServer, `${idClient} is stored as ${idServer}`);
  } finally {
    db.close();
  }
}

describe('kill -9 while sending messages', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'nimbase-crash-msg-'));
  // The server of the moment, killed even when an assertion fails midway (its pipes would keep
  // the test process alive).
  let served: Served | undefined;
  const serve = async () => {
    served = await serveChild(dataDir, SERVE_ARGS);
    return served;
  };
  after(async () => {
    if (served) await killHard(served.proc);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps every acknowledged message, and a resend after the restart gets the same one', async (t) => {
    const creds = await createApp(dataDir);
    let server = await serve();
    for (const accid of ['kalice', 'kbob']) {
      const res = await fetch(`${server.url}/nimserver/user/create.action`, {
        method: 'POST',
        headers: { ...signHeaders(creds), 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `accid=${accid}&token=tok-${accid}`,
      });
      assert.equal(((await res.json()) as { code: number }).code, 200);
    }

    // Messages stream in (five a millisecond, ser cycling) until a kill 100–400 ms after the first answer.
    const acked = new Map<string, string>();
    const sent: string[] = [];
    for (let cycle = 0; cycle < 2; cycle++) {
      if (cycle > 0) server = await serve();
      const c = await login(server, creds.appKey, 'kalice');
      let ser = 2;
      let kill: NodeJS.Timeout | undefined;
      const pump = setInterval(() => {
        for (let i = 0; i < 5; i++) {
          const idClient = `c${cycle}-${sent.length}`;
          sent.push(idClient);
          c.request(7, 1, ser, [text(idClient, false)]);
          ser = ser === 255 ? 2 : ser + 1;
        }
        if (!kill && replies(c).size > 0)
          kill = setTimeout(() => server.proc.kill('SIGKILL'), 100 + Math.floor(Math.random() * 300));
      }, 1);
      await c.closed;
      clearInterval(pump);
      clearTimeout(kill);
      await killHard(server.proc);
      for (const [idClient, idServer] of replies(c)) acked.set(idClient, idServer);
    }
    assert.ok(acked.size > 0, 'some messages were answered before the kills');
    // Before anything is resent: every answered message is in the file under its idServer. (A lost
    // tail would otherwise be stored again by its resends, under the same reused ids.)
    auditFile(dataDir, acked);

    // After the restart: every answered message is resent and must come back with its idServer;
    // a sample of the unanswered ones, resent twice, is stored at most once.
    server = await serve();
    const unanswered = sent.filter((id) => !acked.has(id)).filter((_, i) => i % 10 === 0);
    const c = await login(server, creds.appKey, 'kalice');
    try {
      // In windows of 100 answers, below the gateway's packet burst (200).
      const resend = [...acked.keys(), ...unanswered, ...unanswered];
      const answers = () => c.packets.filter((p) => p.sid === 7 && p.cid === 1).length;
      for (let from = 0; from < resend.length; from += 100) {
        const to = Math.min(resend.length, from + 100);
        for (let i = from; i < to; i++) c.request(7, 1, 2 + (i % 250), [text(resend[i]!, true)]);
        await Promise.race([
          c.waitPacket(() => answers() === to, `answers to resends ${from}–${to}`, 30_000),
          c.closed.then(({ code, reason }) => {
            throw new Error(`the link closed during the resends: ${code} ${reason}`);
          }),
        ]);
      }
      const again = new Map<string, string[]>();
      for (const p of c.packets)
        if (p.sid === 7 && p.cid === 1) {
          assert.equal(p.code, 200);
          const m = p.body[0] as Wire;
          again.set(m['11']!, [...(again.get(m['11']!) ?? []), m['12']!]);
        }
      for (const [idClient, idServer] of acked)
        assert.deepEqual(again.get(idClient), [idServer], `resend of ${idClient}`);
      for (const idClient of unanswered) {
        const ids = again.get(idClient)!;
        assert.equal(ids[0], ids[1], `both resends of ${idClient} get one message`);
      }
    } finally {
      c.close();
      await killHard(server.proc);
    }

    auditFile(dataDir, acked);
    t.diagnostic(`${acked.size} answered of ${sent.length} sent; ${unanswered.length} unanswered resent`);
  });
});
