/**
 * The bench scripts' command lines: `--help` prints the usage, and a bad flag or value ends the run
 * with one `error:` line and exit code 2, before anything is built or started.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

const run = (script: string, args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('bench command lines', () => {
  it('--help prints the usage with the scenario names and exits 0', () => {
    const r = run('bench/run.ts', ['--help']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /npm run bench -- \[--duration 10\]/);
    assert.match(r.stdout, /updateUinfo-1000/);
    assert.match(r.stdout, /--gateway-reference/);
    assert.match(r.stdout, /--node-arg=<flag>/);
    assert.match(r.stdout, /Not run unless named: reference-create, reference-create-sealed/);
    assert.match(r.stdout, /store-messages \(the SQLite store's message writes alone/);
    const c = run('bench/crash.ts', ['--help']);
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stdout, /--cycles/);
  });

  for (const [script, args, message] of [
    ['bench/run.ts', ['--bogus'], /Unknown option '--bogus'/],
    ['bench/run.ts', ['--duration', 'ten'], /--duration must be an integer in 1\.\.600/],
    ['bench/run.ts', ['--durability', 'sometimes'], /--durability must be full or normal/],
    ['bench/run.ts', ['--scenario', 'nothing-like-it'], /no scenario matches nothing-like-it/],
    ['bench/run.ts', ['--database-url', 'mysql://x'], /--database-url must be a postgres:\/\/ URL/],
    [
      'bench/run.ts',
      ['--node-arg', 'trace-gc'],
      /--node-arg takes a Node or V8 flag such as --node-arg=--trace-gc/,
    ],
    ['bench/crash.ts', ['--cycles', '0'], /--cycles must be an integer in 1\.\.1000/],
    ['bench/crash.ts', ['--durability', 'x'], /--durability must be full or normal/],
  ] as const)
    it(`${script} ${args.join(' ')}: one error line, exit code 2`, () => {
      const r = run(script, [...args]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /^error: /);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /); // no stack trace
    });
});
