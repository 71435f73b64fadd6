import { randomFillSync } from 'node:crypto';

const EPOCH_BYTES = 6;
/** Epochs drawn per refill: one system call for many candidates instead of one each. */
const POOL_EPOCHS = 512;
const pool = Buffer.alloc(EPOCH_BYTES * POOL_EPOCHS);
let used = POOL_EPOCHS;

/**
 * A new log epoch: 6 random bytes, base64url. The Redis store passes a candidate with every
 * write that could start a log, and a log keeps the first it gets, so this sits on the
 * per-change path; it reads the system's randomness once per 512 epochs.
 */
export function newEpoch(): string {
  if (used === POOL_EPOCHS) {
    randomFillSync(pool);
    used = 0;
  }
  const start = used++ * EPOCH_BYTES;
  return pool.toString('base64url', start, start + EPOCH_BYTES);
}
