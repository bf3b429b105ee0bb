import { createHmac, randomBytes } from 'node:crypto';
import { DomainError } from '../../../src/domain/errors.js';
import { ResolveTokens, type ResolveTokenContent } from '../../../src/resolver/resolve-token.js';

const key = Buffer.alloc(32, 7);
const tokens = new ResolveTokens(key);
const content: ResolveTokenContent = {
  resolveId: '6f1c1b1e-8a7e-4a57-9a51-0d3c1a8e2b10',
  credential: 'clients/app/credentials/browser',
  variants: { 'new-checkout': 'fast', theme: null },
};

/** What decode throws, as the fields a caller sees. */
function refusalOf(token: string) {
  try {
    tokens.decode(token);
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    return { kind: err.kind, reason: err.reason, message: err.message, fieldViolations: err.fieldViolations };
  }
  throw new Error('expected the token to be refused');
}
const INVALID = {
  kind: 'invalid_argument',
  reason: 'INVALID_RESOLVE_TOKEN',
  message: 'resolve_token is not a token that ResolveFlags returned',
  fieldViolations: [{ field: 'resolve_token', description: 'not a token that ResolveFlags returned' }],
};

const b64url = (s: string | Buffer) => Buffer.from(s).toString('base64url');
/** A token signed with `k` over an arbitrary encoded payload (to reach the checks after the MAC). */
const signed = (payload: string, k: Buffer = key) => `${payload}.${createHmac('sha256', k).update(payload).digest('base64url')}`;

describe('resolve tokens', () => {
  it('round-trips what it signed', () => {
    const token = tokens.encode(content);
    expect(tokens.decode(token)).toEqual(content);
    // Another instance over the same key bytes (another replica) verifies it too.
    expect(new ResolveTokens(Buffer.from(key)).decode(token)).toEqual(content);
  });

  it('is base64url(payload).base64url(HMAC-SHA256(key, base64url(payload)))', () => {
    const token = tokens.encode(content);
    const [payload, signature, ...rest] = token.split('.');
    expect(rest).toEqual([]);
    expect(JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'))).toEqual({ r: content.resolveId, c: content.credential, v: content.variants });
    expect(signature).toBe(createHmac('sha256', key).update(payload!).digest('base64url'));
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  });

  it('refuses the old unsigned shape (base64url JSON), whatever it names', () => {
    expect(refusalOf(b64url(JSON.stringify({ r: 'x', c: content.credential, v: { 'internal-kill-switch': 'on' } })))).toEqual(INVALID);
  });

  it('refuses a tampered payload', () => {
    const [, signature] = tokens.encode(content).split('.');
    const forged = b64url(JSON.stringify({ r: content.resolveId, c: content.credential, v: { ...content.variants, 'internal-kill-switch': 'on' } }));
    expect(refusalOf(`${forged}.${signature}`)).toEqual(INVALID);
    // One character of the payload changed.
    const token = tokens.encode(content);
    const flipped = (token[3] === 'A' ? 'B' : 'A');
    expect(refusalOf(token.slice(0, 3) + flipped + token.slice(4))).toEqual(INVALID);
  });

  it('refuses a tampered, truncated, extended or re-spelled signature', () => {
    const token = tokens.encode(content);
    const last = token.at(-1)!;
    expect(refusalOf(token.slice(0, -1) + (last === 'A' ? 'B' : 'A'))).toEqual(INVALID);
    expect(refusalOf(token.slice(0, -1))).toEqual(INVALID);
    expect(refusalOf(`${token}A`)).toEqual(INVALID);
    expect(refusalOf(`${token}=`)).toEqual(INVALID);
    // 43 base64url characters carry 258 bits; the last one's 2 low bits are unused. Another spelling of
    // the same 32 bytes is still not the token that was issued.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const respelled = token.slice(0, -1) + alphabet[alphabet.indexOf(last) ^ 1];
    expect(Buffer.from(respelled.split('.')[1]!, 'base64url')).toEqual(Buffer.from(token.split('.')[1]!, 'base64url'));
    expect(refusalOf(respelled)).toEqual(INVALID);
  });

  it('refuses a token signed with another key (another installation)', () => {
    const other = new ResolveTokens(randomBytes(32));
    expect(refusalOf(other.encode(content))).toEqual(INVALID);
    expect(refusalOf(signed(tokens.encode(content).split('.')[0]!, randomBytes(32)))).toEqual(INVALID);
  });

  it.each([
    ['empty', ''],
    ['a dot only', '.'],
    ['no payload', `.${'A'.repeat(43)}`],
    ['no signature', 'eyJ9.'],
    ['no dot', 'A'.repeat(80)],
    ['characters outside base64url', `ey J9.${'A'.repeat(43)}`],
    ['longer than 64 KiB', signed('A'.repeat(64 * 1024))],
  ])('refuses a malformed token: %s', (_what, token) => {
    expect(refusalOf(token)).toEqual(INVALID);
  });

  it.each([
    ['not JSON', b64url('not json')],
    ['null', b64url('null')],
    ['a variant that is not a string', b64url(JSON.stringify({ r: 'x', c: 'c', v: { a: 1 } }))],
    ['variants as a list', b64url(JSON.stringify({ r: 'x', c: 'c', v: [] }))],
    ['no credential', b64url(JSON.stringify({ r: 'x', v: {} }))],
  ])('refuses a correctly signed payload of the wrong shape: %s', (_what, payload) => {
    expect(refusalOf(signed(payload))).toEqual(INVALID);
  });

  it('reads variants as own properties only', () => {
    const decoded = tokens.decode(tokens.encode({ ...content, variants: { a: 'on' } }));
    expect(Object.hasOwn(decoded.variants, 'toString')).toBe(false);
    expect('toString' in decoded.variants).toBe(false);
  });

  it('needs a key of at least 32 bytes', () => {
    expect(() => new ResolveTokens(Buffer.alloc(16))).toThrow(RangeError);
  });
});
