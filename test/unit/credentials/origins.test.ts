import { originAllowed, parseOrigins, type OriginPatterns } from '../../../src/credentials/allow-lists.js';

function patterns(list: string[]): OriginPatterns {
  const r = parseOrigins(list);
  if (!r.ok) throw new Error(JSON.stringify(r.violations));
  return r.patterns;
}

describe('parseOrigins', () => {
  it('accepts exact origins with optional ports and one leading wildcard label', () => {
    expect(
      patterns(['https://app.example.com', 'https://*.example.com', 'http://localhost:3000', 'HTTPS://App.Example.COM:443', 'http://127.0.0.1:8080', 'http://[::1]:3000']).map(
        (p) => p.text,
      ),
    ).toEqual(['https://app.example.com', 'https://*.example.com', 'http://localhost:3000', 'https://app.example.com', 'http://127.0.0.1:8080', 'http://[::1]:3000']);
  });

  it('reports every bad entry by index', () => {
    expect(
      parseOrigins([
        'https://app.example.com/',
        'https://app.example.com/path',
        'ftp://app.example.com',
        'app.example.com',
        'https://*.com',
        'https://a.*.example.com',
        'https://**.example.com',
        'https://app.example.com:0',
        'https://app.example.com:70000',
        'https://user@app.example.com',
        'https://*.10.0.0.1',
        'https://bücher.example',
        '*',
        'null',
      ]).ok,
    ).toBe(false);
    const r = parseOrigins(['https://ok.example.com', 'https://app.example.com/', 'ftp://x.example.com', 'https://*.com', 'https://x.example.com:99999', 'https://bücher.example']);
    expect(r).toEqual({
      ok: false,
      violations: [
        { index: 1, description: 'an origin has no path, query or trailing slash (scheme, host and port only)' },
        { index: 2, description: 'the scheme must be http or https' },
        { index: 3, description: 'a wildcard must leave at least two labels (https://*.example.com, not https://*.com)' },
        { index: 4, description: 'the port must be a number from 1 to 65535' },
        { index: 5, description: 'the host must be ASCII; write an internationalised domain in its xn-- (punycode) form, as browsers send it' },
      ],
    });
  });
});

describe('originAllowed', () => {
  it('an empty list allows any request, with or without Origin', () => {
    expect(originAllowed([], undefined)).toBe(true);
    expect(originAllowed([], 'https://evil.example')).toBe(true);
  });

  it('with a list set, a request without Origin (or Origin: null) is refused', () => {
    const p = patterns(['https://app.example.com']);
    expect(originAllowed(p, undefined)).toBe(false);
    expect(originAllowed(p, '')).toBe(false);
    expect(originAllowed(p, 'null')).toBe(false);
  });

  it('exact origins: case-insensitive host; scheme and port must match', () => {
    const p = patterns(['https://app.example.com', 'http://localhost:3000']);
    expect(originAllowed(p, 'https://app.example.com')).toBe(true);
    expect(originAllowed(p, 'https://APP.Example.com')).toBe(true);
    expect(originAllowed(p, 'https://app.example.com:443')).toBe(true);
    expect(originAllowed(p, 'http://app.example.com')).toBe(false);
    expect(originAllowed(p, 'https://app.example.com:8443')).toBe(false);
    expect(originAllowed(p, 'https://app.example.com.evil.example')).toBe(false);
    expect(originAllowed(p, 'http://localhost:3000')).toBe(true);
    expect(originAllowed(p, 'http://localhost:3001')).toBe(false);
    expect(originAllowed(p, 'http://localhost')).toBe(false);
  });

  it('*.example.com matches exactly one more label', () => {
    const p = patterns(['https://*.example.com']);
    expect(originAllowed(p, 'https://a.example.com')).toBe(true);
    expect(originAllowed(p, 'https://A.EXAMPLE.COM')).toBe(true);
    expect(originAllowed(p, 'https://a.b.example.com')).toBe(false);
    expect(originAllowed(p, 'https://example.com')).toBe(false);
    expect(originAllowed(p, 'https://aexample.com')).toBe(false);
    expect(originAllowed(p, 'http://a.example.com')).toBe(false);
    expect(originAllowed(p, 'https://a.example.com:8443')).toBe(false);
    expect(originAllowed(patterns(['https://*.example.com:8443']), 'https://a.example.com:8443')).toBe(true);
  });

  it('a request origin with a path or a wildcard is not an origin', () => {
    const p = patterns(['https://*.example.com']);
    expect(originAllowed(p, 'https://*.example.com')).toBe(false);
    expect(originAllowed(p, 'https://a.example.com/')).toBe(false);
  });
});
