/**
 * Command-line handling shared by the bench scripts: `--help` prints the usage, and a bad flag or
 * value ends the run with one line on stderr and exit code 2 (no stack trace).
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** Ends the process: `error: <message>` and a pointer to --help on stderr, exit code 2. */
export function usageError(message: string, command: string): never {
  process.stderr.write(`error: ${message}\n(see ${command} -- --help)\n`);
  process.exit(2);
}

/** parseArgs with a `--help` flag (prints `usage`, exits 0) and usageError for anything it refuses. */
export function parseBenchArgs<O extends NonNullable<ParseArgsConfig['options']>>(
  options: O,
  usage: string,
  command: string,
) {
  let values: ReturnType<typeof parseArgs<{ options: O }>>['values'];
  try {
    values = parseArgs({ options: { ...options, help: { type: 'boolean' } } }).values as typeof values;
  } catch (err) {
    usageError((err as Error).message, command);
  }
  if ((values as { help?: boolean }).help) {
    process.stdout.write(`${usage.trim()}\n`);
    process.exit(0);
  }
  return values;
}
