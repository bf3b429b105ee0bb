import { randomBytes } from 'node:crypto';
import { BASE62_ALPHABET } from './checksum.js';

/**
 * A source of random bytes. Production uses the CSPRNG; tests pass a
 * deterministic one so issued secrets can be compared to exact strings.
 */
export type RandomSource = (size: number) => Uint8Array;

export const secureRandom: RandomSource = (size) => randomBytes(size);

/**
 * `length` uniformly distributed base62 characters. Bytes of 248 and above
 * are thrown away (248 = 4 × 62), so every character is equally likely and
 * each carries the full log2(62) ≈ 5.95 bits.
 */
export function randomBase62(length: number, random: RandomSource = secureRandom): string {
  let out = '';
  while (out.length < length) {
    const bytes = random(length * 2);
    for (let i = 0; i < bytes.length && out.length < length; i++) {
      const byte = bytes[i]!;
      if (byte < 248) out += BASE62_ALPHABET[byte % 62];
    }
  }
  return out;
}

/** `bytes` random bytes as lowercase hex (2 characters per byte, 4 bits each). */
export function randomHex(bytes: number, random: RandomSource = secureRandom): string {
  return Buffer.from(random(bytes)).toString('hex');
}
