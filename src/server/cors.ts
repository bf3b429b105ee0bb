import { cors as connectCors } from '@connectrpc/connect';

/**
 * Headers a browser may send and read, beyond what Connect itself needs:
 * credentials travel in Authorization or the key-pair headers, and the
 * rate-limit headers must be readable by Connect-Web callers.
 */
export const CREDENTIAL_HEADERS = ['Authorization', 'X-Client-ID', 'X-Client-Secret', 'X-Request-Id'];
export const RATE_LIMIT_HEADERS = ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'Retry-After'];

const ALLOWED_METHODS = [...new Set([...connectCors.allowedMethods, 'GET', 'POST', 'OPTIONS'])].join(', ');
const ALLOWED_HEADERS = [...connectCors.allowedHeaders, ...CREDENTIAL_HEADERS].join(', ');
const EXPOSED_HEADERS = [...connectCors.exposedHeaders, ...RATE_LIMIT_HEADERS, 'X-Request-Id', 'ETag'].join(', ');
const MAX_AGE_SECONDS = '7200';

/**
 * Server-wide CORS policy (LATCHKEY_CORS_ALLOWED_ORIGINS). It decides which
 * browser pages may call latchkey at all; a credential's own
 * `allowed_origins` narrows that further per credential.
 */
export class CorsPolicy {
  private readonly any: boolean;
  private readonly exact: Set<string>;
  private readonly suffixes: { scheme: string; suffix: string }[];

  constructor(allowedOrigins: readonly string[]) {
    this.any = allowedOrigins.includes('*');
    this.exact = new Set(allowedOrigins.filter((o) => !o.includes('*')).map((o) => o.toLowerCase()));
    this.suffixes = allowedOrigins
      .filter((o) => o.includes('://*.'))
      .map((o) => {
        const [scheme, rest] = o.toLowerCase().split('://*') as [string, string];
        return { scheme, suffix: rest }; // rest starts with "."
      });
  }

  allows(origin: string): boolean {
    if (this.any) return true;
    const o = origin.toLowerCase();
    if (this.exact.has(o)) return true;
    return this.suffixes.some(({ scheme, suffix }) => {
      if (!o.startsWith(`${scheme}://`)) return false;
      const host = o.slice(scheme.length + 3);
      // exactly one extra label in front of the suffix, e.g. app.example.com for *.example.com
      return host.endsWith(suffix) && host.length > suffix.length && !host.slice(0, -suffix.length).includes('.');
    });
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
