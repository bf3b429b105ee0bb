import murmurhash from 'murmurhash';
import { allocate, bucketOf, hashUnit } from '../../../src/flags/bucketing.js';
import vectors from './bucketing-vectors.json';

/**
 * MurmurHash3_x86_32 written here from the reference algorithm (Appleby's MurmurHash3.cpp) over
 * bytes, independent of the `murmurhash` package that src/flags/bucketing.ts uses. The vectors file
 * was produced by a third implementation (make-bucketing-vectors.py); all three must agree.
 */
function referenceMurmur3(data: Uint8Array, seed = 0): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const rotl = (x: number, r: number): number => ((x << r) | (x >>> (32 - r))) >>> 0;
  let h1 = seed >>> 0;
  const nblocks = Math.floor(data.length / 4);
  for (let i = 0; i < nblocks; i++) {
    let k1 = (data[4 * i]! | (data[4 * i + 1]! << 8) | (data[4 * i + 2]! << 16) | (data[4 * i + 3]! << 24)) >>> 0;
    k1 = Math.imul(k1, c1) >>> 0;
    k1 = rotl(k1, 15);
    k1 = Math.imul(k1, c2) >>> 0;
    h1 ^= k1;
    h1 = rotl(h1 >>> 0, 13);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) >>> 0;
  }
  const tail = nblocks * 4;
  const rest = data.length & 3;
  let k1 = 0;
  if (rest >= 3) k1 ^= data[tail + 2]! << 16;
  if (rest >= 2) k1 ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    k1 ^= data[tail]!;
    k1 = Math.imul(k1, c1) >>> 0;
    k1 = rotl(k1, 15);
    k1 = Math.imul(k1, c2) >>> 0;
    h1 ^= k1;
  }
  h1 = (h1 ^ data.length) >>> 0;
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b) >>> 0;
  h1 ^= h1 >>> 13;
  h1 = Math.imul(h1, 0xc2b2ae35) >>> 0;
  h1 ^= h1 >>> 16;
  return h1 >>> 0;
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('MurmurHash3 x86 32-bit', () => {
  it.each([
    ['', 0],
    ['hello', 0x248bfa47],
    ['The quick brown fox jumps over the lazy dog', 0x2e4ff723],
  ])('matches the published seed-0 vector for %j (reference and library)', (input, expected) => {
    expect(referenceMurmur3(utf8(input))).toBe(expected);
    expect(murmurhash.v3(utf8(input), 0)).toBe(expected);
  });

  it('hashes non-ASCII strings as UTF-8 bytes, not UTF-16 code units', () => {
    for (const s of ['ü', '日本', '😀', 'Zoë Ångström']) {
      expect(murmurhash.v3(utf8(s), 0)).toBe(referenceMurmur3(utf8(s)));
      // The library's own string path (TextEncoder in 2.0.1) agrees, but bucketing never relies on it.
      expect(murmurhash.v3(s, 0)).toBe(referenceMurmur3(utf8(s)));
    }
    // And the bytes are really not the char codes: "ü" is one code unit but two UTF-8 bytes.
    expect(referenceMurmur3(utf8('ü'))).not.toBe(referenceMurmur3(Uint8Array.of(0xfc)));
  });

  it('agrees with the reference on every tail length and assorted lengths', () => {
    for (let n = 0; n < 40; n++) {
      const s = 'x'.repeat(n) + 'é'.repeat(n % 3);
      expect(murmurhash.v3(utf8(s), 0)).toBe(referenceMurmur3(utf8(s)));
    }
  });
});

describe('bucketing vectors (test/unit/flags/bucketing-vectors.json)', () => {
  it('has at least 20 entries, some of them non-ASCII', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(20);
    expect(vectors.some((v) => /[^\x00-\x7f]/.test(v.unit))).toBe(true);
    expect(vectors.map((v) => v.unit)).toEqual(expect.arrayContaining(['ü', '日本']));
  });

  it.each(vectors.map((v) => [v.salt, v.unit, v.hash, v.bucket] as const))('salt %j unit %j → hash %d, bucket %d', (salt, unit, hash, bucket) => {
    expect(referenceMurmur3(utf8(`${salt}|${unit}`))).toBe(hash);
    expect(hashUnit(salt, unit)).toBe(hash);
    expect(bucketOf(salt, unit)).toBe(bucket);
    expect(bucket).toBe(hash % 10000);
  });

  it('hashes a lone surrogate (possible in JSON contexts) as U+FFFD, as WHATWG UTF-8 encoding does', () => {
    const replaced = referenceMurmur3(utf8('salt|\uFFFD'));
    expect(hashUnit('salt', '\uD800')).toBe(replaced);
    expect(hashUnit('salt', 'a\uDC00')).toBe(referenceMurmur3(utf8('salt|a\uFFFD')));
  });
});

describe('allocate', () => {
  const allocations = [
    { variant: 'a', weight: 2000 },
    { variant: 'b', weight: 0 },
    { variant: 'c', weight: 3000 },
  ];

  it.each([
    [0, 'a'],
    [1999, 'a'],
    [2000, 'c'],
    [4999, 'c'],
    [5000, undefined],
    [9999, undefined],
  ])('bucket %d → %s (cumulative walk; a zero weight takes nothing; past the sum is outside)', (bucket, expected) => {
    expect(allocate(allocations, bucket)).toBe(expected);
  });

  it('takes nothing with no allocations', () => {
    expect(allocate([], 0)).toBeUndefined();
  });
});
