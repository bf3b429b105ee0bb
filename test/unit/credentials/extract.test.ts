import { extractPresentedCredential } from '../../../src/credentials/index.js';
import { GOLDEN } from './fixtures.js';

const { clientId: PK, secret: SK } = GOLDEN.keyPairLive;

describe('extractPresentedCredential: where each format is carried', () => {
  it('nothing at all (undefined or empty values) is missing', () => {
    expect(extractPresentedCredential({})).toEqual({ kind: 'missing' });
    expect(extractPresentedCredential({ authorization: '', bodyClientSecret: '', publishableKeyQuery: '', clientIdHeader: '', clientSecretHeader: '' })).toEqual({
      kind: 'missing',
    });
  });

  it('KEY_PAIR: "Authorization: Bearer pk:sk"', () => {
    expect(extractPresentedCredential({ authorization: `Bearer ${PK}:${SK}` })).toEqual({
      kind: 'presented',
      credential: { format: 'KEY_PAIR', secret: SK, clientId: PK, source: 'authorization' },
    });
    expect(extractPresentedCredential({ authorization: `bearer   ${PK}:${SK}  ` })).toMatchObject({ kind: 'presented', credential: { clientId: PK } });
  });

  it('KEY_PAIR: X-Client-ID + X-Client-Secret', () => {
    expect(extractPresentedCredential({ clientIdHeader: PK, clientSecretHeader: SK })).toEqual({
      kind: 'presented',
      credential: { format: 'KEY_PAIR', secret: SK, clientId: PK, source: 'headers' },
    });
  });

  it('KEY_PAIR: one header without the other is malformed', () => {
    expect(extractPresentedCredential({ clientIdHeader: PK })).toEqual({
      kind: 'malformed',
      detail: 'X-Client-ID was sent without X-Client-Secret; a key pair needs both headers',
    });
    expect(extractPresentedCredential({ clientSecretHeader: SK })).toEqual({
      kind: 'malformed',
      detail: 'X-Client-Secret was sent without X-Client-ID; a key pair needs both headers',
    });
    expect(extractPresentedCredential({ clientSecretHeader: 'something-else-entirely' })).toMatchObject({ kind: 'malformed' });
  });

  it('KEY_PAIR: the headers carry only a key pair', () => {
    expect(extractPresentedCredential({ clientIdHeader: 'my-app', clientSecretHeader: GOLDEN.clientSecret })).toEqual({
      kind: 'malformed',
      detail: 'the key-pair client id must be a pk_live_… or pk_test_… id',
    });
  });

  it('KEY_PAIR: a half in Bearer alone is malformed and says how to send the pair', () => {
    expect(extractPresentedCredential({ authorization: `Bearer ${SK}` })).toEqual({
      kind: 'malformed',
      detail: 'a key-pair secret (sk_…) needs its client id (pk_…); send both as "Authorization: Bearer <clientId>:<secret>" or as the headers X-Client-ID and X-Client-Secret',
    });
    expect(extractPresentedCredential({ authorization: `Bearer ${PK}` })).toMatchObject({ kind: 'malformed' });
  });

  it('CLIENT_SECRET: client_secret in the body, or Bearer', () => {
    expect(extractPresentedCredential({ bodyClientSecret: GOLDEN.clientSecret })).toEqual({
      kind: 'presented',
      credential: { format: 'CLIENT_SECRET', secret: GOLDEN.clientSecret, source: 'body' },
    });
    expect(extractPresentedCredential({ authorization: `Bearer ${GOLDEN.clientSecret}` })).toMatchObject({
      kind: 'presented',
      credential: { format: 'CLIENT_SECRET', source: 'authorization' },
    });
  });

  it('UNLEASH: Authorization with or without Bearer', () => {
    const expected = {
      kind: 'presented',
      credential: { format: 'UNLEASH', secret: GOLDEN.unleashAll, unleash: { projects: '*', environment: 'development' }, source: 'authorization' },
    };
    expect(extractPresentedCredential({ authorization: GOLDEN.unleashAll })).toEqual(expected);
    expect(extractPresentedCredential({ authorization: `Bearer ${GOLDEN.unleashAll}` })).toEqual(expected);
    expect(extractPresentedCredential({ authorization: GOLDEN.unleashList })).toMatchObject({ credential: { unleash: { projects: [] } } });
  });

  it('PUBLISHABLE_KEY: Bearer or ?publishableKey=', () => {
    expect(extractPresentedCredential({ publishableKeyQuery: GOLDEN.publishable })).toEqual({
      kind: 'presented',
      credential: { format: 'PUBLISHABLE_KEY', secret: GOLDEN.publishable, environment: 'production', source: 'query' },
    });
    expect(extractPresentedCredential({ authorization: `Bearer ${GOLDEN.publishable}` })).toMatchObject({ credential: { source: 'authorization' } });
  });

  it('SECRET_KEY: Bearer, never a query parameter', () => {
    expect(extractPresentedCredential({ authorization: `Bearer ${GOLDEN.secretKey}` })).toMatchObject({
      kind: 'presented',
      credential: { format: 'SECRET_KEY', environment: 'staging' },
    });
    expect(extractPresentedCredential({ publishableKeyQuery: GOLDEN.secretKey })).toEqual({
      kind: 'malformed',
      detail: 'a secret key (sec_…) must never be sent in a URL, where logs and browser history keep it; send it in Authorization, and rotate it',
    });
    expect(extractPresentedCredential({ publishableKeyQuery: GOLDEN.clientSecret })).toEqual({
      kind: 'malformed',
      detail: 'the publishableKey query parameter carries publishable keys (pub_…) only; send other credentials in Authorization',
    });
  });

  it('IMPORTED: as its shape says (bare Authorization like Unleash SDKs, Bearer, or the body)', () => {
    for (const input of [
      { authorization: 'proxy-client-key-0001' },
      { authorization: 'Bearer proxy-client-key-0001' },
      { bodyClientSecret: 'proxy-client-key-0001' },
    ]) {
      expect(extractPresentedCredential(input)).toMatchObject({ kind: 'presented', credential: { format: 'IMPORTED', secret: 'proxy-client-key-0001' } });
    }
    expect(extractPresentedCredential({ authorization: 'short-key' })).toMatchObject({ kind: 'malformed' });
  });
});

