/**
 * Crash-safety harness shared by test/crash (short) and bench/crash.ts (long): runs `nimbase serve`
 * as a child process, streams signed creates at it, `kill -9`s it at a random moment, and checks the
 * data dir: every create answered 200 exists with its token still verifiable, every stored row was
 * actually sent (and opens with the vault), and the SQLite file passes integrity_check.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { signHeaders } from '../../src/client/server-api.js';
import { parseConfig, serveSchema } from '../../src/config.js';
import { openRuntime } from '../../src/runtime.js';
import { tokenOwner } from '../../src/security/vault.js';

const ROOT = new URL('../..', import.meta.url).pathname;

export interface Served {
  proc: ChildProcess;
  url: string;
}

/** Starts `node --import tsx src/cli.ts serve --port 0` on a data dir; resolves once it listens. */
export function serveChild(dataDir: string, extraArgs: string[] = []): Promise<Served> {
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'src/cli.ts'),
      'serve',
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--log-level',
      'warn',
      ...extraArgs,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  proc.stderr!.on('data', (c) => {
    err += c;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`serve did not start: ${err}`));
    }, 30_000);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code ?? signal}) before listening: ${err}`));
    });
    proc.stdout!.on('data', (c) => {
      out += c;
      const m = /listening on (http:\/\/[^ ]+:\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      proc.removeAllListeners('exit');
      proc.stdout!.resume();
      resolve({ proc, url: m[1]! });
    });
  });
}

export function killHard(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });
}

export interface Ledger {
  /** accid → token of every create answered `{"code":200}`. */
  acked: Map<string, string>;
  /** accid → token of every create sent (answered or not). */
  sent: Map<string, string>;
}

export const newLedger = (): Ledger => ({ acked: new Map(), sent: new Map() });

/**
 * Streams creates (`concurrency` at a time, unique accids `<prefix><n>`) until the server dies,
 * which this function causes with SIGKILL `killAfterMs` after the first 200.
 */
export async function createUntilKilled(o: {
  served: Served;
  creds: { appKey: string; appSecret: string };
  ledger: Ledger;
  prefix: string;
  killAfterMs: number;
  concurrency?: number;
}): Promise<void> {
  let n = 0;
  let dead = false;
  let killTimer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    o.served.proc.once('exit', () => {
      dead = true;
      resolve();
    });
  });
  const armKill = () => {
    killTimer ??= setTimeout(() => o.served.proc.kill('SIGKILL'), o.killAfterMs);
  };
  const worker = async () => {
    while (!dead) {
      const accid = `${o.prefix}${n++}`;
      const token = `tok-${accid}`;
      o.ledger.sent.set(accid, token);
      try {
        const res = await fetch(`${o.served.url}/nimserver/user/create.action`, {
          method: 'POST',
          headers: {
            ...signHeaders(o.creds),
            'Content-Type': 'application/x-www-form-urlencoded;charset=utf-8',
          },
          body: `accid=${accid}&token=${token}&name=crash%20test`,
        });
        const body = (await res.json()) as { code: number };
        if (body.code === 200) {
          o.ledger.acked.set(accid, token);
          armKill();
        } else throw new Error(`create ${accid} answered ${JSON.stringify(body)}`);
      } catch (err) {
        // A request cut by the kill fails just before the exit event arrives: give it time. A failure
        // while the server still runs afterwards is a bug, not the crash.
        await Promise.race([killed, new Promise((r) => setTimeout(r, 5000).unref())]);
        if (!dead) {
          o.served.proc.kill('SIGKILL');
          throw err;
        }
      }
    }
  };
  const workers = Array.from({ length: o.concurrency ?? 16 }, worker);
  await Promise.all([...workers, killed]);
  clearTimeout(killTimer);
}

/** Opens the data dir (server stopped) and lists every way it breaks the promises. */
export async function auditDataDir(
  dataDir: string,
  appKey: string,
  ledger: Ledger,
): Promise<{ rows: number; problems: string[] }> {
  const problems: string[] = [];
  const db = new Database(join(dataDir, 'nimbase.db'), { readonly: true });
  let rows: { accid: string; token_sealed: Buffer }[];
  try {
    const integrity = db.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') problems.push(`integrity_check: ${String(integrity)}`);
    rows = db
      .prepare('SELECT accid, token_sealed FROM accounts WHERE app_key = ?')
      .all(appKey) as typeof rows;
  } finally {
    db.close();
  }
  const runtime = await openRuntime(parseConfig(serveSchema, { dataDir }));
  try {
    const stored = new Set<string>();
    for (const r of rows) {
      stored.add(r.accid);
      const token = ledger.sent.get(r.accid);
      if (token === undefined) {
        problems.push(`row ${r.accid} was never sent`);
        continue;
      }
      let opened: string | undefined;
      try {
        opened = runtime.vault.open(r.token_sealed, tokenOwner(appKey, r.accid));
      } catch {
        problems.push(`row ${r.accid}: sealed token does not open`);
      }
      if (opened !== undefined && opened !== token) problems.push(`row ${r.accid}: wrong token`);
    }
    for (const [accid, token] of ledger.acked) {
      if (!stored.has(accid)) problems.push(`acknowledged ${accid} is missing`);
      else if (!(await runtime.accounts.verifyToken(appKey, accid, token)))
        problems.push(`acknowledged ${accid}: token does not verify`);
    }
  } finally {
    await runtime.close();
  }
  return { rows: rows.length, problems };
}

/** Creates the app the children will serve (before the first start, so no banner is needed). */
export async function createApp(dataDir: string): Promise<{ appKey: string; appSecret: string }> {
  const runtime = await openRuntime(parseConfig(serveSchema, { dataDir }));
  try {
    return await runtime.apps.createApp('crash');
  } finally {
    await runtime.close();
  }
}
