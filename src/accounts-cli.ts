/**
 * `nimbase accounts export|import`: move an app's accounts in and out as JSON Lines, tokens kept
 * (docs/api.md, "Export / import"). The file holds tokens in the clear: it is written with mode 0600, and
 * nothing printed on stderr ever contains a token.
 */
import { createReadStream, createWriteStream, fchmodSync, openSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { exportAccounts, importAccounts } from './accounts/portable.js';
import { ConfigError } from './config.js';
import type { Runtime } from './runtime.js';

type WithRuntime = <T>(opts: Record<string, unknown>, fn: (rt: Runtime) => Promise<T>) => Promise<T>;

/** Raised when an import finished but left invalid lines behind (exit code 1). */
export class ImportIncompleteError extends Error {}

async function appKeyOf(rt: Runtime, given: string | undefined): Promise<string> {
  const apps = await rt.apps.listApps();
  if (given) {
    if (!apps.some((a) => a.appKey === given))
      throw new ConfigError(`no app with AppKey ${given} in the data dir`);
    return given;
  }
  if (apps.length !== 1)
    throw new ConfigError(apps.length === 0 ? 'no app in the data dir' : 'several apps: pass --app-key');
  return apps[0]!.appKey;
}

export function accountCommands(
  program: Command,
  dataOptions: (cmd: Command) => Command,
  withRuntime: WithRuntime,
): void {
  const cmd = program.command('accounts').description('export and import an app’s accounts (JSON Lines)');

  dataOptions(
    cmd
      .command('export')
      .description('write every account of an app, token included, one JSON object per line')
      .option('--app-key <key>', 'the app (default: the only app in the data dir)')
      .option('--out <file>', 'output file, created with mode 0600 (default: stdout)'),
  ).action(async (opts) => {
    await withRuntime(opts, async (rt) => {
      const appKey = await appKeyOf(rt, opts.appKey);
      let out: NodeJS.WritableStream = process.stdout;
      if (opts.out && opts.out !== '-') {
        // Tokens are in this file: 0600 even when it already existed with wider permissions.
        let fd: number;
        try {
          fd = openSync(opts.out, 'w', 0o600);
          fchmodSync(fd, 0o600);
        } catch (err) {
          throw new ConfigError(`cannot write ${opts.out}: ${(err as Error).message}`);
        }
        out = createWriteStream('', { fd });
      }
      let n = 0;
      for await (const account of exportAccounts(rt.store, rt.vault, appKey)) {
        if (!out.write(`${JSON.stringify(account)}\n`))
          await new Promise<void>((resolve) => out.once('drain', () => resolve()));
        n++;
      }
      if (out !== process.stdout)
        await new Promise<void>((resolve, reject) => {
          out.once('error', reject);
          out.end(() => resolve());
        });
      process.stderr.write(`exported ${n} account(s) of app ${appKey}\n`);
    });
  });

  dataOptions(
    cmd
      .command('import')
      .description(
        'read accounts written by `accounts export` (tokens kept, sealed under this data dir’s key)',
      )
      .requiredOption('--in <file>', 'input file (- for stdin)')
      .option('--app-key <key>', 'the app to import into (default: the only app in the data dir)')
      .option('--overwrite', 'replace accounts that already exist (default: leave them alone)'),
  ).action(async (opts) => {
    await withRuntime(opts, async (rt) => {
      const appKey = await appKeyOf(rt, opts.appKey);
      const input = opts.in === '-' ? process.stdin : createReadStream(opts.in);
      const opened = new Promise<void>((resolve, reject) => {
        if (input === process.stdin) resolve();
        else
          input
            .once('open', () => resolve())
            .once('error', (e: Error) => reject(new ConfigError(`cannot read ${opts.in}: ${e.message}`)));
      });
      await opened;
      const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
      const r = await importAccounts(rt.store, rt.vault, appKey, lines, {
        overwrite: opts.overwrite === true,
      });
      for (const bad of r.invalid) process.stderr.write(`line ${bad.line}: ${bad.reason}\n`);
      process.stderr.write(
        `imported ${r.imported} account(s) into app ${appKey}; ${r.existing} already existed` +
          (opts.overwrite ? ` (${r.overwritten} overwritten)` : ' (left alone)') +
          `; ${r.invalid.length} invalid line(s)\n`,
      );
      if (r.invalid.length > 0)
        throw new ImportIncompleteError(`${r.invalid.length} line(s) were not imported`);
    });
  });
}
