import type { RandomSource } from '../../../src/credentials/index.js';

/** A deterministic byte source: 0, 1, 2, … across calls, so issued secrets are exact strings. */
export function counting(start = 0): RandomSource {
  let n = start;
  return (size) => Uint8Array.from({ length: size }, () => n++ % 256);
}

/**
 * Golden secrets: what `issueSecret` answers for `counting()`. They pin the
 * wire formats: a change that stops parsing them would lock out every
 * credential already handed out.
 */
export const GOLDEN = {
  keyPairLive: { clientId: 'pk_live_0123456789ABCDEFGHIJKL4ERsNy', secret: 'sk_live_ijklmnopqrstuvwxyz01230lxnrj' },
  keyPairTest: { clientId: 'pk_test_0123456789ABCDEFGHIJKL30Ii7A', secret: 'sk_test_ijklmnopqrstuvwxyz01231vHEpJ' },
  clientSecret: '0123456789ABCDEFGHIJKLMNOP4XCOD7',
  unleashOne: 'default:production.000102030405060708090a0b0c0d0e0f6602ea41',
  unleashAll: '*:development.000102030405060708090a0b0c0d0e0f06bac0ba',
  unleashList: '[]:development.000102030405060708090a0b0c0d0e0fe7718cd6',
  publishable: 'pub_production_0123456789ABCDEFGHIJKL1ce6Ul',
  secretKey: 'sec_staging_0123456789ABCDEFGHIJKL12eQTF',
} as const;
