/** `nimbase accounts export|import` (extension): JSON Lines, tokens kept across keys and apps. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { databaseEnvFor } from '../helpers/pg.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { type Loose, v2 } from '../helpers/v2.js';

function cli(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NIMBASE_SECRET_KEY: '', ...databaseEnvFor(args) },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

const uinfos = async (s: TestServer, accids: string[]) =>
  (
    (await s.call('/nimserver/user/getUinfos.action', {
      accids: JSON.stringify(accids),
      muteStatus: 'true',
    })) as Loose
  ).uinfos;

describe('accounts export / import', () => {
  let a: TestServer;
  let b: TestServer;
  let dir: string;
  const tokens = new Map<string, string>();
  before(async () => {
    a = await startServer();
    b = await startServer();
    dir = mkdtempSync(join(tmpdir(), 'nimbase-export-'));
    await a.call('/nimserver/user/create.action', {
      accid: 'exp1',
      token: 'secret-one',
      name: '一',
      email: 'a@b.cn',
      gender: '2',
    });
    await v2(a, 'POST', '/im/v2/accounts', {
      account_id: 'exp2',
      token: 'secret-two',
      user_information: { avatar: 'http://x', extension: '{"k":1}' },
      configuration: { team_chat_banned: true, enabled: false },
    });
    const gen = (await a.call('/nimserver/user/create.action', { accid: 'exp3' })) as Loose;
    await a.call('/nimserver/user/mute.action', { accid: 'exp3', mute: 'true' });
    await a.call('/nimserver/user/setSpecialRelation.action', {
      accid: 'exp1',
      targetAcc: 'exp2',
      relationType: '1',
      value: '1',
    });
    await a.call('/nimserver/user/setSpecialRelation.action', {
      accid: 'exp1',
      targetAcc: 'exp3',
      relationType: '2',
      value: '1',
    });
    tokens.set('exp1', 'secret-one').set('exp2', 'secret-two').set('exp3', gen.info.token);
  });
  after(async () => {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('export to an unwritable path: one-line error, no stack trace', async () => {
    const r = await cli([
      'accounts',
      'export',
      '--data-dir',
      a.dataDir,
      '--out',
      join(dir, 'no', 'such', 'dir.jsonl'),
    ]);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /cannot write/);
  });

  it('export writes one JSON object per account, tokens in the file only', async () => {
    const file = join(dir, 'accounts.jsonl');
    // An existing, world-readable file is narrowed to 0600 before any token is written into it.
    writeFileSync(file, 'old', { mode: 0o644 });
    const r = await cli(['accounts', 'export', '--data-dir', a.dataDir, '--out', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /exported 3 account\(s\)/);
    for (const t of tokens.values()) assert.ok(!r.stderr.includes(t), 'no token on stderr');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => [l.accid, l.token]),
      [...tokens.entries()],
    );
    assert.deepEqual([lines[0].blacklist, lines[0].mutelist], [['exp2'], ['exp3']]);
    assert.equal('blacklist' in lines[1], false);
    assert.equal(lines[1].blocked, true);
    assert.equal(lines[1].muteTeam, true);
    assert.equal(lines[2].mute, true);
  });

  it('export to stdout', async () => {
    const r = await cli(['accounts', 'export', '--data-dir', a.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 3);
  });

  it('import into another data dir (another key, another AppKey) keeps tokens and profiles', async () => {
    const file = join(dir, 'accounts.jsonl');
    const r = await cli(['accounts', 'import', '--data-dir', b.dataDir, '--in', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /imported 3 account\(s\).*0 already existed/);
    for (const [accid, token] of tokens) {
      assert.equal(await b.runtime.accounts.verifyToken(b.appKey, accid, token), true, accid);
      assert.ok(!r.stderr.includes(token));
    }
    assert.deepEqual(await uinfos(b, ['exp1', 'exp2', 'exp3']), await uinfos(a, ['exp1', 'exp2', 'exp3']));
    assert.equal((await v2(b, 'GET', '/im/v2/accounts/exp2')).data.token, 'secret-two');
    assert.deepEqual(await b.call('/nimserver/user/listBlackAndMuteList.action', { accid: 'exp1' }), {
      code: 200,
      mutelist: ['exp3'],
      blacklist: ['exp2'],
    });
  });

  it('existing accounts are left alone unless --overwrite', async () => {
    await b.call('/nimserver/user/update.action', { accid: 'exp1', token: 'changed' });
    const file = join(dir, 'accounts.jsonl');
    const r = await cli(['accounts', 'import', '--data-dir', b.dataDir, '--in', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /imported 0 account\(s\).*3 already existed \(left alone\)/);
    assert.equal(await b.runtime.accounts.verifyToken(b.appKey, 'exp1', 'changed'), true);
    // The CLI writes from another process while b serves (and b has exp1 in its account cache, read
    // by the update and the check above): b must see the overwritten token at once.
    const o = await cli(['accounts', 'import', '--data-dir', b.dataDir, '--in', file, '--overwrite']);
    assert.equal(o.code, 0, o.stderr);
    assert.match(o.stderr, /3 overwritten/);
    assert.equal(await b.runtime.accounts.verifyToken(b.appKey, 'exp1', 'secret-one'), true);
  });

  it('invalid lines are reported by number (never with a token) and the rest is imported', async () => {
    const file = join(dir, 'bad.jsonl');
    writeFileSync(
      file,
      [
        '{"accid":"ok1","token":"tok-ok-1"}',
        'not json',
        '{"accid":"bad id","token":"tok-hidden"}',
        '{"accid":"notoken"}',
        '',
        `{"accid":"long","token":"${'s'.repeat(129)}"}`,
        '{"accid":"ok2","token":"tok-ok-2","blocked":"yes"}',
        '{"accid":"ok3","token":"tok-ok-3","blacklist":[5]}',
      ].join('\n'),
    );
    const r = await cli(['accounts', 'import', '--data-dir', b.dataDir, '--in', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /line 2: not a JSON object/);
    assert.match(r.stderr, /line 3: bad accid/);
    assert.match(r.stderr, /line 4: token is empty/);
    assert.match(r.stderr, /line 6: token too long/);
    assert.match(r.stderr, /line 7: bad blocked/);
    assert.match(r.stderr, /line 8: bad blacklist/);
    assert.match(r.stderr, /imported 1 account\(s\)/);
    assert.ok(!r.stderr.includes('tok-hidden') && !r.stderr.includes('sss'));
    assert.equal(await b.runtime.accounts.verifyToken(b.appKey, 'ok1', 'tok-ok-1'), true);
  });

  it('usage errors exit 2', async () => {
    const r = await cli(['accounts', 'import', '--data-dir', b.dataDir, '--in', join(dir, 'missing.jsonl')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot read/);
    const k = await cli(['accounts', 'export', '--data-dir', b.dataDir, '--app-key', 'nope']);
    assert.equal(k.code, 2);
    assert.match(k.stderr, /no app with AppKey nope/);
  });
});
