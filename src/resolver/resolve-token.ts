import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { DomainError } from '../domain/errors.js';

/** What a resolve token carries: which credential resolved which variants. */
export interface ResolveTokenContent {
  resolveId: string;
  credential: string;
  /** flag id → variant (null when no variant was served). */
  variants: Record<string, string | null>;
}

/** Bytes of the HMAC key (SHA-256's block is larger; 32 random bytes are plenty for HMAC-SHA256). */
export const RESOLVE_TOKEN_KEY_BYTES = 32;
const SIGNATURE_BYTES = 32;
/** base64url of 32 bytes, without padding. */
const SIGNATURE_CHARS = 43;
const MAX_TOKEN_CHARS = 64 * 1024;

/**
 * Resolve tokens (SPEC §6): `base64url(payload) '.' base64url(HMAC-SHA256(key, base64url(payload)))`,
 * the payload being JSON `{r: resolveId, c: credential, v: {flag id: variant}}`. The key lives in
 * the database (`server_keys`, id `resolve-token`), so every replica sharing it signs and verifies
 * with the same key, and a token made by hand or by another installation does not verify.
 *
 * The MAC covers the encoded payload exactly as sent (as JWS does), so a token has one accepted
 * spelling; it is checked with a constant-time comparison before the payload is parsed at all.
 * The token carries nothing secret: it only says which variants a credential was served, and
 * ApplyFlags accepts it only from that credential.
 */
export class ResolveTokens {
  private readonly key: KeyObject;

  constructor(key: Uint8Array) {
    if (key.length < RESOLVE_TOKEN_KEY_BYTES) throw new RangeError(`a resolve token key has at least ${RESOLVE_TOKEN_KEY_BYTES} bytes`);
    this.key = createSecretKey(key);
  }

  encode(content: ResolveTokenContent): string {
    return this.encodeVariantsJson(content.resolveId, content.credential, JSON.stringify(content.variants));
  }

  /**
   * `encode` for a caller that has the variants as JSON text already (`JSON.stringify(variants)`,
   * e.g. joined from per-flag members it keeps): the same token, without building the object and
   * serialising it again for every resolve of every flag.
   */
  encodeVariantsJson(resolveId: string, credential: string, variantsJson: string): string {
    const payload = Buffer.from(`{"r":${JSON.stringify(resolveId)},"c":${JSON.stringify(credential)},"v":${variantsJson}}`).toString('base64url');
    return `${payload}.${this.mac(payload).toString('base64url')}`;
  }

  /** The token's content, or INVALID_ARGUMENT / INVALID_RESOLVE_TOKEN for anything this key did not sign. */
  decode(token: string): ResolveTokenContent {
    if (token.length === 0 || token.length > MAX_TOKEN_CHARS) throw invalidToken();
    const dot = token.length - SIGNATURE_CHARS - 1;
    if (dot < 1 || token.charCodeAt(dot) !== 0x2e /* . */) throw invalidToken();
    const payload = token.slice(0, dot);
    const signatureText = token.slice(dot + 1);
    if (!BASE64URL.test(payload) || !BASE64URL.test(signatureText)) throw invalidToken();
    const signature = Buffer.from(signatureText, 'base64url');
    // Exactly one spelling per signature: 43 characters decode to 32 bytes, and re-encoding must give them back.
    if (signature.length !== SIGNATURE_BYTES || signature.toString('base64url') !== signatureText) throw invalidToken();
    if (!timingSafeEqual(signature, this.mac(payload))) throw invalidToken();
    return parsePayload(payload);
  }

  private mac(payload: string): Buffer {
    return createHmac('sha256', this.key).update(payload, 'ascii').digest();
  }
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function invalidToken(): DomainError {
  return new DomainError('invalid_argument', 'INVALID_RESOLVE_TOKEN', 'resolve_token is not a token that ResolveFlags returned', {
    fieldViolations: [{ field: 'resolve_token', description: 'not a token that ResolveFlags returned' }],
  });
}

/** A signed payload is one this server wrote; the checks below guard against a key shared with something else. */
function parsePayload(payload: string): ResolveTokenContent {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw invalidToken();
  }
  const t = raw as { r?: unknown; c?: unknown; v?: unknown } | null;
  if (!t || typeof t.r !== 'string' || typeof t.c !== 'string' || !t.v || typeof t.v !== 'object' || Array.isArray(t.v)) throw invalidToken();
  const variants: Record<string, string | null> = Object.create(null) as Record<string, string | null>;
  for (const [k, v] of Object.entries(t.v as Record<string, unknown>)) {
    if (v !== null && typeof v !== 'string') throw invalidToken();
    variants[k] = v;
  }
  return { resolveId: t.r, credential: t.c, variants };
}
