import type { ListViolation } from './ip-ranges.js';

/**
 * `allowed_origins` (SPEC §3): exact origins (`https://app.example.com`,
 * with an optional port) or one leading wildcard label
 * (`https://*.example.com`). An Origin is scheme, host and port only, so
 * paths, queries, user info and trailing slashes are refused at write time
 * rather than silently never matching.
 *
 * Matching rules:
 * - scheme and effective port must be equal (`:443` on https is the same as
 *   no port, as browsers leave the default port out of Origin);
 * - hosts compare case-insensitively;
 * - `*.example.com` matches exactly one more label: `a.example.com`, not
 *   `a.b.example.com` and not `example.com` (list that one separately).
 *   One label keeps the pattern's reach obvious; a deeper wildcard would also
 *   allow whatever subdomain delegation someone else controls.
 */

export interface OriginPattern {
  readonly scheme: 'http' | 'https';
  /** Lowercase host; for a wildcard, the suffix after `*.`. IPv6 hosts keep their brackets. */
  readonly host: string;
  /** Effective port (the scheme's default when none is written). */
  readonly port: number;
  readonly wildcard: boolean;
  /** Canonical text, e.g. `https://*.example.com`. */
  readonly text: string;
}

export type OriginPatterns = readonly OriginPattern[];

const DEFAULT_PORT = { http: 80, https: 443 } as const;

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DOMAIN = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
const IPV6 = /^\[[0-9a-f:.]+\]$/;
const ORIGIN = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(\*\.)?(\[[^\]/]*\]|[^:/?#@]*)(?::([0-9]*))?(.*)$/s;

type OriginParse = { ok: true; pattern: OriginPattern } | { ok: false; description: string };

/** One origin or pattern; `allowWildcard` is false for the Origin a request carries. */
export function parseOrigin(text: string, allowWildcard: boolean): OriginParse {
  const fail = (description: string): OriginParse => ({ ok: false, description });
  if (text.length === 0 || text.length > 300) return fail('not an origin; write e.g. https://app.example.com or https://*.example.com');
  const m = ORIGIN.exec(text);
  if (!m) return fail('not an origin; write e.g. https://app.example.com or https://*.example.com');
  const [, schemeText, star, hostText, portText, rest] = m;
  const scheme = schemeText!.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') return fail('the scheme must be http or https');
  if (rest !== '') return fail('an origin has no path, query or trailing slash (scheme, host and port only)');
  const wildcard = star !== undefined;
  if (wildcard && !allowWildcard) return fail('a wildcard is not an origin');
  const host = hostText!.toLowerCase();
  if (host === '') return fail('the host is missing');
  if (/[^\u0021-\u007e]/.test(host)) return fail('the host must be ASCII; write an internationalised domain in its xn-- (punycode) form, as browsers send it');
  const isIp = IPV4.test(host) || IPV6.test(host);
  if (!isIp && !DOMAIN.test(host)) return fail('the host is not a valid domain name');
  if (wildcard) {
    if (isIp) return fail('a wildcard needs a domain name, not an IP address');
    if (!host.includes('.')) return fail('a wildcard must leave at least two labels (https://*.example.com, not https://*.com)');
  }
  let port: number = DEFAULT_PORT[scheme];
  if (portText !== undefined) {
    if (!/^[1-9][0-9]{0,4}$/.test(portText) || Number(portText) > 65535) return fail('the port must be a number from 1 to 65535');
    port = Number(portText);
  }
  const shownPort = port === DEFAULT_PORT[scheme] ? '' : `:${port}`;
  return { ok: true, pattern: { scheme, host, port, wildcard, text: `${scheme}://${wildcard ? '*.' : ''}${host}${shownPort}` } };
}

export function parseOrigins(list: readonly string[]): { ok: true; patterns: OriginPatterns } | { ok: false; violations: ListViolation[] } {
  const patterns: OriginPattern[] = [];
  const violations: ListViolation[] = [];
  list.forEach((entry, index) => {
    const r = parseOrigin(entry, true);
    if (r.ok) patterns.push(r.pattern);
    else violations.push({ index, description: r.description });
  });
  return violations.length > 0 ? { ok: false, violations } : { ok: true, patterns };
}

/**
 * SPEC §3 step 6. An empty list allows any request; with a list set, a
 * request without an Origin (or with `null`, or an unparsable one) is refused.
 */
export function originAllowed(patterns: OriginPatterns, origin: string | undefined): boolean {
  if (patterns.length === 0) return true;
  if (origin === undefined || origin === '') return false;
  const parsed = parseOrigin(origin, false);
  if (!parsed.ok) return false;
  const o = parsed.pattern;
  return patterns.some((p) => {
    if (p.scheme !== o.scheme || p.port !== o.port) return false;
    if (!p.wildcard) return p.host === o.host;
    if (!o.host.endsWith(`.${p.host}`)) return false;
    const label = o.host.slice(0, o.host.length - p.host.length - 1);
    return label.length > 0 && !label.includes('.') && !o.host.startsWith('[');
  });
}
