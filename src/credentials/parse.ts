import { hasValidBase62Checksum, hasValidHexChecksum } from './checksum.js';
import {
  CLIENT_SECRET,
  ENVIRONMENT_KEY,
  LATCHKEY_UNLEASH,
  MANAGEMENT_TOKEN_PREFIX,
  PUBLIC_KEY,
  SECRET_KEY_PAIR_HALF,
  UNLEASH_HEX_TAIL,
} from './shapes.js';
import { toUnleashProjects } from './unleash.js';
import type { ImportedShape, ParsedCredential } from './types.js';

/**
 * Step 2 of SPEC §3's validation order for one credential string: which
 * format it is, and whether its checksum holds. Pure and total: any string
 * gives a value, never an exception, and no detail ever repeats the secret.
 *
 * Order matters. latchkey's own shapes are tried first, and a value that
 * starts with a reserved prefix (see shapes.ts) or has the exact shape of an
 * issued secret must be a correct one; only what matches none of them is an
 * imported secret, which has no checksum and goes to the digest lookup as is.
 */

/** Longest value accepted in any slot of a request (SPEC §10: oversized input gets a clear error). */
export const MAX_PRESENTED_LENGTH = 1024;
/** Imported secrets: SPEC §3 accepts proxy client keys "of at least 16 characters". */
export const IMPORTED_MIN_LENGTH = 16;
/** Imported secrets: generous for keys of other systems, far below any header limit. */
export const IMPORTED_MAX_LENGTH = 512;

export type ParsedToken = Omit<ParsedCredential, 'source'>;

export type TokenParse =
  | { kind: 'ok'; credential: ParsedToken }
  /**
   * One half of a key pair on its own (`pk_…` or `sk_…`). Not a credential by
   * itself, but not a conflict either when the full pair is also in the request.
   */
  | { kind: 'partial'; half: 'clientId' | 'secret'; value: string; detail: string }
  | { kind: 'malformed'; detail: string };

const malformed = (detail: string): TokenParse => ({ kind: 'malformed', detail });

const PAIR_HOWTO = 'send both as "Authorization: Bearer <clientId>:<secret>" or as the headers X-Client-ID and X-Client-Secret';

const PRINTABLE_ASCII = /^[\u0021-\u007e]+$/;

/**
 * Why a presented value can never be a credential, or undefined when its
 * length and characters are acceptable. Control characters (CR/LF smuggled
 * into headers, NUL), whitespace and anything outside printable ASCII are
 * refused: no latchkey or imported secret contains them.
 */
export function valueProblem(value: string): string | undefined {
  if (value.length === 0) return 'the credential is empty';
  if (value.length > MAX_PRESENTED_LENGTH) return `the credential is longer than ${MAX_PRESENTED_LENGTH} characters`;
  // Every credential a client should send passes this one test; the others only name the problem.
  if (PRINTABLE_ASCII.test(value)) return undefined;
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) return 'the credential contains control characters';
  if (/\s/.test(value)) return 'the credential contains whitespace';
  if (/[^\u0021-\u007e]/.test(value)) return 'the credential contains characters outside printable ASCII';
  return undefined;
}

