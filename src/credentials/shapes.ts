import { BASE62_CHECKSUM_LENGTH, HEX_CHECKSUM_LENGTH } from './checksum.js';

/**
 * The exact shapes of the secrets latchkey issues (SPEC §3, "Wire formats").
 * The issuer builds them and the parser recognises them from the same
 * constants, so the two cannot drift apart.
 *
 * Randomness (SPEC: at least 128 bits in every issued secret):
 * - base62 bodies: 22 random characters × log2(62) ≈ 131 bits;
 * - CLIENT_SECRET: 26 random characters ≈ 155 bits (the 32-character
 *   Confidence shape leaves room for it next to the 6-character checksum);
 * - UNLEASH: 16 random bytes = 32 hex characters = 128 bits.
 */

/** Random base62 characters in `pk_`, `sk_`, `pub_` and `sec_` secrets. */
export const BODY_RANDOM_LENGTH = 22;
/** The base62 body after the prefix: random characters then the checksum (28). */
export const BODY_LENGTH = BODY_RANDOM_LENGTH + BASE62_CHECKSUM_LENGTH;

/** CLIENT_SECRET: 26 random characters + 6 checksum characters = 32, no prefix. */
export const CLIENT_SECRET_RANDOM_LENGTH = 26;
export const CLIENT_SECRET_LENGTH = CLIENT_SECRET_RANDOM_LENGTH + BASE62_CHECKSUM_LENGTH;

/** UNLEASH: random bytes in the hex tail. */
export const UNLEASH_RANDOM_BYTES = 16;
/**
 * Hex characters after the `.` of an issued Unleash-style token: 32 random +
 * 8 checksum = 40. Unleash itself writes 56 (randomBytes(28)), so imported
 * Unleash tokens never collide with this length.
 */
export const UNLEASH_TAIL_LENGTH = UNLEASH_RANDOM_BYTES * 2 + HEX_CHECKSUM_LENGTH;

/** Resource ids (SPEC §1); environment ids appear in `pub_<env>_…` and Unleash tokens. */
export const ID_SOURCE = '[a-z][a-z0-9-]{0,62}';
const ID = new RegExp(`^${ID_SOURCE}$`);
export const isId = (s: string): boolean => ID.test(s);

/** Management API access tokens (src/iam): recognised only to refuse them on the runtime API with a clear message. */
export const MANAGEMENT_TOKEN_PREFIX = 'lkat_';

/** `live` when one of the credential's environments is marked production, `test` otherwise. */
export type KeyPairMode = 'live' | 'test';

export const PUBLIC_KEY = new RegExp(`^pk_(live|test)_[0-9A-Za-z]{${BODY_LENGTH}}$`);
export const SECRET_KEY_PAIR_HALF = new RegExp(`^sk_(live|test)_[0-9A-Za-z]{${BODY_LENGTH}}$`);
/** `pub_<env>_<body>` / `sec_<env>_<body>`: ids contain no `_`, so the split is unambiguous. */
export const ENVIRONMENT_KEY = new RegExp(`^(pub|sec)_(${ID_SOURCE})_([0-9A-Za-z]{${BODY_LENGTH}})$`);
export const CLIENT_SECRET = new RegExp(`^[0-9A-Za-z]{${CLIENT_SECRET_LENGTH}}$`);
/**
 * An Unleash-style token with a latchkey visible part and a tail of exactly
 * the issued length, whatever its characters: such a token is latchkey's, so a
 * substituted character (even a non-hex one) makes it malformed, not imported.
 */
export const LATCHKEY_UNLEASH = new RegExp(`^(\\*|\\[\\]|${ID_SOURCE}):(${ID_SOURCE})\\.(\\S{${UNLEASH_TAIL_LENGTH}})$`);
export const UNLEASH_HEX_TAIL = new RegExp(`^[0-9a-f]{${UNLEASH_TAIL_LENGTH}}$`);

/**
 * Prefixes latchkey reserves: a value starting with one of them must be an
 * exact, checksummed latchkey secret. Reserving whole prefixes (rather than
 * only exact lengths) means a truncated or lengthened secret is refused
 * without a lookup too, and secret scanners can rely on the prefixes.
 */
export const RESERVED_PREFIXES = ['pk_live_', 'pk_test_', 'sk_live_', 'sk_test_', 'pub_', 'sec_', MANAGEMENT_TOKEN_PREFIX] as const;

export function reservedPrefixOf(value: string): string | undefined {
  return RESERVED_PREFIXES.find((p) => value.startsWith(p));
}