describe('extractPresentedCredential: two credentials in one request', () => {
  it('two different credentials are a conflict', () => {
    expect(extractPresentedCredential({ authorization: `Bearer ${GOLDEN.clientSecret}`, bodyClientSecret: 'proxy-client-key-0001' })).toEqual({ kind: 'conflict' });
    expect(extractPresentedCredential({ authorization: `Bearer ${PK}:${SK}`, clientIdHeader: GOLDEN.keyPairTest.clientId, clientSecretHeader: SK })).toEqual({
      kind: 'conflict',
    });
    expect(extractPresentedCredential({ authorization: `Bearer ${GOLDEN.publishable}`, publishableKeyQuery: GOLDEN.unleashOne })).toEqual({ kind: 'conflict' });
    // Conflict answers before parsing (step 1 before step 2), even when one of them is malformed.
    expect(extractPresentedCredential({ authorization: `Bearer ${GOLDEN.clientSecret}`, bodyClientSecret: 'nope' })).toEqual({ kind: 'conflict' });
  });

  it('the same credential repeated is fine, and the Authorization header is named as the source', () => {
    expect(extractPresentedCredential({ authorization: `Bearer ${GOLDEN.clientSecret}`, bodyClientSecret: GOLDEN.clientSecret })).toEqual({
      kind: 'presented',
      credential: { format: 'CLIENT_SECRET', secret: GOLDEN.clientSecret, source: 'authorization' },
    });
    expect(extractPresentedCredential({ authorization: `Bearer ${PK}:${SK}`, clientIdHeader: PK, clientSecretHeader: SK })).toMatchObject({
      kind: 'presented',
      credential: { source: 'authorization' },
    });
    expect(extractPresentedCredential({ publishableKeyQuery: GOLDEN.publishable, authorization: `Bearer ${GOLDEN.publishable}` })).toMatchObject({
      kind: 'presented',
      credential: { source: 'authorization' },
    });
  });

  it('a lone key-pair half is fine when it repeats the full pair sent elsewhere', () => {
    expect(extractPresentedCredential({ authorization: `Bearer ${PK}:${SK}`, clientSecretHeader: SK })).toMatchObject({ kind: 'presented' });
    expect(extractPresentedCredential({ clientIdHeader: PK, clientSecretHeader: SK, bodyClientSecret: SK })).toMatchObject({
      kind: 'presented',
      credential: { source: 'headers' },
    });
  });

  it('a secret key in the URL is refused even when it is also in Authorization', () => {
    expect(extractPresentedCredential({ authorization: `Bearer ${GOLDEN.secretKey}`, publishableKeyQuery: GOLDEN.secretKey })).toMatchObject({ kind: 'malformed' });
  });
});

