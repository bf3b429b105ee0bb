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
import { TOTAL_BUCKETS, type Allocation } from './model.js';

/** MurmurHash3 x86 32-bit (seed 0) of the UTF-8 bytes of `${salt}|${unit}`, unsigned. */
export function hashUnit(salt: string, unit: string): number {
  return murmurhash.v3(Buffer.from(`${salt}|${unit}`, 'utf8'), 0) >>> 0;
}

/** The bucket (0..9999) of a unit for a flag salt. */
export function bucketOf(salt: string, unit: string): number {
  return hashUnit(salt, unit) % TOTAL_BUCKETS;
}

/**
 * The variant whose share of buckets holds `bucket`: allocations are walked in order, accumulating
 * weights, and the first whose cumulative weight exceeds the bucket takes it. `[a:2000, b:3000]`
 * gives buckets 0..1999 to a, 2000..4999 to b, and leaves 5000..9999 outside (undefined: the unit
 * goes on to the next rule). A weight of 0 takes no bucket.
 */
export function allocate(allocations: readonly Allocation[], bucket: number): string | undefined {
  let cumulative = 0;
  // An indexed loop: compiled allocations are frozen arrays (see FROZEN_ARRAYS in compile.ts).
  for (let i = 0; i < allocations.length; i++) {
    const a = allocations[i]!;
    cumulative += a.weight;
    if (bucket < cumulative) return a.variant;
  }
  return undefined;
}
