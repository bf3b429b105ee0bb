import * as zlib from 'node:zlib';
import { DomainError } from '../../../src/domain/errors.js';
import { BASE62_ALPHABET } from '../../../src/credentials/checksum.js';
import { extractPresentedCredential, issueSecret } from '../../../src/credentials/index.js';
import { counting, GOLDEN } from './fixtures.js';

const ctx = (environments: string[], projects: string[], live = false) => ({ environments, projects, live });

describe('issueSecret: exact shapes (deterministic randomness)', () => {
  it('KEY_PAIR: pk_live_/sk_live_ when an environment is production, 22 random + 6 checksum base62 characters', () => {
    expect(issueSecret('KEY_PAIR', ctx(['production'], ['*'], true), counting())).toEqual({
      clientId: GOLDEN.keyPairLive.clientId,
      secret: GOLDEN.keyPairLive.secret,
      hint: 'sk_live_…xnrj',
    });
  });

  it('KEY_PAIR: pk_test_/sk_test_ otherwise', () => {
    expect(issueSecret('KEY_PAIR', ctx(['development'], ['*']), counting())).toEqual({
      clientId: GOLDEN.keyPairTest.clientId,
      secret: GOLDEN.keyPairTest.secret,
      hint: 'sk_test_…HEpJ',
    });
  });

  it('CLIENT_SECRET: 32 alphanumeric characters, no prefix, hint = first 4 … last 4', () => {
    expect(issueSecret('CLIENT_SECRET', ctx([], ['*']), counting())).toEqual({ secret: GOLDEN.clientSecret, hint: '0123…COD7' });
  });

  it('UNLEASH: <project>:<environment>.<32 random hex + 8 checksum hex>, with * and []', () => {
    expect(issueSecret('UNLEASH', ctx(['production'], ['default'], true), counting())).toEqual({
      secret: GOLDEN.unleashOne,
      hint: 'default:production.…ea41',
    });
    expect(issueSecret('UNLEASH', ctx(['development'], ['*']), counting()).secret).toBe(GOLDEN.unleashAll);
    expect(issueSecret('UNLEASH', ctx(['development'], ['default', 'mobile']), counting()).secret).toBe(GOLDEN.unleashList);
  });

  it('PUBLISHABLE_KEY / SECRET_KEY: pub_<env>_ / sec_<env>_ then 28 base62 characters', () => {
    expect(issueSecret('PUBLISHABLE_KEY', ctx(['production'], ['default'], true), counting())).toEqual({
      secret: GOLDEN.publishable,
      hint: 'pub_production_…e6Ul',
    });
    expect(issueSecret('SECRET_KEY', ctx(['staging'], ['*']), counting())).toEqual({ secret: GOLDEN.secretKey, hint: 'sec_staging_…eQTF' });
  });

  const nodeCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;
  (nodeCrc32 ? it : it.skip)('golden checksums are the CRC32 (per zlib) of everything before them', () => {
    const b62 = (v: number) => {
      let s = '';
      for (let n = v; n > 0; n = Math.floor(n / 62)) s = BASE62_ALPHABET[n % 62] + s;
      return s.padStart(6, '0');
    };
    for (const s of [GOLDEN.keyPairLive.clientId, GOLDEN.keyPairLive.secret, GOLDEN.clientSecret, GOLDEN.publishable, GOLDEN.secretKey]) {
      expect(s.slice(-6)).toBe(b62(nodeCrc32!(Buffer.from(s.slice(0, -6)))));
    }
    for (const s of [GOLDEN.unleashOne, GOLDEN.unleashAll, GOLDEN.unleashList]) {
      expect(s.slice(-8)).toBe(nodeCrc32!(Buffer.from(s.slice(0, -8))).toString(16).padStart(8, '0'));
    }
  });
});

