/**
 * Deterministic bucketing (SPEC §6): MurmurHash3 x86 32-bit, seed 0, over the UTF-8 bytes of
 * `<flag salt>|<unit value>`, read as an unsigned integer, modulo 10000. The same unit always lands
 * in the same bucket of the same flag, on every replica and in every SDK that implements this
 * function; test/unit/flags/bucketing-vectors.json holds vectors for such implementations.
 *
 * The hash is always over UTF-8 bytes. The `murmurhash` package encodes strings with TextEncoder
 * itself (2.0.1) although its typings say "ASCII only"; older versions and other ports hash UTF-16
 * code units truncated to a byte instead, so the bytes are encoded here and passed as a Uint8Array,
 * which every version hashes as given. `Buffer.from` encodes a short string about three times
 * faster than `TextEncoder.encode`, and like it turns a lone surrogate (impossible in protobuf
 * strings, possible in JSON) into U+FFFD.
 */
import murmurhash from 'murmurhash';
import { TOTAL_BUCKETS } from './model.js';

/** MurmurHash3 x86 32-bit (seed 0) of the UTF-8 bytes of `${salt}|${unit}`, unsigned. */
export function hashUnit(salt: string, unit: string): number {
  return murmurhash.v3(Buffer.from(`${salt}|${unit}`, 'utf8'), 0) >>> 0;
}

/**
 * The bucket (0..9999) of a unit for a flag salt. A caller that keeps `saltPrefixOf(salt)` (a
 * compiled flag does) passes it as `prefix`, and the key is then hashed without building a string
 * (PREFIXED_KEYS below); the bucket is the same.
 */
export function bucketOf(salt: string, unit: string, prefix?: Uint8Array): number {
  if (prefix !== undefined) return bucketOfPrefixed(prefix, unit);
  return hashUnit(salt, unit) % TOTAL_BUCKETS;
}

/** The UTF-8 bytes of `<salt>|`: a compiled flag keeps them, so that a bucket costs no string building. */
export function saltPrefixOf(salt: string): Uint8Array {
  return Buffer.from(`${salt}|`, 'utf8');
}

/*
 * PREFIXED_KEYS: `bucketOf` with a prefix hashes exactly the bytes `hashUnit` hashes, without building
 * `${salt}|${unit}` and encoding it for every flag. Resolving every flag for one context buckets the
 * same unit once per flag; its UTF-8 bytes are encoded once (the last unit is remembered), and the
 * key is assembled in a scratch array of the key's exact length (murmurhash hashes `key.length`
 * bytes, so a view or a longer buffer would not do). JavaScript runs one call at a time on a thread,
 * so module-level scratch space is never shared by two calls.
 */
let lastUnit = '';
let lastUnitBytes: Uint8Array = Buffer.alloc(0);
/** Scratch keys by length; longer keys (rare: long units) get a fresh array. */
const scratchKeys: (Uint8Array | undefined)[] = [];
const MAX_SCRATCH_KEY = 256;

function bucketOfPrefixed(prefix: Uint8Array, unit: string): number {
  if (unit !== lastUnit) {
    lastUnitBytes = Buffer.from(unit, 'utf8');
    lastUnit = unit;
  }
  const unitBytes = lastUnitBytes;
  const p = prefix.length;
  const length = p + unitBytes.length;
  let key: Uint8Array;
  if (length <= MAX_SCRATCH_KEY) key = scratchKeys[length] ??= new Uint8Array(length);
  else key = new Uint8Array(length);
  // Plain loops: for keys this short they beat TypedArray.prototype.set's call overhead.
  for (let i = 0; i < p; i++) key[i] = prefix[i]!;
  for (let i = 0; i < unitBytes.length; i++) key[p + i] = unitBytes[i]!;
  return (murmurhash.v3(key, 0) >>> 0) % TOTAL_BUCKETS;
}

/**
 * The variant whose share of buckets holds `bucket`: allocations are walked in order, accumulating
 * weights, and the first whose cumulative weight exceeds the bucket takes it. `[a:2000, b:3000]`
 * gives buckets 0..1999 to a, 2000..4999 to b, and leaves 5000..9999 outside (undefined: the unit
 * goes on to the next rule). A weight of 0 takes no bucket.
 */
export function allocate<A extends { readonly variant: string; readonly weight: number }>(allocations: readonly A[], bucket: number): string | undefined {
  return allocationOf(allocations, bucket)?.variant;
}

/** The allocation (of `allocate`'s walk) that takes `bucket`, or undefined. */
export function allocationOf<A extends { readonly weight: number }>(allocations: readonly A[], bucket: number): A | undefined {
  let cumulative = 0;
  // An indexed loop: compiled allocations are frozen arrays (see FROZEN_ARRAYS in compile.ts).
  for (let i = 0; i < allocations.length; i++) {
    const a = allocations[i]!;
    cumulative += a.weight;
    if (bucket < cumulative) return a;
  }
  return undefined;
}
