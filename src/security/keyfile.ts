import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KEY_BYTES } from './vault.js';

export const KEY_FILE_NAME = 'nimbase.key';

/** Parses a key given as 64 hex characters or base64 of 32 bytes. */
export function parseKey(text: string): Buffer {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  const b = Buffer.from(t, 'base64');
  if (b.length === KEY_BYTES && /^[A-Za-z0-9+/]+={0,2}$/.test(t)) return b;
  throw new Error(`the secret key must be ${KEY_BYTES} bytes as 64 hex characters or base64`);
}

/**
 * Reads the key file in `dataDir`, creating it (mode 0600) when absent. Creating it is safe only
 * for a database that holds no sealed values yet; the caller checks that.
 */
export function loadOrCreateKeyFile(dataDir: string): { key: Buffer; created: boolean; path: string } {
  const path = join(dataDir, KEY_FILE_NAME);
  if (existsSync(path)) return { key: parseKey(readFileSync(path, 'utf8')), created: false, path };
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(KEY_BYTES);
  writeFileSync(path, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return { key, created: true, path };
}
