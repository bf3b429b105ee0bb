import { hash, timingSafeEqual } from 'node:crypto';

/**
 * Secrets are stored only as a SHA-256 digest (SPEC §3). A plain, unsalted
 * hash is enough here because issued secrets carry at least 128 bits of
 * randomness, and it is what makes the lookup a single indexed equality
 * (argon2 would cost 22–28 ms per request; SHA-256 costs 2–4 µs).
 * Imported secrets are at least 16 characters and are hashed the same way so
 * that one lookup serves every format. `crypto.hash` (Node 20.12+) is the
 * one-shot form: about half the cost of a Hash object on every request.
 */
export function digestSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

const HEX = /^(?:[0-9a-f]{2})+$/i;

/**
 * Constant-time comparison of two hex digests. Different lengths or non-hex
 * input answer false rather than throwing (timingSafeEqual throws on
 * different lengths); the length of a digest is not a secret.
 */
export function constantTimeEqualHex(a: string, b: string): boolean {
  if (a.length !== b.length || !HEX.test(a) || !HEX.test(b)) return false;
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

/**
 * Constant-time comparison of two arbitrary strings (e.g. a presented key-pair
 * client id against the stored one). Both sides are hashed first, so the time
 * taken depends neither on where they differ nor on their lengths.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = hash('sha256', a, 'buffer');
  const y = hash('sha256', b, 'buffer');
  // Equal digests of different strings would need a SHA-256 collision.
  return timingSafeEqual(x, y);
}