describe('issueSecret: real randomness', () => {
  it('issues distinct secrets of the documented shapes, each parsing back to its format', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const pair = issueSecret('KEY_PAIR', ctx(['production'], ['*'], true));
      expect(pair.clientId).toMatch(/^pk_live_[0-9A-Za-z]{28}$/);
      expect(pair.secret).toMatch(/^sk_live_[0-9A-Za-z]{28}$/);
      const cs = issueSecret('CLIENT_SECRET', ctx([], ['*'])).secret;
      expect(cs).toMatch(/^[0-9A-Za-z]{32}$/);
      const un = issueSecret('UNLEASH', ctx(['development'], ['default'])).secret;
      expect(un).toMatch(/^default:development\.[0-9a-f]{40}$/);
      for (const s of [pair.secret, pair.clientId!, cs, un]) {
        expect(seen.has(s)).toBe(false);
        seen.add(s);
      }
      expect(extractPresentedCredential({ authorization: `Bearer ${pair.clientId}:${pair.secret}` })).toMatchObject({ kind: 'presented', credential: { format: 'KEY_PAIR' } });
      expect(extractPresentedCredential({ bodyClientSecret: cs })).toMatchObject({ kind: 'presented', credential: { format: 'CLIENT_SECRET' } });
      expect(extractPresentedCredential({ authorization: un })).toMatchObject({ kind: 'presented', credential: { format: 'UNLEASH' } });
    }
  });

  it('carries at least 128 bits of randomness in every format', () => {
    const bitsPerBase62 = Math.log2(62);
    expect(22 * bitsPerBase62).toBeGreaterThanOrEqual(128); // pk_, sk_, pub_, sec_
    expect(26 * bitsPerBase62).toBeGreaterThanOrEqual(128); // CLIENT_SECRET
    expect(32 * 4).toBeGreaterThanOrEqual(128); // UNLEASH hex
  });

  it('keeps the public client id of a key pair on rotation', () => {
    const first = issueSecret('KEY_PAIR', ctx(['development'], ['*']));
    const rotated = issueSecret('KEY_PAIR', { ...ctx(['development'], ['*']), clientId: first.clientId });
    expect(rotated.clientId).toBe(first.clientId);
    expect(rotated.secret).not.toBe(first.secret);
  });
});

describe('issueSecret: refusals', () => {
  const refusal = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(DomainError);
      return { kind: (err as DomainError).kind, fields: (err as DomainError).fieldViolations.map((v) => v.field) };
    }
    throw new Error('expected a refusal');
  };

  it.each(['UNLEASH', 'PUBLISHABLE_KEY', 'SECRET_KEY'] as const)('%s needs exactly one environment', (format) => {
    expect(refusal(() => issueSecret(format, ctx([], ['*'])))).toEqual({ kind: 'invalid_argument', fields: ['credential.environments'] });
    expect(refusal(() => issueSecret(format, ctx(['a', 'b'], ['*'])))).toEqual({ kind: 'invalid_argument', fields: ['credential.environments'] });
    expect(refusal(() => issueSecret(format, ctx(['Not_An_Id'], ['*'])))).toEqual({ kind: 'invalid_argument', fields: ['credential.environments[0]'] });
  });

  it('UNLEASH needs project ids that fit in the token', () => {
    expect(refusal(() => issueSecret('UNLEASH', ctx(['dev'], ['a:b'])))).toEqual({ kind: 'invalid_argument', fields: ['credential.projects[0]'] });
    expect(refusal(() => issueSecret('UNLEASH', ctx(['dev'], [])))).toEqual({ kind: 'invalid_argument', fields: ['credential.projects'] });
  });

  it('refuses to issue IMPORTED secrets and to rotate onto a client id it did not issue', () => {
    expect(refusal(() => issueSecret('IMPORTED', ctx([], ['*'])))).toEqual({ kind: 'invalid_argument', fields: ['credential.format'] });
    expect(refusal(() => issueSecret('KEY_PAIR', { ...ctx([], ['*']), clientId: 'pk_test_nope' }))).toEqual({
      kind: 'invalid_argument',
      fields: ['credential.client_id'],
    });
  });
});
