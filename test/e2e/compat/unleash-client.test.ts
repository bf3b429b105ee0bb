import { once } from 'node:events';
import { InMemStorageProvider, Unleash, startUnleash, type ClientFeaturesResponse, type Context } from 'unleash-client';
import { BOOTSTRAP_CONFIG } from '../../support/clients.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { Class, admins, createUnleashFixtures, credential, importUnleashToken, type Admin } from './unleash-fixtures.js';

/**
 * The Node server SDK (unleash-client 6.12, as published) against latchkey's client API, with an
 * issued UNLEASH token and an imported Unleash token: the SDK fetches the features once and then
 * evaluates every call locally, so each answer below was computed by the SDK itself.
 */
describe('unleash-client (server SDK) against /api/client', () => {
  let server: TestServer;
  let admin: Admin;
  let dev: string;
  let prod: string;
  let imported: string;

  const options = (token: string, extra: object = {}) => ({
    url: `${server.baseUrl}/api/`,
    appName: 'checkout-service',
    customHeaders: { Authorization: token },
    storageProvider: new InMemStorageProvider<ClientFeaturesResponse>(),
    disableMetrics: true,
    refreshInterval: 60_000,
    skipInstanceCountWarning: true,
    ...extra,
  });
  /** A running SDK instance for `token`, stopped after `use`. */
  async function withSdk<T>(token: string, use: (sdk: Unleash) => T | Promise<T>, extra: object = {}): Promise<T> {
    const sdk = new Unleash(options(token, extra));
    const errors: unknown[] = [];
    sdk.on('error', (e) => errors.push(e));
    try {
      await once(sdk, 'synchronized');
      const out = await use(sdk);
      expect(errors).toEqual([]);
      return out;
    } finally {
      sdk.destroy();
    }
  }
  const share = (n: number, f: (ctx: Context) => boolean) => {
    let hits = 0;
    for (let i = 0; i < n; i++) if (f({ userId: `user-${i}` })) hits++;
    return hits / n;
  };

  beforeAll(async () => {
    server = await startTestServer(BOOTSTRAP_CONFIG);
    admin = admins(server);
    await createUnleashFixtures(admin);
    dev = (await credential(admin, 'dev-backend', { environments: ['development'] })).secret;
    prod = (await credential(admin, 'prod-backend', { environments: ['production'] })).secret;
    imported = (await importUnleashToken(admin, 'legacy-dev', Class.SECRET, 'development', ['default'])).secret;
  });
  afterAll(async () => {
    await server.close();
  });

  it('startUnleash() resolves once the features are fetched, and answers from them', async () => {
    expect(dev).toMatch(/^default:development\.[0-9a-f]+$/);
    const sdk = await startUnleash(options(dev));
    try {
      expect(sdk.isEnabled('new-checkout', { properties: { country: 'SE' } })).toBe(true);
      expect(sdk.isEnabled('new-checkout', { properties: { country: 'DK' } })).toBe(false);
      expect(sdk.getFeatureToggleDefinitions().map((f) => f.name)).toEqual(['banner', 'free-off', 'internal-tool', 'limits', 'new-checkout', 'regex-same', 'rollout']);
    } finally {
      sdk.destroy();
    }
  });

  it.each([
    ['an issued UNLEASH token', () => dev],
    ['an imported Unleash token', () => imported],
  ])('constraints follow the token\'s environment (development, %s)', async (_name, token) => {
    await withSdk(token(), (sdk) => {
      const enabled = (properties: Record<string, string>) => sdk.isEnabled('new-checkout', { userId: 'u-1', properties });
      expect([enabled({ country: 'SE' }), enabled({ country: 'NO' }), enabled({ country: 'DK' }), enabled({ plan: 'pro' }), enabled({})]).toEqual([true, true, false, false, false]);
      expect([sdk.isEnabled('free-off', { properties: { plan: 'free' } }), sdk.isEnabled('free-off', { properties: { plan: 'pro' } }), sdk.isEnabled('free-off', {})]).toEqual([false, true, true]);
      const limit = (properties: Record<string, string | number>) => sdk.getVariant('limits', { properties });
      expect(limit({ seats: 12, appVersion: '2.0.0' })).toEqual({ name: 'big', enabled: true, payload: { type: 'number', value: '100' }, feature_enabled: true, featureEnabled: true });
      expect([limit({ seats: 12, appVersion: '2.1.0' }).name, limit({ seats: 12, appVersion: '1.9.9' }).name, limit({ seats: 9, appVersion: '3.0.0' }).name, limit({ appVersion: '3.0.0' }).name]).toEqual(['big', 'small', 'small', 'small']);
      expect(sdk.isEnabled('internal-tool')).toBe(true);
    });
  });

  it('production sees production rules', async () => {
    await withSdk(prod, (sdk) => {
      const enabled = (properties: Record<string, string>) => sdk.isEnabled('new-checkout', { userId: 'u-1', properties });
      expect([enabled({ plan: 'pro' }), enabled({ plan: 'free' }), enabled({ country: 'SE' })]).toEqual([true, false, false]);
    });
  });

  it('a percentage rollout takes its share of 10 000 users, per environment (within 2 points)', async () => {
    const dev30 = await withSdk(dev, (sdk) => share(10_000, (ctx) => sdk.isEnabled('rollout', ctx)));
    const prod70 = await withSdk(prod, (sdk) => share(10_000, (ctx) => sdk.isEnabled('rollout', ctx)));
    expect(Math.abs(dev30 - 0.3)).toBeLessThanOrEqual(0.02);
    expect(Math.abs(prod70 - 0.7)).toBeLessThanOrEqual(0.02);
    // Sticky: the same user gets the same answer every time; and without a userId there is no unit.
    await withSdk(dev, (sdk) => {
      const first = Array.from({ length: 50 }, (_, i) => sdk.isEnabled('rollout', { userId: `user-${i}` }));
      expect(Array.from({ length: 50 }, (_, i) => sdk.isEnabled('rollout', { userId: `user-${i}` }))).toEqual(first);
      expect(sdk.isEnabled('rollout', { sessionId: 's-1' })).toBe(false);
    });
  });

  it('variants come with their weights and payloads (50/50 over 10 000 users, within 2 points)', async () => {
    await withSdk(imported, (sdk) => {
      const counts: Record<string, number> = {};
      for (let i = 0; i < 10_000; i++) {
        const variant = sdk.getVariant('banner', { userId: `user-${i}` });
        counts[variant.name] = (counts[variant.name] ?? 0) + 1;
        expect(variant.payload).toEqual({ type: 'string', value: variant.name });
      }
      expect(Object.keys(counts).sort()).toEqual(['blue', 'green']);
      expect(Math.abs(counts.blue! / 10_000 - 0.5)).toBeLessThanOrEqual(0.02);
      // No userId: latchkey has no unit to split by, so the flag has no value (the SDK's disabled variant).
      expect(sdk.getVariant('banner', {})).toEqual({ name: 'disabled', enabled: false, feature_enabled: false, featureEnabled: false });
    });
  });

  it('leaves out what it cannot translate, serves what is the same for everyone, and hides other projects', async () => {
    await withSdk(dev, (sdk) => {
      expect(sdk.getFeatureToggleDefinition('email-match')).toBeUndefined();
      expect(sdk.isEnabled('email-match', { properties: { email: 'a@example.com' } }, true)).toBe(true); // the SDK's own fallback
      expect(sdk.isEnabled('regex-same', { properties: { email: 'a@elsewhere.org' } })).toBe(true);
      expect(sdk.getFeatureToggleDefinition('mobile-only')).toBeUndefined();
      expect(sdk.getFeatureToggleDefinition('theme')).toBeUndefined();
      expect(sdk.getFeatureToggleDefinition('gone')).toBeUndefined();
    });
  });

  it('the SDK\'s projectName narrows the features; configs:read adds remote configs', async () => {
    const all = (await credential(admin, 'all-projects', { environments: ['development'], projects: ['*'], scopes: ['flags:read', 'configs:read'] })).secret;
    const names = await withSdk(all, (sdk) => sdk.getFeatureToggleDefinitions().map((f) => f.name));
    expect(names).toContain('mobile-only');
    expect(names).toContain('theme');
    await withSdk(all, (sdk) => expect(sdk.getFeatureToggleDefinitions().map((f) => f.name)).toEqual(['mobile-only']), { projectName: 'mobile' });
    await withSdk(all, (sdk) => expect(sdk.getVariant('theme').payload).toEqual({ type: 'json', value: '{"color":"navy"}' }));
  });

  it('polls with If-None-Match and gets 304 while nothing changed; registers and sends metrics (202)', async () => {
    const sdk = new Unleash(options(dev, { refreshInterval: 200, disableMetrics: false, metricsInterval: 200, metricsIntervalInitial: 200 }));
    const seen: string[] = [];
    const warnings: unknown[] = [];
    for (const event of ['synchronized', 'unchanged', 'registered', 'sent']) sdk.on(event, () => seen.push(event));
    sdk.on('warn', (w) => warnings.push(w));
    try {
      await once(sdk, 'synchronized');
      sdk.isEnabled('new-checkout');
      const deadline = Date.now() + 10_000;
      while (!['unchanged', 'registered', 'sent'].every((e) => seen.includes(e)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect([...new Set(seen)].sort()).toEqual(['registered', 'sent', 'synchronized', 'unchanged']);
      expect(warnings).toEqual([]);
    } finally {
      sdk.destroy();
    }
  });
});
