import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OpenFeature, type Client } from '@openfeature/server-sdk';
import { BOOTSTRAP_CONFIG } from '../../support/clients.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { admins, createOfrepFixtures, Format, ofrepCredential, resolveOverConnect, type Admin } from './ofrep-fixtures.js';

/**
 * A server application using the OpenFeature server SDK with the OFREP provider, unchanged, pointed
 * at latchkey: the provider is configured with nothing but latchkey's base URL and the credential's
 * headers. Each domain is one credential; production and development see their own rules.
 */
describe('OFREP with @openfeature/server-sdk and @openfeature/ofrep-provider', () => {
  let server: TestServer;
  let admin: Admin;
  let prod: Client;
  let dev: Client;
  let prodSecret: string;

  const provider = (headers: [string, string][]) => new OFREPProvider({ baseUrl: server.baseUrl, headers });
  const meta = (id: string, description?: string) => ({ name: `flags/${id}`, project: 'projects/default', ...(description ? { description } : {}) });

  beforeAll(async () => {
    server = await startTestServer(BOOTSTRAP_CONFIG);
    admin = admins(server);
    await createOfrepFixtures(admin);
    // Production: a key pair in its two headers, with configs:read. Development: a sec_ key, flags:read only.
    const pair = await ofrepCredential(admin, 'sdk-prod', { format: Format.KEY_PAIR, environments: ['production'] });
    prodSecret = `${pair.clientId}:${pair.secret}`;
    const devKey = await ofrepCredential(admin, 'sdk-dev', { format: Format.SECRET_KEY, environments: ['development'], scopes: ['flags:read'] });
    await OpenFeature.setProviderAndWait('prod', provider([['X-Client-ID', pair.clientId], ['X-Client-Secret', pair.secret]]));
    await OpenFeature.setProviderAndWait('dev', provider([['Authorization', `Bearer ${devKey.secret}`]]));
    prod = OpenFeature.getClient('prod');
    dev = OpenFeature.getClient('dev');
  });
  afterAll(async () => {
    await OpenFeature.close();
    await server.close();
  });

  it('resolves boolean, string, number and object flags, each credential in its own environment', async () => {
    const ctx = { targetingKey: 'user-1', country: 'SE' };
    expect(await prod.getBooleanDetails('dark-mode', false, ctx)).toEqual({
      flagKey: 'dark-mode',
      value: true,
      variant: 'on',
      reason: 'TARGETING_MATCH',
      flagMetadata: meta('dark-mode', 'Dark mode for the storefront'),
    });
    expect(await dev.getBooleanDetails('dark-mode', true, ctx)).toEqual({
      flagKey: 'dark-mode',
      value: false,
      variant: 'off',
      reason: 'STATIC',
      flagMetadata: meta('dark-mode', 'Dark mode for the storefront'),
    });
    expect(await prod.getStringDetails('checkout', 'none', ctx)).toEqual({ flagKey: 'checkout', value: 'fast', variant: 'fast', reason: 'TARGETING_MATCH', flagMetadata: meta('checkout') });
    expect(await dev.getStringDetails('checkout', 'none', ctx)).toEqual({ flagKey: 'checkout', value: 'beta', variant: 'beta', reason: 'TARGETING_MATCH', flagMetadata: meta('checkout') });
    expect(await prod.getNumberDetails('max-items', 0, ctx)).toEqual({ flagKey: 'max-items', value: 25.5, variant: 'large', reason: 'TARGETING_MATCH', flagMetadata: meta('max-items') });
    expect(await dev.getNumberDetails('max-items', 0, { targetingKey: 'user-1', country: 'NO' })).toEqual({ flagKey: 'max-items', value: 10, variant: 'small', reason: 'DEFAULT', flagMetadata: meta('max-items') });
    expect(await prod.getObjectDetails('theme', {}, ctx)).toEqual({ flagKey: 'theme', value: { color: 'navy', size: 3 }, variant: 'navy', reason: 'TARGETING_MATCH', flagMetadata: meta('theme') });
  });

  it('buckets on targetingKey exactly as latchkey itself does (SPLIT)', async () => {
    const seen = new Set<unknown>();
    for (const targetingKey of ['u-1', 'u-2', 'u-3', 'u-4', 'u-5', 'u-6', 'u-7', 'u-8']) {
      const [variant, value] = (await resolveOverConnect(server, prodSecret, ['flags/experiment'], { targeting_key: targetingKey })).experiment!;
      expect(await prod.getBooleanDetails('experiment', !value, { targetingKey })).toEqual({ flagKey: 'experiment', value, variant, reason: 'SPLIT', flagMetadata: meta('experiment') });
      seen.add(variant);
    }
    expect([...seen].sort()).toEqual(['off', 'on']);
  });

  it('gives an unknown flag the default value with FLAG_NOT_FOUND, also for a flag the credential may not see', async () => {
    const notFound = (key: string) => ({
      flagKey: key,
      value: 'fallback',
      reason: 'ERROR',
      errorCode: 'FLAG_NOT_FOUND',
      errorMessage: `flag "${key}" does not exist, or this credential may not see it (flags of other projects, and secret flags for a publishable credential, are not found)`,
      flagMetadata: {},
    });
    expect(await prod.getStringDetails('nope', 'fallback')).toEqual(notFound('nope'));
    const onlyDefault = await ofrepCredential(admin, 'sdk-default-only', { projects: ['default'] });
    await OpenFeature.setProviderAndWait('default-only', provider([['Authorization', `Bearer ${onlyDefault.secret}`]]));
    expect(await OpenFeature.getClient('default-only').getStringDetails('elsewhere', 'fallback')).toEqual(notFound('elsewhere'));
    expect(await prod.getBooleanValue('elsewhere', false)).toBe(true);
  });

  it('reports a type mismatch and serves the default value', async () => {
    expect(await prod.getBooleanDetails('checkout', false, { targetingKey: 'u' })).toEqual({
      flagKey: 'checkout',
      value: false,
      reason: 'ERROR',
      errorCode: 'TYPE_MISMATCH',
      errorMessage: 'Expected flag type boolean but got string',
      flagMetadata: {},
    });
    expect(await prod.getNumberValue('theme', 7)).toBe(7);
  });

  it('reports TARGETING_KEY_MISSING when a split needs a targeting key', async () => {
    expect(await prod.getBooleanDetails('experiment', false, { country: 'SE' })).toEqual({
      flagKey: 'experiment',
      value: false,
      reason: 'ERROR',
      errorCode: 'TARGETING_KEY_MISSING',
      errorMessage: 'rule "half" splits units by "targeting_key", which the evaluation context must carry as a non-empty string or a number',
      flagMetadata: {},
    });
  });

  it('serves the caller default for archived flags and flags without a default variant (provider 0.1.3 reports them as GENERAL)', async () => {
    // latchkey answers 200 {reason: DISABLED | DEFAULT} without `value` (OFREP's code default);
    // ofrep-provider 0.1.3 predates that part of the protocol and treats it as an unexpected response.
    for (const key of ['gone', 'unset']) {
      expect(await prod.getBooleanDetails(key, true, { country: 'NO' })).toEqual({
        flagKey: key,
        value: true,
        reason: 'ERROR',
        errorCode: 'GENERAL',
        errorMessage: 'The OFREP response does not match the expected format',
        flagMetadata: {},
      });
    }
    expect(await prod.getBooleanValue('unset', false, { country: 'SE' })).toBe(true);
  });

  it('reports a remote config asked for without configs:read with its details (provider 0.1.3 maps TYPE_MISMATCH to GENERAL)', async () => {
    expect(await dev.getObjectDetails('theme', { color: 'none' })).toEqual({
      flagKey: 'theme',
      value: { color: 'none' },
      reason: 'ERROR',
      errorCode: 'GENERAL',
      errorMessage: 'flag "theme" is a remote config (kind OBJECT); OFREP serves it to credentials that also have the scope configs:read',
      flagMetadata: {},
    });
  });

  it('serves the default value to a refused key: unknown (401), revoked (410), rate-limited (429, then paused until Retry-After)', async () => {
    const unknown = await ofrepCredential(admin, 'sdk-deleted', { format: Format.SECRET_KEY });
    await admin.creds.deleteClientCredential({ name: unknown.name });
    const revoked = await ofrepCredential(admin, 'sdk-revoked', { format: Format.UNLEASH, projects: ['default'] });
    await admin.creds.revokeClientCredential({ name: revoked.name });
    await OpenFeature.setProviderAndWait('unknown', provider([['Authorization', `Bearer ${unknown.secret}`]]));
    await OpenFeature.setProviderAndWait('revoked', provider([['Authorization', revoked.secret]]));
    const refused = (errorMessage: string) => ({ flagKey: 'dark-mode', value: false, reason: 'ERROR', errorCode: 'GENERAL', errorMessage, flagMetadata: {} });
    expect(await OpenFeature.getClient('unknown').getBooleanDetails('dark-mode', false)).toEqual(refused(''));
    // 410 Gone is none of the statuses the provider knows (401, 403, 429, 200, 400, 404, 500).
    expect(await OpenFeature.getClient('revoked').getBooleanDetails('dark-mode', false)).toEqual(refused('The OFREP response does not match the expected format'));

    const limited = await ofrepCredential(admin, 'sdk-limited', { rateLimit: { requests: 1, seconds: 60 } });
    await OpenFeature.setProviderAndWait('limited', provider([['Authorization', `Bearer ${limited.secret}`]]));
    const client = OpenFeature.getClient('limited');
    expect(await client.getBooleanValue('dark-mode', false)).toBe(true);
    const spent = await client.getBooleanDetails('dark-mode', false);
    expect({ ...spent, errorMessage: spent.errorMessage?.replace(/after .*$/, 'after <date>') }).toEqual(refused('rate limit exceeded, try again after <date>'));
    // The provider read Retry-After and stops calling until then: the next evaluation never reaches latchkey.
    const requestsSeen = () => server.logs.lines.filter((l) => l.includes('"procedure":"POST /ofrep/v1/evaluate/flags/"')).length;
    await new Promise((r) => setTimeout(r, 50));
    const before = requestsSeen();
    const paused = await client.getBooleanDetails('dark-mode', false);
    expect(paused.errorCode).toBe('GENERAL');
    expect(paused.errorMessage).toMatch(/^OFREP evaluation paused due to TooManyRequests until \d{4}-\d\d-\d\dT/);
    await new Promise((r) => setTimeout(r, 50));
    expect([before > 0, requestsSeen()]).toEqual([true, before]);
  });
});
