import fc from 'fast-check';
import { bucketOf, saltPrefixOf } from '../../../src/flags/bucketing.js';
import vectors from './bucketing-vectors.json';

/**
 * bucketOf with a compiled flag's salt prefix (no key string built, the last unit's bytes reused,
 * scratch keys by length) must give exactly the bucket of the plain `${salt}|${unit}` hash.
 */
describe('bucketOf with a salt prefix', () => {
  it('gives the bucket of the plain hash for any salt and unit, also when units alternate and keys outgrow the scratch space', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.oneof(fc.string({ unit: 'grapheme', minLength: 1 }), fc.string({ unit: 'binary', minLength: 200, maxLength: 400 }))), { minLength: 1, maxLength: 6 }),
        (pairs) => {
          // Interleaved: each unit differs from the previous call's, so the remembered unit bytes must be replaced.
          for (const [salt, unit] of [...pairs, ...pairs.reverse()]) expect(bucketOf(salt, unit, saltPrefixOf(salt))).toBe(bucketOf(salt, unit));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('matches the published test vectors', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(20);
    for (const v of vectors) expect(bucketOf(v.salt, v.unit, saltPrefixOf(v.salt))).toBe(v.bucket);
  });
});
