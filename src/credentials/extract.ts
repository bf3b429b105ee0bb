import {
  isValidKeyPairSecret,
  isValidPublicKey,
  MAX_PRESENTED_LENGTH,
  parseCredentialToken,
  parseKeyPairHalves,
  valueProblem,
  type TokenParse,
} from './parse.js';
import type { CredentialSource, PresentedCredential, PresentedInput } from './types.js';

/**
 * Steps 1 and 2 of SPEC §3's validation order: find the credential in the
 * request, then parse its format and checksum. Pure and total: whatever the
 * transport passes (huge, empty, control characters, unicode), the answer is
 * one of four plain values and never an exception.
 *
 * Where a credential may be:
 * - `Authorization`: `Bearer <credential>` (any format; a key pair as
 *   `<clientId>:<secret>`), or the bare token without a scheme, as Unleash
 *   SDKs and proxies send it. Any other scheme (`Basic` is the management
 *   API's) is malformed here;
 * - `X-Client-ID` + `X-Client-Secret`: a key pair, both halves required;
 * - `client_secret` in the request body: any format;
 * - `?publishableKey=`: publishable keys only, since a URL ends up in logs
 *   and browser history.
 *
 * Two different credentials in one request are a conflict (SPEC: "two
 * different credentials in one request is an error"); the same one repeated
 * (say, `Bearer pk:sk` and the two headers) is fine. A lone key-pair half is
 * acceptable only as a repetition of a full pair found elsewhere.
 */

/** The parts of a credential a slot shows, for telling "the same credential twice" from "two credentials". */
interface Identity {
  clientId?: string;
  secret?: string;
}

interface Slot {
  source: CredentialSource;
  /** Absent when the slot holds something that is not a runtime credential at all (e.g. `Basic …`). */
  identity?: Identity;
  parse: TokenParse;
}

const malformed = (detail: string): TokenParse => ({ kind: 'malformed', detail });

export function extractPresentedCredential(input: PresentedInput): PresentedCredential {
  // Gathered in order of preference, for when the same credential appears in several places.
  const slots: Slot[] = [];
  const authorization = present(input.authorization);
  if (authorization !== undefined) slots.push(authorizationSlot(authorization));
  const clientId = present(input.clientIdHeader);
  const clientSecret = present(input.clientSecretHeader);
  if (clientId !== undefined || clientSecret !== undefined) slots.push(headerSlot(clientId, clientSecret));
  const body = present(input.bodyClientSecret);
  if (body !== undefined) slots.push(tokenSlot('body', body));
  const query = present(input.publishableKeyQuery);
  if (query !== undefined) slots.push(querySlot(query));

  if (slots.length === 0) return { kind: 'missing' };

  // Step 1: two different credentials answer before any of them is parsed.
  for (let i = 0; i < slots.length; i++) {
    const a = slots[i]!.identity;
    if (a === undefined) continue;
    for (let j = i + 1; j < slots.length; j++) {
      const b = slots[j]!.identity;
      if (b !== undefined && differ(a, b)) return { kind: 'conflict' };
    }
  }

  // Step 2, in order of preference: the first malformed slot answers.
  for (const s of slots) if (s.parse.kind === 'malformed') return { kind: 'malformed', detail: s.parse.detail };

  // A lone key-pair half must repeat a half of a full pair found elsewhere.
  for (const s of slots) {
    if (s.parse.kind !== 'partial') continue;
    const half = s.parse;
    const completed = slots.some(
      (o) => o.parse.kind === 'ok' && o.parse.credential.format === 'KEY_PAIR' && (half.half === 'clientId' ? o.parse.credential.clientId : o.parse.credential.secret) === half.value,
    );
    if (!completed) return { kind: 'malformed', detail: half.detail };
  }
  for (const s of slots) {
    // Object.assign rather than a spread: V8 copies `{ ...x, y }` property by property (~1 µs here).
    if (s.parse.kind === 'ok') return { kind: 'presented', credential: Object.assign({ source: s.source }, s.parse.credential) };
  }
  return { kind: 'missing' }; // unreachable: every slot is ok, partial or malformed, and a partial needs an ok
}

