/**
 * Crash safety (issue 6): creates answered 200 survive `kill -9` (group commit answers only after
 * COMMIT, synchronous=FULL), and a crash leaves nothing half-written. The long version is
 * bench/crash.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { signHeaders } from '../../src/client/server-api.js';
import {
  auditDataDir,
  createApp,
  createUntilKilled,
  killHard,
  newLedger,
  serveChild,
} from '../helpers/crash.js';

describe('kill -9 while creating accounts', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'nimbase-crash-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps every acknowledged account, with its token, and nothing half-written', async (t) => {
    const creds = await createApp(dataDir);
    const ledger = newLedger();
    for (let cycle = 0; cycle < 2; cycle++) {
      const served = await serveChild(dataDir);
      await createUntilKilled({
        served,
        creds,
        ledger,
        prefix: `k${cycle}x`,
        killAfterMs: 100 + Math.floor(Math.random() * 400),
      });
    }
    assert.ok(ledger.acked.size > 0, 'some creates were acknowledged before the kills');

    // The restarted server answers a duplicate of every acknowledged account (sampled) with 414.
    const served = await serveChild(dataDir);
    try {
      const sample = [...ledger.acked.keys()].filter((_, i) => i % 25 === 0);
      for (const accid of sample) {
        const res = await fetch(`${served.url}/nimserver/user/create.action`, {
          method: 'POST',
          headers: { ...signHeaders(creds), 'Content-Type': 'application/x-www-form-urlencoded' },
          body: `accid=${accid}`,
        });
        assert.deepEqual(await res.json(), { desc: 'already register', code: 414 }, accid);
      }
    } finally {
      await killHard(served.proc);
    }

    const audit = await auditDataDir(dataDir, creds.appKey, ledger);
    assert.deepEqual(audit.problems, []);
    assert.ok(audit.rows >= ledger.acked.size);
    t.diagnostic(`${ledger.acked.size} acknowledged, ${ledger.sent.size} sent, ${audit.rows} stored`);

    // The audit itself can fail: a lost acknowledged account and a row nobody sent are both caught.
    const [someAccid, someToken] = [...ledger.acked][0]!;
    const broken = newLedger();
    for (const [a, tok] of ledger.sent) if (a !== someAccid) broken.sent.set(a, tok);
    broken.acked.set('never-stored', 'x');
    broken.sent.set('never-stored', 'x');
    const bad = await auditDataDir(dataDir, creds.appKey, broken);
    assert.ok(bad.problems.includes('acknowledged never-stored is missing'));
    assert.ok(bad.problems.includes(`row ${someAccid} was never sent`));
    assert.ok(someToken);
  });
});
