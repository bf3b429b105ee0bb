import { randomBytes } from 'node:crypto';

/** Lower-case Crockford base32 in ascending ASCII order, so string order is numeric order. */
const BASE32 = '0123456789abcdefghjkmnpqrstvwxyz';
const TIME_DIGITS = 13;
const RANDOM_CHARS = 10;
/** 50 random bits: below 2^53, so plain numbers hold them exactly. */
const RANDOM_SPACE = 2 ** (5 * RANDOM_CHARS);
/** A fresh millisecond starts in the lower half, leaving 2^49 increments before it runs out. */
const FRESH_SPACE = RANDOM_SPACE / 2;

/**
 * Random bytes drawn in blocks: one `randomBytes` call costs a few microseconds (and a getpid
 * syscall inside OpenSSL) whatever its size, and a busy server starts a fresh millisecond on
 * nearly every request.
 */
const POOL_BYTES = 7 * 512;
let pool = Buffer.alloc(0);
let poolOffset = 0;

/** A uniform random integer below FRESH_SPACE = 2^49, from 7 pooled random bytes. */
function freshRandom(): number {
  if (poolOffset + 7 > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  // 48 bits (the most readUIntBE takes) and one more.
  const value = pool.readUIntBE(poolOffset, 6) * 2 + (pool[poolOffset + 6]! & 1);
  poolOffset += 7;
  return value;
}

function encode(value: number): string {
  let out = '';
  for (let i = 0; i < RANDOM_CHARS; i++) {
    out = BASE32[value % 32]! + out;
    value = Math.floor(value / 32);
  }
  return out;
}

/**
 * Sortable ids (SDK events, audit records, flag applies): `<prefix><13-digit unix ms><10 base32
 * chars>`, strictly increasing within a process: ids made in the
 * same millisecond count up from a random start (as monotonic ULIDs do), and a clock that steps
 * back does not make ids go back. So a batch lists in the order it was sent, and batches in the
 * order they were received. Across replicas, ids of the same millisecond interleave in random
 * order; the random start keeps them unique.
 */
export class MonotonicIds {
  private lastMs = -1;
  private lastRandom = 0;

  constructor(private readonly prefix = 'e') {
    if (!/^[a-z][a-z0-9]*$/.test(prefix)) throw new RangeError(`invalid id prefix: ${JSON.stringify(prefix)}`);
  }

  next(now: Date): string {
    let ms = now.getTime();
    if (!Number.isInteger(ms) || ms < 0 || ms >= 10 ** TIME_DIGITS) throw new RangeError(`time out of range for an id: ${String(now)}`);
    if (ms > this.lastMs) {
      this.lastMs = ms;
      this.lastRandom = freshRandom();
    } else if (this.lastRandom + 1 < RANDOM_SPACE) {
      ms = this.lastMs;
      this.lastRandom += 1;
    } else {
      // 2^49 ids in one millisecond: borrow the next one.
      ms = ++this.lastMs;
      this.lastRandom = 0;
    }
    return this.prefix + String(ms).padStart(TIME_DIGITS, '0') + encode(this.lastRandom);
  }
}
