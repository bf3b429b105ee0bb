import { cors as connectCors } from '@connectrpc/connect';
import { originAllowed, parseOrigins, type OriginPatterns } from '../credentials/origins.js';

/**
 * Headers a browser may send and read, beyond what Connect itself needs:
 * credentials travel in Authorization or the key-pair headers, and the
 * rate-limit headers must be readable by Connect-Web callers.
 */
export const CREDENTIAL_HEADERS = ['Authorization', 'X-Client-ID', 'X-Client-Secret', 'X-Request-Id'];
export const RATE_LIMIT_HEADERS = ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'Retry-After'];
/**
 * What the browser SDKs of the compatibility routes send: OFREP's web provider revalidates with
 * If-None-Match, Unleash's frontend SDK names itself in unleash-* headers, Reflag's browser SDK
 * sends its version.
 */
export const SDK_HEADERS = ['If-None-Match', 'unleash-appname', 'unleash-connection-id', 'unleash-sdk', 'unleash-client-spec', 'reflag-sdk-version'];

const ALLOWED_METHODS = [...new Set([...connectCors.allowedMethods, 'GET', 'POST', 'OPTIONS'])].join(', ');
const ALLOWED_HEADERS = [...connectCors.allowedHeaders, ...CREDENTIAL_HEADERS, ...SDK_HEADERS].join(', ');
const EXPOSED_HEADERS = [...connectCors.exposedHeaders, ...RATE_LIMIT_HEADERS, 'X-Request-Id', 'ETag'].join(', ');
const MAX_AGE_SECONDS = '7200';

/**
 * Server-wide CORS policy (LATCHKEY_CORS_ALLOWED_ORIGINS). It decides which
 * browser pages may call latchkey at all; a credential's own
 * `allowed_origins` narrows that further per credential. Both use the same
 * origin patterns (src/credentials/origins.ts), so `https://*.example.com`
 * means the same thing in either place.
 */
export class CorsPolicy {
  private readonly any: boolean;
  private readonly patterns: OriginPatterns;

  constructor(allowedOrigins: readonly string[]) {
    this.any = allowedOrigins.includes('*');
    const parsed = parseOrigins(allowedOrigins.filter((o) => o !== '*'));
    if (!parsed.ok) throw new Error(`invalid CORS origins (config.ts validates them first): ${parsed.violations.map((v) => v.description).join('; ')}`);
    this.patterns = parsed.patterns;
  }

  allows(origin: string): boolean {
    return this.any || originAllowed(this.patterns, origin);
  }

  /**
   * Response headers for a request carrying `origin`; `undefined` when the
   * origin is not allowed (the browser then blocks the call).
   */
  responseHeaders(origin: string): Record<string, string> | undefined {
    if (!this.allows(origin)) return undefined;
    return {
      'access-control-allow-origin': origin,
      'access-control-expose-headers': EXPOSED_HEADERS,
      vary: 'Origin',
    };
  }

  preflightHeaders(origin: string): Record<string, string> | undefined {
    if (!this.allows(origin)) return undefined;
    return {
      'access-control-allow-origin': origin,
      'access-control-allow-methods': ALLOWED_METHODS,
      'access-control-allow-headers': ALLOWED_HEADERS,
      'access-control-max-age': MAX_AGE_SECONDS,
      vary: 'Origin',
    };
  }
}
