import type { RateState } from './rate-limits.js';

/** The rate-limit response headers of SPEC §3 (HTTP headers on Connect and plain routes, metadata on gRPC). */
export function rateLimitHeaders(state: RateState): [string, string][] {
  const headers: [string, string][] = [
    ['x-ratelimit-limit', String(state.limit)],
    ['x-ratelimit-remaining', String(state.remaining)],
    ['x-ratelimit-reset', String(state.resetUnixSeconds)],
  ];
  if (state.retryAfterSeconds !== undefined) headers.push(['retry-after', String(state.retryAfterSeconds)]);
  return headers;
}