/** Undefined and the empty string (a proto3 default, an empty header) both mean "not sent". */
function present(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function differ(a: Identity, b: Identity): boolean {
  return (a.secret !== undefined && b.secret !== undefined && a.secret !== b.secret) ||
    (a.clientId !== undefined && b.clientId !== undefined && a.clientId !== b.clientId);
}

/** What a single token shows: a `pk_…:…` token is a key pair, anything else one secret. */
function identityOf(token: string): Identity {
  if (token.startsWith('pk_live_') || token.startsWith('pk_test_')) {
    const colon = token.indexOf(':');
    return colon < 0 ? { clientId: token } : { clientId: token.slice(0, colon), secret: token.slice(colon + 1) };
  }
  return { secret: token };
}

function tokenSlot(source: CredentialSource, token: string): Slot {
  const parse = parseCredentialToken(token);
  // A value with bad length or characters shows no identity; nor does a management token, which is
  // not a runtime credential: neither takes part in conflict detection.
  if (parse.kind === 'malformed' && valueProblem(token) !== undefined) return { source, parse };
  return { source, parse, identity: parse.kind === 'malformed' && token.startsWith('lkat_') ? undefined : identityOf(token) };
}

/** `<scheme> <token>` (RFC 9110 token characters for the scheme). */
const SCHEME = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) +(.*)$/;

function authorizationSlot(raw: string): Slot {
  const source = 'authorization';
  if (raw.length > MAX_PRESENTED_LENGTH) return { source, parse: malformed(`the Authorization header is longer than ${MAX_PRESENTED_LENGTH} characters`) };
  if (/[\u0000-\u001f\u007f-\u009f]/.test(raw)) return { source, parse: malformed('the Authorization header contains control characters') };
  const value = raw.replace(/^ +| +$/g, '');
  if (value === '') return { source, parse: malformed('the Authorization header is empty') };
  const m = SCHEME.exec(value);
  if (!m) {
    // No scheme: the bare token, as Unleash SDKs send it.
    if (value.toLowerCase() === 'bearer') return { source, parse: malformed('Authorization: Bearer carries no credential') };
    return tokenSlot(source, value);
  }
  const scheme = m[1]!;
  if (scheme.toLowerCase() !== 'bearer') {
    const named = /^[A-Za-z][A-Za-z0-9-]{0,19}$/.test(scheme) ? `the Authorization scheme ${scheme}` : 'this Authorization scheme';
    const management = scheme.toLowerCase() === 'basic' ? ' (API-client credentials are for the management API)' : '';
    return { source, parse: malformed(`${named} is not accepted on the runtime API${management}; send Authorization: Bearer <credential>`) };
  }
  const token = m[2]!.replace(/ +$/, '');
  if (token === '') return { source, parse: malformed('Authorization: Bearer carries no credential') };
  return tokenSlot(source, token);
}

function headerSlot(clientId: string | undefined, secret: string | undefined): Slot {
  const source = 'headers';
  if (clientId !== undefined && secret !== undefined) {
    return { source, identity: { clientId, secret }, parse: parseKeyPairHalves(clientId, secret) };
  }
  // One header alone: fine only as a repetition of the full pair sent in Authorization or the body.
  const alone = clientId !== undefined;
  const value = alone ? clientId : secret!;
  const detail = alone
    ? 'X-Client-ID was sent without X-Client-Secret; a key pair needs both headers'
    : 'X-Client-Secret was sent without X-Client-ID; a key pair needs both headers';
  const identity: Identity = alone ? { clientId: value } : { secret: value };
  const completable = valueProblem(value) === undefined && (alone ? isValidPublicKey(value) : isValidKeyPairSecret(value));
  return {
    source,
    identity,
    parse: completable ? { kind: 'partial', half: alone ? 'clientId' : 'secret', value, detail } : malformed(detail),
  };
}

function querySlot(value: string): Slot {
  const source = 'query';
  const slot = tokenSlot(source, value);
  if (slot.parse.kind === 'malformed') return slot;
  if (slot.parse.kind === 'ok' && slot.parse.credential.format === 'PUBLISHABLE_KEY') return slot;
  if (slot.parse.kind === 'ok' && slot.parse.credential.format === 'SECRET_KEY') {
    return {
      ...slot,
      parse: malformed('a secret key (sec_…) must never be sent in a URL, where logs and browser history keep it; send it in Authorization, and rotate it'),
    };
  }
  return { ...slot, parse: malformed('the publishableKey query parameter carries publishable keys (pub_…) only; send other credentials in Authorization') };
}
