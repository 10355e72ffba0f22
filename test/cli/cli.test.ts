/** The `nimbase` command, driven as a user would from a shell. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { runCli, startCliServer } from '../helpers/cli.js';

const sh = promisify(execFile);

describe('nimbase CLI', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nimbase-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--help works on every command', async () => {
    for (const args of [
      [],
      ['serve'],
      ['app'],
      ['app', 'create'],
      ['app', 'list'],
      ['app', 'rotate-secret'],
      ['migrate'],
      ['call'],
    ]) {
      const r = await runCli([...args, '--help']);
      assert.equal(r.code, 0, `${args.join(' ')} --help: ${r.stderr}`);
      assert.match(r.stdout, /Usage: nimbase/);
    }
  });

  it('bad flags and config end with a one-line error and exit code 2', async () => {
    const cases = [
      ['serve', '--no-such-flag'],
      ['serve', '--port', 'abc', '--data-dir', join(dir, 'x')],
      ['serve', '--port', '70000', '--data-dir', join(dir, 'x')],
      ['serve', '--log-level', 'loud', '--data-dir', join(dir, 'x')],
      ['serve', '--checksum-mismatch-code', '500', '--data-dir', join(dir, 'x')],
      ['serve', '--gateway-packet-rate', '0', '--data-dir', join(dir, 'x')],
      ['serve', '--resend-window', '-1', '--data-dir', join(dir, 'x')],
      ['serve', '--resend-window', '20000001', '--data-dir', join(dir, 'x')],
      ['serve', '--database-url', 'mysql://h/db', '--data-dir', join(dir, 'x')],
      ['app', 'create', '--data-dir', join(dir, 'x')],
      ['app', 'create', '--name', 'n', '--app-key', 'k', '--data-dir', join(dir, 'x')],
      ['app', 'rotate-secret', 'k', '--grace', 'soon', '--data-dir', join(dir, 'x')],
      ['call', 'user/create.action', 'novalue', '--app-key', 'k', '--app-secret', 's'],
      ['nosuchcommand'],
    ];
    for (const args of cases) {
      const r = await runCli(args, { NIMBASE_SECRET_KEY: '' });
      assert.equal(r.code, 2, `${args.join(' ')} → ${r.code}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  it('environment variables configure serve like flags (bad NIMBASE_PORT → exit 2)', async () => {
    const r = await runCli(['serve', '--data-dir', join(dir, 'env')], { NIMBASE_PORT: 'eighty' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /port/);
  });

  it('app create --json, app list, migrate', async () => {
    const d = join(dir, 'apps');
    const created = await runCli(['app', 'create', '--name', 'shop', '--json', '--data-dir', d]);
    assert.equal(created.code, 0, created.stderr);
    const creds = JSON.parse(created.stdout);
    assert.deepEqual(Object.keys(creds).sort(), ['appKey', 'appSecret']);
    assert.match(creds.appKey, /^[0-9a-f]{32}$/);
    const listed = await runCli(['app', 'list', '--data-dir', d]);
    assert.match(listed.stdout, new RegExp(`${creds.appKey}\\s+shop`));
    assert.equal(listed.stdout.includes(creds.appSecret), false, 'secrets only with --secrets');
    const withSecrets = JSON.parse(
      (await runCli(['app', 'list', '--json', '--secrets', '--data-dir', d])).stdout,
    );
    assert.equal(withSecrets[0].appSecret, creds.appSecret);
    const migrated = await runCli(['migrate', '--data-dir', d]);
    assert.equal(migrated.code, 0);
    assert.match(migrated.stdout, /up to date/);
  });

  it('app create keeps an existing CommsEase AppKey and AppSecret', async () => {
    const d = join(dir, 'import');
    const r = await runCli([
      'app',
      'create',
      '--name',
      'moved',
      '--app-key',
      'go9dnk49bkd9jd9vmel1kglw0803mgq3',
      '--app-secret',
      'a1b2c3d4e5f6',
      '--json',
      '--data-dir',
      d,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const again = await runCli([
      'app',
      'create',
      '--name',
      'moved',
      '--app-key',
      'go9dnk49bkd9jd9vmel1kglw0803mgq3',
      '--app-secret',
      'x',
      '--data-dir',
      d,
    ]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /exists/);
  });

  it('first start prints the AppKey, AppSecret and a snippet that registers an account when pasted', async () => {
    const d = join(dir, 'first');
    const server = await startCliServer(['--data-dir', d]);
    try {
      const out = server.stdout();
      assert.match(out, /AppKey:\s+[0-9a-f]{32}/);
      assert.match(out, /AppSecret:\s+[0-9a-f]{32}/);
      // The snippet is the indented block from APPKEY= to the curl's last line.
      const start = out.indexOf('  APPKEY=');
      const end =
        out.indexOf("-d 'accid=zhangsan&name=Zhang%20San'") + "-d 'accid=zhangsan&name=Zhang%20San'".length;
      const snippet = out.slice(start, end);
      const { stdout } = await sh('bash', ['-c', snippet]);
      const body = JSON.parse(stdout);
      assert.equal(body.code, 200, stdout);
      assert.equal(body.info.accid, 'zhangsan');
      assert.equal(body.info.name, 'Zhang San');

      // `call` signs with the data dir's app and prints the JSON answer.
      const called = await runCli([
        'call',
        'user/create.action',
        'accid=LiSi',
        'name=李四',
        '--url',
        server.url,
        '--data-dir',
        d,
      ]);
      assert.equal(called.code, 0, called.stderr);
      assert.deepEqual(JSON.parse(called.stdout).info.accid, 'lisi');
      const dup = await runCli([
        'call',
        '/nimserver/user/create.action',
        'accid=lisi',
        '--url',
        server.url,
        '--data-dir',
        d,
      ]);
      assert.deepEqual(JSON.parse(dup.stdout), { desc: 'already register', code: 414 });
    } finally {
      assert.equal(await server.stop('SIGTERM'), 0, 'SIGTERM stops the server cleanly');
    }
    // A second start does not print the secret again.
    const again = await startCliServer(['--data-dir', d]);
    try {
      assert.doesNotMatch(again.stdout(), /AppSecret/);
    } finally {
      await again.stop();
    }
  });

  it('rotate-secret: the old secret keeps working for the grace period; --grace 0 revokes it', async () => {
    const d = join(dir, 'rotate');
    const creds = JSON.parse(
      (await runCli(['app', 'create', '--name', 'r', '--json', '--data-dir', d])).stdout,
    );
    const server = await startCliServer(['--data-dir', d, '--app-cache-ttl', '0']);
    try {
      const callWith = async (secret: string, accid: string) =>
        JSON.parse(
          (
            await runCli([
              'call',
              'user/create.action',
              `accid=${accid}`,
              '--url',
              server.url,
              '--app-key',
              creds.appKey,
              '--app-secret',
              secret,
            ])
          ).stdout,
        ).code;
      const rotated = JSON.parse(
        (await runCli(['app', 'rotate-secret', creds.appKey, '--grace', '3600', '--json', '--data-dir', d]))
          .stdout,
      );
      assert.notEqual(rotated.appSecret, creds.appSecret);
      assert.equal(await callWith(rotated.appSecret, 'n1'), 200);
      assert.equal(await callWith(creds.appSecret, 'n2'), 200, 'old secret within grace');
      const revoked = JSON.parse(
        (await runCli(['app', 'rotate-secret', creds.appKey, '--grace', '0', '--json', '--data-dir', d]))
          .stdout,
      );
      assert.equal(await callWith(revoked.appSecret, 'n3'), 200);
      assert.equal(await callWith(rotated.appSecret, 'n4'), 414, 'previous secret revoked at once');
    } finally {
      await server.stop();
    }
  });

  it('call against an unreachable server: one-line error, exit 1', async () => {
    const r = await runCli([
      'call',
      'user/create.action',
      'accid=x',
      '--url',
      'http://127.0.0.1:1',
      '--app-key',
      'k',
      '--app-secret',
      's',
    ]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  it('rotate-secret of an unknown app: one-line error, exit 1', async () => {
    const r = await runCli(['app', 'rotate-secret', 'nope', '--data-dir', join(dir, 'apps')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no app/);
  });
});
