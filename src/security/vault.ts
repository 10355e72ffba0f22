/**
 * Secrets at rest: login tokens and app secrets are sealed with AES-256-GCM under a key kept outside
 * the database (a key file in the data dir, or a key from the environment for several nodes).
 * Sealing (not hashing) because the v2 account query returns the token (spec/accounts-v2.md A6).
 * The associated data binds a sealed value to its owner, so a row copied onto another account
 * does not open.
 */
import { createCipheriv, createDecipheriv, timingSafeEqual } from 'node:crypto';
import { randomBytesPooled } from './random.js';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;

export class SecretVault {
  readonly #key: Buffer;

  constructor(key: Uint8Array) {
    if (key.length !== KEY_BYTES) throw new Error(`the secret key must be ${KEY_BYTES} bytes`);
    this.#key = Buffer.from(key);
  }

  /** Layout: version(1) | iv(12) | tag(16) | ciphertext. */
  seal(plaintext: string, owner: string): Buffer {
    const iv = randomBytesPooled(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(owner, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.of(VERSION), iv, cipher.getAuthTag(), body]);
  }

  /** Opens a sealed value; throws when the key, the owner or the bytes do not match. */
  open(sealed: Uint8Array, owner: string): string {
    const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    if (buf.length < 1 + IV_BYTES + TAG_BYTES || buf[0] !== VERSION) throw new Error('unsealable value');
    const iv = buf.subarray(1, 1 + IV_BYTES);
    const tag = buf.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.#key, iv);
    decipher.setAAD(Buffer.from(owner, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([
      decipher.update(buf.subarray(1 + IV_BYTES + TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  }

  /** True when `candidate` equals the sealed value, compared in constant time. */
  matches(sealed: Uint8Array, owner: string, candidate: string): boolean {
    let stored: string;
    try {
      stored = this.open(sealed, owner);
    } catch {
      return false;
    }
    return constantTimeEqual(stored, candidate);
  }
}

/** Constant-time string equality (length differences leak only the length). */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

/** Owner strings used as associated data. */
export const tokenOwner = (appKey: string, accid: string) => `token:${appKey}:${accid}`;
export const appSecretOwner = (appKey: string) => `appsecret:${appKey}`;
