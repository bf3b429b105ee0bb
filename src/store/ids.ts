import { randomBytes } from 'node:crypto';

/** Lower-case Crockford base32 (no i, l, o, u): 32 symbols in ascending ASCII order. */
const BASE32 = '0123456789abcdefghjkmnpqrstvwxyz';
const TIME_DIGITS = 13;
const RANDOM_CHARS = 10;
const PREFIX = /^[a-z][a-z0-9]*$/;

/**
 * A sortable id for append-only rows (audit events, SDK events, flag applies):
 * `<prefix><13-digit zero-padded unix ms><10 random base32 chars>`, e.g. `e1795424400000k3v9q0z2xa`.
 *
 * Ids made with the same prefix sort by time (ties within one millisecond in random order), so
 * id order can serve as a stable keyset-pagination order. The leading letter keeps the id valid as
 * an AIP resource id (`[a-z][a-z0-9-]{0,62}`, SPEC §1). 50 random bits make collisions within one
 * millisecond negligible.
 */
export function newSortableId(now: Date, prefix = 'e'): string {
  if (!PREFIX.test(prefix)) throw new RangeError(`invalid sortable id prefix: ${JSON.stringify(prefix)}`);
  const ms = now.getTime();
  if (!Number.isInteger(ms) || ms < 0 || ms >= 10 ** TIME_DIGITS) {
    throw new RangeError(`time out of range for a sortable id: ${String(now)}`);
  }
  const bytes = randomBytes(RANDOM_CHARS);
  let random = '';
  for (let i = 0; i < RANDOM_CHARS; i++) random += BASE32[bytes[i]! & 31];
  return prefix + String(ms).padStart(TIME_DIGITS, '0') + random;
}

/** The time encoded in a sortable id made with `prefix`, or null when `id` is not one. */
export function sortableIdTime(id: string, prefix = 'e'): Date | null {
  if (!id.startsWith(prefix) || id.length !== prefix.length + TIME_DIGITS + RANDOM_CHARS) return null;
  const digits = id.slice(prefix.length, prefix.length + TIME_DIGITS);
  if (!/^\d+$/.test(digits)) return null;
  const rest = id.slice(prefix.length + TIME_DIGITS);
  for (const ch of rest) if (!BASE32.includes(ch)) return null;
  return new Date(Number(digits));
}
