import { DomainError } from '../domain/errors.js';

/** What a resolve token carries: which credential resolved which variants. */
export interface ResolveTokenContent {
  resolveId: string;
  credential: string;
  /** flag id → variant (null when no variant was served). */
  variants: Record<string, string | null>;
}

/**
 * The resolve token is opaque to clients: base64url JSON. It is bound to the
 * credential that resolved, and ApplyFlags accepts it only from that
 * credential, so a caller can only ever record exposures for itself; it
 * carries nothing secret.
 */
export function encodeResolveToken(content: ResolveTokenContent): string {
  return Buffer.from(JSON.stringify({ r: content.resolveId, c: content.credential, v: content.variants })).toString('base64url');
}

export function decodeResolveToken(token: string): ResolveTokenContent {
  const invalid = () =>
    new DomainError('invalid_argument', 'INVALID_RESOLVE_TOKEN', 'resolve_token is not a token that ResolveFlags returned', {
      fieldViolations: [{ field: 'resolve_token', description: 'not a token that ResolveFlags returned' }],
    });
  if (token.length === 0 || token.length > 64 * 1024) throw invalid();
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const t = raw as { r?: unknown; c?: unknown; v?: unknown } | null;
  if (!t || typeof t.r !== 'string' || typeof t.c !== 'string' || !t.v || typeof t.v !== 'object' || Array.isArray(t.v)) throw invalid();
  const variants: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(t.v as Record<string, unknown>)) {
    if (v !== null && typeof v !== 'string') throw invalid();
    variants[k] = v;
  }
  return { resolveId: t.r, credential: t.c, variants };
}
