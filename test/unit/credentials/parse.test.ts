import { parseCredentialToken } from '../../../src/credentials/index.js';
import { GOLDEN } from './fixtures.js';

/** Flips the character at `i` to another one of the same alphabet. */
const flip = (s: string, i: number, to: string) => s.slice(0, i) + to + s.slice(i + 1);

describe('parseCredentialToken: latchkey formats', () => {
  it('KEY_PAIR as "<clientId>:<secret>": the secret is the sk_ half, the client id the pk_ half', () => {
    expect(parseCredentialToken(`${GOLDEN.keyPairLive.clientId}:${GOLDEN.keyPairLive.secret}`)).toEqual({
      kind: 'ok',
      credential: { format: 'KEY_PAIR', secret: GOLDEN.keyPairLive.secret, clientId: GOLDEN.keyPairLive.clientId },
    });
  });

  it('KEY_PAIR halves alone are partial, not credentials', () => {
    expect(parseCredentialToken(GOLDEN.keyPairTest.secret)).toMatchObject({ kind: 'partial', half: 'secret', value: GOLDEN.keyPairTest.secret });
    expect(parseCredentialToken(GOLDEN.keyPairTest.clientId)).toMatchObject({ kind: 'partial', half: 'clientId', value: GOLDEN.keyPairTest.clientId });
  });

  it('KEY_PAIR with a bad half is malformed, naming the half', () => {
    const { clientId, secret } = GOLDEN.keyPairTest;
    expect(parseCredentialToken(`${flip(clientId, 10, 'Z')}:${secret}`)).toEqual({
      kind: 'malformed',
      detail: 'the key-pair client id (pk_…) is not one latchkey issued: wrong length, characters or checksum (mistyped or truncated?)',
    });
    expect(parseCredentialToken(`${clientId}:${secret.slice(0, -1)}`)).toEqual({
      kind: 'malformed',
      detail: 'the key-pair secret (sk_…) is not one latchkey issued: wrong length, characters or checksum (mistyped or truncated?)',
    });
    expect(parseCredentialToken(`${clientId}:${GOLDEN.clientSecret}`)).toEqual({ kind: 'malformed', detail: 'the key-pair secret must be an sk_live_… or sk_test_… secret' });
  });

  it('CLIENT_SECRET: 32 alphanumerics with a correct checksum', () => {
    expect(parseCredentialToken(GOLDEN.clientSecret)).toEqual({ kind: 'ok', credential: { format: 'CLIENT_SECRET', secret: GOLDEN.clientSecret } });
    expect(parseCredentialToken(flip(GOLDEN.clientSecret, 3, 'x'))).toEqual({ kind: 'malformed', detail: 'the 32-character client secret has a wrong checksum (mistyped?)' });
  });

  it('UNLEASH: one project, * and [] (an empty array: a list the token does not name)', () => {
    expect(parseCredentialToken(GOLDEN.unleashOne)).toEqual({
      kind: 'ok',
      credential: { format: 'UNLEASH', secret: GOLDEN.unleashOne, unleash: { projects: 'default', environment: 'production' } },
    });
    expect(parseCredentialToken(GOLDEN.unleashAll)).toMatchObject({ kind: 'ok', credential: { unleash: { projects: '*', environment: 'development' } } });
    expect(parseCredentialToken(GOLDEN.unleashList)).toMatchObject({ kind: 'ok', credential: { unleash: { projects: [], environment: 'development' } } });
  });

  it('UNLEASH: an edited visible part, or an edited hex part, is malformed', () => {
    const detail = 'the Unleash token is not one latchkey issued: its <project>:<environment> part or its hex part was changed (checksum mismatch)';
    expect(parseCredentialToken(GOLDEN.unleashOne.replace('default:production', 'default:staging'))).toEqual({ kind: 'malformed', detail });
    expect(parseCredentialToken(GOLDEN.unleashOne.replace('default:', '*:'))).toEqual({ kind: 'malformed', detail });
    expect(parseCredentialToken(GOLDEN.unleashList.replace('[]:', 'mobile:'))).toEqual({ kind: 'malformed', detail });
    expect(parseCredentialToken(flip(GOLDEN.unleashOne, 25, 'f'))).toEqual({ kind: 'malformed', detail });
    // Same length, a non-hex character: still latchkey's shape, still malformed (not an imported token).
    expect(parseCredentialToken(flip(GOLDEN.unleashOne, 25, 'g'))).toEqual({ kind: 'malformed', detail });
  });

  it('PUBLISHABLE_KEY and SECRET_KEY: the class follows the prefix; the environment is read from the key', () => {
    expect(parseCredentialToken(GOLDEN.publishable)).toEqual({
      kind: 'ok',
      credential: { format: 'PUBLISHABLE_KEY', secret: GOLDEN.publishable, environment: 'production' },
    });
    expect(parseCredentialToken(GOLDEN.secretKey)).toEqual({ kind: 'ok', credential: { format: 'SECRET_KEY', secret: GOLDEN.secretKey, environment: 'staging' } });
  });

  it('PUBLISHABLE_KEY / SECRET_KEY: an edited environment, prefix or body is malformed', () => {
    expect(parseCredentialToken(GOLDEN.publishable.replace('pub_production_', 'pub_staging_'))).toMatchObject({ kind: 'malformed' });
    expect(parseCredentialToken(GOLDEN.publishable.replace('pub_', 'sec_'))).toEqual({
      kind: 'malformed',
      detail: 'the secret key (sec_…) is not one latchkey issued: wrong environment, length, characters or checksum (mistyped or edited?)',
    });
    expect(parseCredentialToken(`${GOLDEN.secretKey}x`)).toMatchObject({ kind: 'malformed' });
  });
});

