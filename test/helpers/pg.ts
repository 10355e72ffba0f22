/**
 * Fresh PostgreSQL databases for tests: one per run (or per server), named
 * nimbase_test_<pid>_<random> and dropped at the end. The admin URL comes from NIMBASE_TEST_PG_URL
 * (default: the local trust-auth server). Absent server: tests skip with this reason, unless CI=true,
 * where they must run and fail.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import pg from 'pg';

export const PG_ADMIN_URL = process.env.NIMBASE_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
export const IN_CI = process.env.CI === 'true';

/** Undefined when PostgreSQL answers; otherwise why the PostgreSQL cases are skipped. */
export async function pgSkipReason(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return `PostgreSQL not reachable at ${redact(PG_ADMIN_URL)} (${(err as Error).message}); set NIMBASE_TEST_PG_URL`;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Skip reason for node:test, or false when the cases must run (reachable, or CI where absence fails). */
export async function pgSkip(): Promise<string | false> {
  const reason = await pgSkipReason();
  return reason === undefined || IN_CI ? false : reason;
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(adminUrl = PG_ADMIN_URL): Promise<TestDatabase> {
  const name = `nimbase_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

const DB_NOTE = 'test-database-url';

/**
 * The database of a test server's data dir when the suite runs on PostgreSQL
 * (NIMBASE_TEST_DATABASE_URL = an admin URL): created on first use and remembered in the data dir,
 * so a restart test that reuses the dir finds its data again. Undefined on SQLite.
 */
export async function testDatabaseFor(dataDir: string): Promise<TestDatabase | undefined> {
  const adminUrl = process.env.NIMBASE_TEST_DATABASE_URL;
  if (!adminUrl) return undefined;
  const note = join(dataDir, DB_NOTE);
  if (existsSync(note)) {
    const url = readFileSync(note, 'utf8').trim();
    const name = new URL(url).pathname.slice(1);
    return { url, drop: () => admin(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
  }
  const db = await createTestDatabase(adminUrl);
  dropAtEnd(db);
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(note, db.url);
  return db;
}

/**
 * The PostgreSQL database behind a test data dir, as NIMBASE_DATABASE_URL for a CLI child process
 * given `--data-dir <dir>` (empty on SQLite), so data commands see what the test server stored.
 */
export function databaseEnvFor(args: readonly string[]): Record<string, string> {
  const i = args.indexOf('--data-dir');
  const dir = i >= 0 ? args[i + 1] : undefined;
  if (!process.env.NIMBASE_TEST_DATABASE_URL || !dir || !existsSync(join(dir, DB_NOTE))) return {};
  return { NIMBASE_DATABASE_URL: readFileSync(join(dir, DB_NOTE), 'utf8').trim() };
}

/**
 * Every database made for a test server is dropped when the test file ends, even when the server
 * failed to start or to close; the hook is registered at load time so it belongs to the file.
 */
const leftovers = new Set<TestDatabase>();
if (process.env.NIMBASE_TEST_DATABASE_URL)
  after(() => Promise.all([...leftovers].map((d) => d.drop().catch(() => {}))));
export function dropAtEnd(db: TestDatabase): void {
  leftovers.add(db);
}

async function admin(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}
