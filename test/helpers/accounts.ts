/** Store-level test accounts: every flag off, a random plain token, fixed times unless overridden. */
import { randomBytes } from 'node:crypto';
import { DEFAULT_SETTINGS } from '../../src/accounts/registration.js';
import type { NewAccountRecord } from '../../src/store/port.js';

export function newAccount(
  appKey: string,
  accid: string,
  over: Partial<NewAccountRecord> = {},
): NewAccountRecord {
  return {
    appKey,
    accid,
    token: randomBytes(16).toString('hex'),
    gender: 0,
    ...DEFAULT_SETTINGS,
    createdAt: 1_700_000_000_123,
    updatedAt: 1_700_000_000_123,
    ...over,
  };
}