describe('extractPresentedCredential: what is not a runtime credential', () => {
  it('a management access token is refused with a clear message', () => {
    const token = `lkat_${'a1B2'.repeat(10)}xyz`;
    const expected = { kind: 'malformed', detail: 'management access tokens are not accepted on the runtime API' };
    expect(extractPresentedCredential({ authorization: `Bearer ${token}` })).toEqual(expected);
    expect(extractPresentedCredential({ authorization: token })).toEqual(expected);
    // …and it does not count as a second credential.
    expect(extractPresentedCredential({ authorization: `Bearer ${token}`, bodyClientSecret: GOLDEN.clientSecret })).toEqual(expected);
  });

  it('any scheme but Bearer is malformed; Basic points at the management API', () => {
    expect(extractPresentedCredential({ authorization: 'Basic YWRtaW46c2VjcmV0' })).toEqual({
      kind: 'malformed',
      detail: 'the Authorization scheme Basic is not accepted on the runtime API (API-client credentials are for the management API); send Authorization: Bearer <credential>',
    });
    expect(extractPresentedCredential({ authorization: 'Token abc' })).toEqual({
      kind: 'malformed',
      detail: 'the Authorization scheme Token is not accepted on the runtime API; send Authorization: Bearer <credential>',
    });
    expect(extractPresentedCredential({ authorization: `${'X'.repeat(200)} abc` })).toEqual({
      kind: 'malformed',
      detail: 'this Authorization scheme is not accepted on the runtime API; send Authorization: Bearer <credential>',
    });
  });

  it('Bearer without a credential, oversized values and control characters are malformed', () => {
    expect(extractPresentedCredential({ authorization: 'Bearer' })).toEqual({ kind: 'malformed', detail: 'Authorization: Bearer carries no credential' });
    expect(extractPresentedCredential({ authorization: 'Bearer    ' })).toEqual({ kind: 'malformed', detail: 'Authorization: Bearer carries no credential' });
    expect(extractPresentedCredential({ authorization: `Bearer ${'a'.repeat(1100)}` })).toEqual({
      kind: 'malformed',
      detail: 'the Authorization header is longer than 1024 characters',
    });
    expect(extractPresentedCredential({ authorization: `Bearer ${GOLDEN.clientSecret}\r\nX: y` })).toEqual({
      kind: 'malformed',
      detail: 'the Authorization header contains control characters',
    });
    expect(extractPresentedCredential({ bodyClientSecret: `${GOLDEN.clientSecret}\t` })).toEqual({ kind: 'malformed', detail: 'the credential contains control characters' });
    expect(extractPresentedCredential({ authorization: 'Bearer a b' })).toEqual({ kind: 'malformed', detail: 'the credential contains whitespace' });
  });

  it('never repeats the secret in a detail', () => {
    const secret = 'Zq9'.repeat(10) + 'x!';
    for (const input of [{ authorization: secret.slice(0, 12) }, { publishableKeyQuery: secret }, { authorization: `Basic ${secret}` }, { clientIdHeader: secret }]) {
      const r = extractPresentedCredential(input);
      expect(r.kind).toBe('malformed');
      expect(r.kind === 'malformed' && r.detail.includes(secret.slice(0, 8))).toBe(false);
    }
  });
});
