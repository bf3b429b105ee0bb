import { constantTimeEqual, constantTimeEqualHex, digestSecret } from '../../../src/credentials/index.js';
import { GOLDEN } from './fixtures.js';

describe('digests', () => {
  it('digestSecret is the hex SHA-256 of the UTF-8 secret', () => {
    expect(digestSecret('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(digestSecret(GOLDEN.clientSecret)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('constantTimeEqualHex compares digests and answers false (never throws) on other lengths or non-hex', () => {
    const d = digestSecret('x');
    expect(constantTimeEqualHex(d, d)).toBe(true);
    expect(constantTimeEqualHex(d, d.toUpperCase())).toBe(true);
    expect(constantTimeEqualHex(d, digestSecret('y'))).toBe(false);
    expect(constantTimeEqualHex(d, d.slice(2))).toBe(false);
    expect(constantTimeEqualHex('', '')).toBe(false);
    expect(constantTimeEqualHex('zz', 'zz')).toBe(false);
    expect(constantTimeEqualHex('abc', 'abc')).toBe(false);
  });

  it('constantTimeEqual compares strings of any length', () => {
    expect(constantTimeEqual(GOLDEN.keyPairLive.clientId, GOLDEN.keyPairLive.clientId)).toBe(true);
    expect(constantTimeEqual(GOLDEN.keyPairLive.clientId, GOLDEN.keyPairTest.clientId)).toBe(false);
    expect(constantTimeEqual('a', 'ab')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });
});
