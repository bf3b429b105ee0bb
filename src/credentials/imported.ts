import { parseCredentialToken } from './parse.js';
import { reservedPrefixOf } from './shapes.js';
import type { ImportedShape, UnleashVisiblePart } from './types.js';

export type ImportedSecretCheck = { ok: true; shape: ImportedShape; unleash?: UnleashVisiblePart } | { ok: false; reason: string };

/**
 * Whether a secret the caller already has can be registered as an IMPORTED
 * credential (SPEC §3: "imported secrets keep working unchanged").
 *
 * The rule is the parser's: a secret is importable exactly when presenting it
 * would parse. So an import can never register a secret that would then be
 * refused as malformed on every request. Consequences worth knowing:
 * - a value with a prefix latchkey reserves (`pk_live_`, `sk_test_`, `pub_`,
 *   `sec_`, `lkat_`, …) or with the exact shape of an issued secret (32
 *   alphanumeric characters; `<id>:<id>.` + 40 characters) is importable only
 *   when its checksum holds, i.e. when a latchkey server issued it;
 * - key pairs are not importable: they are accepted only with their client
 *   id, which an import does not keep;
 * - anything else of 16 to 512 printable ASCII characters without whitespace
 *   is importable (Unleash v1 and v2 tokens, proxy client keys, other keys).
 */
export function classifyImportedSecret(secret: string): ImportedSecretCheck {
  const parsed = parseCredentialToken(secret);
  if (parsed.kind === 'partial') {
    return { ok: false, reason: 'key-pair halves cannot be imported: a key pair is accepted only with its client id, which an import does not keep' };
  }
  if (parsed.kind === 'malformed') {
    const prefix = reservedPrefixOf(secret);
    return {
      ok: false,
      reason: prefix
        ? `starts with ${prefix}, a prefix latchkey reserves for the secrets it issues, and is not one of them (${parsed.detail})`
        : `would be refused as malformed: ${parsed.detail}`,
    };
  }
  const { credential } = parsed;
  if (credential.format === 'KEY_PAIR') {
    return { ok: false, reason: 'key pairs cannot be imported: a key pair is accepted only with its client id, which an import does not keep' };
  }
  const shape = credential.format === 'IMPORTED' ? (credential.importedShape ?? 'opaque') : 'latchkey';
  return credential.unleash ? { ok: true, shape, unleash: credential.unleash } : { ok: true, shape };
}