export function parseCredentialToken(token: string): TokenParse {
  const problem = valueProblem(token);
  if (problem !== undefined) return malformed(problem);

  // API-client tokens are recognised only so that the refusal names the mistake (SPEC §5).
  if (token.startsWith(MANAGEMENT_TOKEN_PREFIX)) return malformed('management access tokens are not accepted on the runtime API');

  if (token.startsWith('pk_live_') || token.startsWith('pk_test_')) return parseKeyPair(token);

  if (token.startsWith('sk_live_') || token.startsWith('sk_test_')) {
    if (!isValidKeyPairSecret(token)) return malformed('the key-pair secret (sk_…) is not one latchkey issued: wrong length, characters or checksum (mistyped or truncated?)');
    return { kind: 'partial', half: 'secret', value: token, detail: `a key-pair secret (sk_…) needs its client id (pk_…); ${PAIR_HOWTO}` };
  }

  if (token.startsWith('pub_') || token.startsWith('sec_')) {
    const kind = token.startsWith('pub_') ? 'publishable' : 'secret';
    const m = ENVIRONMENT_KEY.exec(token);
    if (!m || !hasValidBase62Checksum(token)) {
      return malformed(`the ${kind} key (${m ? m[1] : token.slice(0, 3)}_…) is not one latchkey issued: wrong environment, length, characters or checksum (mistyped or edited?)`);
    }
    return { kind: 'ok', credential: { format: m[1] === 'pub' ? 'PUBLISHABLE_KEY' : 'SECRET_KEY', secret: token, environment: m[2]! } };
  }

  const unleash = LATCHKEY_UNLEASH.exec(token);
  if (unleash) {
    if (!UNLEASH_HEX_TAIL.test(unleash[3]!) || !hasValidHexChecksum(token)) {
      return malformed('the Unleash token is not one latchkey issued: its <project>:<environment> part or its hex part was changed (checksum mismatch)');
    }
    return {
      kind: 'ok',
      credential: { format: 'UNLEASH', secret: token, unleash: { projects: toUnleashProjects(unleash[1]!), environment: unleash[2]! } },
    };
  }

  if (CLIENT_SECRET.test(token)) {
    if (!hasValidBase62Checksum(token)) return malformed('the 32-character client secret has a wrong checksum (mistyped?)');
    return { kind: 'ok', credential: { format: 'CLIENT_SECRET', secret: token } };
  }

  if (token.length < IMPORTED_MIN_LENGTH) return malformed(`the credential is too short (latchkey secrets and imported keys have at least ${IMPORTED_MIN_LENGTH} characters)`);
  if (token.length > IMPORTED_MAX_LENGTH) return malformed(`the credential is too long (at most ${IMPORTED_MAX_LENGTH} characters)`);
  const importedShape = importedShapeOf(token);
  if (importedShape === 'unleash-v2') {
    // Unleash's own token shows its scope as latchkey's does: the pipeline holds it to the same rule.
    const colon = token.indexOf(':');
    const dot = token.indexOf('.', colon);
    const unleash = { projects: toUnleashProjects(token.slice(0, colon)), environment: token.slice(colon + 1, dot) };
    return { kind: 'ok', credential: { format: 'IMPORTED', secret: token, importedShape, unleash } };
  }
  return { kind: 'ok', credential: { format: 'IMPORTED', secret: token, importedShape } };
}

function parseKeyPair(token: string): TokenParse {
  const colon = token.indexOf(':');
  if (colon < 0) {
    if (!isValidPublicKey(token)) return malformed('the key-pair client id (pk_…) is not one latchkey issued: wrong length, characters or checksum (mistyped or truncated?)');
    return { kind: 'partial', half: 'clientId', value: token, detail: `a key-pair client id (pk_…) needs its secret (sk_…); ${PAIR_HOWTO}` };
  }
  return parseKeyPairHalves(token.slice(0, colon), token.slice(colon + 1));
}

/** A key pair from its two halves (`Bearer pk:sk`, or X-Client-ID and X-Client-Secret). */
export function parseKeyPairHalves(clientId: string, secret: string): TokenParse {
  const problem = valueProblem(clientId) ?? valueProblem(secret);
  if (problem !== undefined) return malformed(problem);
  if (!clientId.startsWith('pk_live_') && !clientId.startsWith('pk_test_')) {
    return malformed('the key-pair client id must be a pk_live_… or pk_test_… id');
  }
  if (!isValidPublicKey(clientId)) return malformed('the key-pair client id (pk_…) is not one latchkey issued: wrong length, characters or checksum (mistyped or truncated?)');
  if (!secret.startsWith('sk_live_') && !secret.startsWith('sk_test_')) {
    return malformed('the key-pair secret must be an sk_live_… or sk_test_… secret');
  }
  if (!isValidKeyPairSecret(secret)) return malformed('the key-pair secret (sk_…) is not one latchkey issued: wrong length, characters or checksum (mistyped or truncated?)');
  return { kind: 'ok', credential: { format: 'KEY_PAIR', secret, clientId } };
}

export function isValidPublicKey(value: string): boolean {
  return PUBLIC_KEY.test(value) && hasValidBase62Checksum(value);
}

export function isValidKeyPairSecret(value: string): boolean {
  return SECRET_KEY_PAIR_HALF.test(value) && hasValidBase62Checksum(value);
}

const UNLEASH_V1 = /^[0-9a-f]{32,}$/;
/** Unleash's own `<project>:<environment>.<hex>`: `*` or `[]` projects, `*` environment for admin tokens. */
const UNLEASH_V2 = /^(?:\*|\[\]|[^\s:]+):[^\s:]+\.[0-9a-f]+$/;

function importedShapeOf(token: string): ImportedShape {
  if (UNLEASH_V1.test(token)) return 'unleash-v1';
  if (UNLEASH_V2.test(token)) return 'unleash-v2';
  return 'opaque';
}
