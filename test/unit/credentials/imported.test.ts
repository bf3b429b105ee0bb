import { classifyImportedSecret, secretHint } from '../../../src/credentials/index.js';
import { GOLDEN } from './fixtures.js';

describe('classifyImportedSecret', () => {
  it.each([
    ['an Unleash v1 hex token', 'aaaaaaaa0123456789abcdef0123456789abcdef0123456789abcdef01234567', 'unleash-v1', undefined],
    // Unleash tokens name their scope; the import and every request hold the credential to it.
    ['an Unleash v2 token', 'default:production.0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071', 'unleash-v2', { projects: 'default', environment: 'production' }],
    ['an Unleash admin token', '*:*.0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9', 'unleash-v2', { projects: '*', environment: '*' }],
    ['a proxy client key of 16+ characters', 'proxy-client-key-0001', 'opaque', undefined],
    ['a key from another system', 'ak_9f8e7d6c5b4a39281706f5e4d3c2b1a0', 'opaque', undefined],
    ['a CLIENT_SECRET another latchkey issued', GOLDEN.clientSecret, 'latchkey', undefined],
    ['an UNLEASH token another latchkey issued', GOLDEN.unleashOne, 'latchkey', { projects: 'default', environment: 'production' }],
  ])('accepts %s', (_, secret, shape, unleash) => {
    expect(classifyImportedSecret(secret)).toEqual(unleash ? { ok: true, shape, unleash } : { ok: true, shape });
  });

  it.each([
    ['shorter than 16 characters', 'short-key', 'would be refused as malformed: the credential is too short (latchkey secrets and imported keys have at least 16 characters)'],
    ['with whitespace', 'proxy client key 0001', 'would be refused as malformed: the credential contains whitespace'],
    ['empty', '', 'would be refused as malformed: the credential is empty'],
    [
      'a management access token',
      `lkat_${'x'.repeat(43)}`,
      'starts with lkat_, a prefix latchkey reserves for the secrets it issues, and is not one of them (management access tokens are not accepted on the runtime API)',
    ],
    [
      'a key with a reserved prefix',
      'pub_prod_0123456789abcdefghijklmno',
      'starts with pub_, a prefix latchkey reserves for the secrets it issues, and is not one of them (the publishable key (pub_…) is not one latchkey issued: wrong environment, length, characters or checksum (mistyped or edited?))',
    ],
    [
      '32 alphanumerics without a latchkey checksum (the CLIENT_SECRET shape)',
      'abcdefghijklmnopqrstuvwxyz012345',
      'would be refused as malformed: the 32-character client secret has a wrong checksum (mistyped?)',
    ],
    [
      'a key-pair secret',
      GOLDEN.keyPairLive.secret,
      'key-pair halves cannot be imported: a key pair is accepted only with its client id, which an import does not keep',
    ],
    [
      'a whole key pair',
      `${GOLDEN.keyPairLive.clientId}:${GOLDEN.keyPairLive.secret}`,
      'key pairs cannot be imported: a key pair is accepted only with its client id, which an import does not keep',
    ],
  ])('refuses a secret %s', (_, secret, reason) => {
    expect(classifyImportedSecret(secret)).toEqual({ ok: false, reason });
  });
});

describe('secretHint', () => {
  it.each([
    [GOLDEN.keyPairLive.secret, 'sk_live_…xnrj'],
    [GOLDEN.keyPairTest.clientId, 'pk_test_…Ii7A'],
    [GOLDEN.clientSecret, '0123…COD7'],
    [GOLDEN.unleashOne, 'default:production.…ea41'],
    [GOLDEN.unleashAll, '*:development.…c0ba'],
    [GOLDEN.unleashList, '[]:development.…8cd6'],
    [GOLDEN.publishable, 'pub_production_…e6Ul'],
    [GOLDEN.secretKey, 'sec_staging_…eQTF'],
    // Imported: a prefix only where it is not secret, or where 16+ characters stay hidden.
    ['aaaaaaaa0123456789abcdef0123456789abcdef0123456789abcdef01234567', 'aaaa…4567'],
    ['default:production.0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071', 'default:production.…6071'],
    ['proxy-client-key-0001', '…0001'],
    ['abcdefghijklmnopqrstuvwx', 'abcd…uvwx'],
    ['short', '…'],
  ])('%s → %s', (secret, hint) => {
    expect(secretHint(secret)).toBe(hint);
  });
});
