import * as zlib from 'node:zlib';
import { BASE62_ALPHABET, base62Checksum, crc32, encodeBase62, hasValidBase62Checksum, hasValidHexChecksum, hexChecksum } from '../../../src/credentials/checksum.js';

/** An independent base62 encoder (BigInt, most significant digit first) to check encodeBase62 against. */
function base62(value: number, width: number): string {
  let n = BigInt(value);
  let out = '';
  do {
    out = BASE62_ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  } while (n > 0n);
  return out.padStart(width, '0');
}

describe('crc32', () => {
  it('gives the standard CRC-32 check value and the empty-input value', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(crc32('')).toBe(0);
    expect(crc32('The quick brown fox jumps over the lazy dog')).toBe(0x414fa339);
  });

  it('hashes UTF-8 bytes, for strings and byte arrays alike', () => {
    expect(crc32('é')).toBe(crc32(Buffer.from([0xc3, 0xa9])));
  });

  const nodeCrc32 = (zlib as unknown as { crc32?: (data: string | Uint8Array) => number }).crc32;
  (nodeCrc32 ? it : it.skip)('agrees with zlib.crc32 where Node has it', () => {
    for (const s of ['', 'a', 'pk_live_0123456789ABCDEFGHIJKL', 'default:production.00ff', 'ünïcødé ✓', 'x'.repeat(5000)]) {
      expect(crc32(s)).toBe(nodeCrc32!(Buffer.from(s, 'utf8')));
    }
  });
});

describe('base62 and hex checksums', () => {
  it('encodes in a fixed width, zero-padded', () => {
    expect(encodeBase62(0, 6)).toBe('000000');
    expect(encodeBase62(61, 6)).toBe('00000z');
    expect(encodeBase62(62, 6)).toBe('000010');
    expect(encodeBase62(0xffffffff, 6)).toBe('4gfFC3');
    for (const v of [1, 12345, 0x7fffffff, 0xcbf43926, 0xffffffff]) expect(encodeBase62(v, 6)).toBe(base62(v, 6));
  });

  it('appends 6 base62 or 8 hex characters of the CRC32 of the payload', () => {
    expect(base62Checksum('123456789')).toBe(base62(0xcbf43926, 6));
    expect(hexChecksum('123456789')).toBe('cbf43926');
    expect(hexChecksum('')).toBe('00000000');
  });

  it('verifies a checksummed value and refuses one character changed', () => {
    const value = `sk_test_abc${base62Checksum('sk_test_abc')}`;
    expect(hasValidBase62Checksum(value)).toBe(true);
    expect(hasValidBase62Checksum(value.replace('abc', 'abd'))).toBe(false);
    expect(hasValidBase62Checksum('abc')).toBe(false);
    expect(hasValidHexChecksum(`x.${hexChecksum('x.')}`)).toBe(true);
    expect(hasValidHexChecksum(`y.${hexChecksum('x.')}`)).toBe(false);
  });
});
