/**
 * CSPRNG bytes for the request path, drawn from a pool refilled 4 KiB at a time. Each
 * `crypto.randomBytes` call pays a fixed cost in OpenSSL's DRBG (measured ~5 µs on the bench VM, as
 * much as filling 4 KiB), and a create needs two draws (token, AES-GCM IV): pooling makes that cost
 * ~1/256th. The bytes are the same CSPRNG output; each byte is handed out once and copied out of
 * the pool (the same trade `crypto.randomUUID` makes with its own cache).
 */
import { randomBytes, randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafeSlow(POOL_BYTES);
let offset = POOL_BYTES;

/** `n` fresh random bytes (a new Buffer the caller owns). */
export function randomBytesPooled(n: number): Buffer {
  if (n > POOL_BYTES / 4) return randomBytes(n);
  if (offset + n > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = Buffer.allocUnsafe(n);
  pool.copy(out, 0, offset, offset + n);
  pool.fill(0, offset, offset + n);
  offset += n;
  return out;
}
