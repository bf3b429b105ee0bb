/**
 * Checksums of issued secrets (SPEC §3: "a malformed or mistyped secret is
 * refused without a database lookup"). The scheme is GitHub's token format:
 * CRC32 of the characters before the checksum, appended in a fixed width.
 *
 * CRC32 is not a MAC and needs no key: it only tells a typo from a secret
 * latchkey issued. Forging a well-formed secret gains nothing, since the
 * secret is still looked up by its SHA-256 digest. Every checksum covers the
 * whole string before it, prefixes included, so `sk_test_` edited into
 * `sk_live_`, or an Unleash token's visible `<project>:<environment>` part
 * edited, is refused as malformed too.
 */

/** The base62 alphabet, in ASCII order (so hints sort naturally). */
export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Base62 characters of a checksum: 62^6 ≈ 5.7e10 > 2^32, so any CRC32 fits. */
export const BASE62_CHECKSUM_LENGTH = 6;

/** Hex characters of a checksum (Unleash-style tokens, whose random part is hex). */
export const HEX_CHECKSUM_LENGTH = 8;

// Node added zlib.crc32 only in 20.15 and package.json allows 20.12, so carry
// the classic table-driven CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320).
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 of a string's UTF-8 bytes (or of raw bytes), as an unsigned 32-bit integer. */
export function crc32(data: string | Uint8Array): number {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** `value` in base62, left-padded with `0` to `width` characters. */
export function encodeBase62(value: number, width: number): string {
  let out = '';
  let rest = value;
  while (rest > 0) {
    out = BASE62_ALPHABET[rest % 62]! + out;
    rest = Math.floor(rest / 62);
  }
  return out.padStart(width, '0');
}

/** The 6 base62 characters that follow `payload` in an issued secret. */
export function base62Checksum(payload: string): string {
  return encodeBase62(crc32(payload), BASE62_CHECKSUM_LENGTH);
}

/** The 8 lowercase hex characters that follow `payload` in an issued Unleash-style token. */
export function hexChecksum(payload: string): string {
  return crc32(payload).toString(16).padStart(HEX_CHECKSUM_LENGTH, '0');
}

/** True when `value` ends with the base62 checksum of everything before it. */
export function hasValidBase62Checksum(value: string): boolean {
  const cut = value.length - BASE62_CHECKSUM_LENGTH;
  return cut > 0 && base62Checksum(value.slice(0, cut)) === value.slice(cut);
}

/** True when `value` ends with the hex checksum of everything before it. */
export function hasValidHexChecksum(value: string): boolean {
  const cut = value.length - HEX_CHECKSUM_LENGTH;
  return cut > 0 && hexChecksum(value.slice(0, cut)) === value.slice(cut);
}
