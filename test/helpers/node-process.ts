/**
 * Runs `nimbase serve` as a real child process (node --import tsx src/cli.ts serve …), for the
 * multi-node tests: resolves once the node prints its listening line, with its base URL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface NodeProcess {
  url: string;
  proc: ChildProcess;
  /** Everything the node wrote, for failure messages. */
  output(): string;
  /** Resolves the exit code (or the signal name) once the process has ended. */
  exited: Promise<number | string>;
}

const CLI = resolve(import.meta.dirname, '../../src/cli.ts');

export async function startNode(env: Record<string, string>, args: string[] = []): Promise<NodeProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'nimbase-node-'));
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', CLI, 'serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn', ...args],
    { env: { ...process.env, CI: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const exited = new Promise<number | string>((r) =>
    proc.once('exit', (code, signal) => r(code ?? signal ?? -1)),
  );
  const url = await new Promise<string>((resolveUrl, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /nimbase listening on (http:\/\/[^\s]+) /.exec(out);
      if (m) resolveUrl(m[1]!);
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    exited.then((code) => reject(new Error(`nimbase serve exited (${code}) before listening:\n${out}`)));
  });
  return { url, proc, output: () => out, exited };
}
