// Random 32-hex ids, as the SDK's idClient, drawn 64 KiB of randomness at a time so that making them
// costs the bench scripts (bench/relay-server.mjs, bench/store-writes.mjs) next to nothing.
import { randomBytes } from 'node:crypto';

let pool = Buffer.alloc(0);
let at = 0;

export function randomHex32() {
  if (at + 16 > pool.length) {
    pool = randomBytes(65536);
    at = 0;
  }
  at += 16;
  return pool.toString('hex', at - 16, at);
}