describe('parseCredentialToken: imported secrets', () => {
  it('Unleash v1 (legacy hex), Unleash v2 (no latchkey checksum), proxy keys and other keys', () => {
    const v1 = 'aaaaaaaa0123456789abcdef0123456789abcdef0123456789abcdef01234567';
    const v2 = 'default:production.0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071';
    const unleashIssued = 'default:development.be2a4c5b7a8c3d9e1f2a3b4c5d6e7f8091a2b3c4d5e6f7a8b9c0d1e2';
    const admin = '*:*.be2a4c5b7a8c3d9e1f2a3b4c5d6e7f8091a2b3c4d5e6f7a8b9c0d1e2';
    expect(parseCredentialToken(v1)).toEqual({ kind: 'ok', credential: { format: 'IMPORTED', secret: v1, importedShape: 'unleash-v1' } });
    expect(parseCredentialToken(v2)).toEqual({
      kind: 'ok',
      credential: { format: 'IMPORTED', secret: v2, importedShape: 'unleash-v2', unleash: { projects: 'default', environment: 'production' } },
    });
    expect(parseCredentialToken(unleashIssued)).toMatchObject({ kind: 'ok', credential: { format: 'IMPORTED', importedShape: 'unleash-v2' } });
    expect(parseCredentialToken(admin)).toMatchObject({ kind: 'ok', credential: { format: 'IMPORTED', importedShape: 'unleash-v2' } });
    expect(parseCredentialToken('proxy-client-key-0001')).toEqual({ kind: 'ok', credential: { format: 'IMPORTED', secret: 'proxy-client-key-0001', importedShape: 'opaque' } });
    expect(parseCredentialToken('16-chars-exactly')).toMatchObject({ kind: 'ok', credential: { format: 'IMPORTED' } });
  });

  it('refuses keys shorter than 16 or longer than 512 characters', () => {
    expect(parseCredentialToken('15-chars-only!!')).toEqual({
      kind: 'malformed',
      detail: 'the credential is too short (latchkey secrets and imported keys have at least 16 characters)',
    });
    expect(parseCredentialToken('k'.repeat(513))).toEqual({ kind: 'malformed', detail: 'the credential is too long (at most 512 characters)' });
    expect(parseCredentialToken('k'.repeat(512))).toMatchObject({ kind: 'ok' });
  });

  it('reserved prefixes are never imported secrets', () => {
    for (const s of ['pk_live_whatever-this-is-long', 'sk_test_short', 'pub_prod_0123456789abcdefghij', 'sec_x']) {
      expect(parseCredentialToken(s).kind).toBe('malformed');
    }
  });
});

describe('parseCredentialToken: limits and characters', () => {
  it.each([
    ['', 'the credential is empty'],
    ['x'.repeat(1025), 'the credential is longer than 1024 characters'],
    [`${GOLDEN.clientSecret}\n`, 'the credential contains control characters'],
    ['abc\u0000defghijklmnopqrst', 'the credential contains control characters'],
    ['proxy client key 0001', 'the credential contains whitespace'],
    ['proxy-client-key-ü-0001', 'the credential contains characters outside printable ASCII'],
  ])('%j is malformed: %s', (value, detail) => {
    expect(parseCredentialToken(value)).toEqual({ kind: 'malformed', detail });
  });

  it('recognises management access tokens to refuse them with a clear message', () => {
    expect(parseCredentialToken(`lkat_${'A'.repeat(43)}`)).toEqual({ kind: 'malformed', detail: 'management access tokens are not accepted on the runtime API' });
  });
});
