/**
 * `secret_hint` (SPEC §3): "a prefix and the last 4 characters, for
 * listings", so a person can tell which key is which without the key.
 *
 * The prefix is only the non-secret part of a format (`sk_live_`,
 * `pub_production_`, an Unleash token's `<project>:<environment>.`). A secret
 * without such a part (CLIENT_SECRET, imported keys) shows its first 4
 * characters only when at least 16 characters stay hidden, so the hint never
 * gives away a useful share of a short imported key. For issued secrets the
 * last 4 characters are checksum characters, which say nothing usable about
 * the random part.
 */

const ELLIPSIS = '…';
const SHOWN = 4;
/** Secrets at least this long may show their first 4 characters as well as their last 4. */
const LONG_ENOUGH_FOR_PREFIX = 2 * SHOWN + 16;

const KEY_PAIR_PREFIX = /^(?:pk|sk)_(?:live|test)_/;
const ENVIRONMENT_KEY_PREFIX = /^(?:pub|sec)_[a-z][a-z0-9-]{0,62}_/;
/** `<project>:<environment>.` of an Unleash token (latchkey's or Unleash's own), hex after it. */
const UNLEASH_PREFIX = /^([^\s:]+:[^\s:]+\.)[0-9a-f]+$/;

export function secretHint(secret: string): string {
  // Too short to show even the last 4 (never the case for an issued or importable secret).
  const last = secret.length >= 3 * SHOWN ? secret.slice(-SHOWN) : '';
  const known = KEY_PAIR_PREFIX.exec(secret) ?? ENVIRONMENT_KEY_PREFIX.exec(secret);
  if (known && secret.length - known[0].length > 2 * SHOWN) return `${known[0]}${ELLIPSIS}${last}`;
  const unleash = UNLEASH_PREFIX.exec(secret);
  if (unleash && secret.length - unleash[1]!.length > 2 * SHOWN) return `${unleash[1]}${ELLIPSIS}${last}`;
  if (secret.length >= LONG_ENOUGH_FOR_PREFIX) return `${secret.slice(0, SHOWN)}${ELLIPSIS}${last}`;
  return `${ELLIPSIS}${last}`;
}
