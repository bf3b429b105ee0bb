import { InMemoryStorageProvider, UnleashClient, type IToggle } from 'unleash-proxy-client';
import { BOOTSTRAP_CONFIG } from '../../support/clients.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { Class, Format, admins, createUnleashFixtures, credential, importUnleashToken, resolveOverConnect, type Admin } from './unleash-fixtures.js';

/**
 * The frontend SDK (unleash-proxy-client 3.8, as published; in Node with its in-memory storage and
 * Node's fetch) against latchkey's frontend API with a PUBLISHABLE key: latchkey evaluates the
 * context the SDK sends and answers the enabled toggles.
 */
describe('unleash-proxy-client (frontend SDK) against /api/frontend', () => {
  let server: TestServer;
  let admin: Admin;
  let browser: string;
  const calls: { method: string; path: string; status: number }[] = [];
  const recordingFetch = async (url: string, init: RequestInit) => {
    const res = await fetch(url, init);
    calls.push({ method: init.method ?? 'GET', path: new URL(url).pathname, status: res.status });
    return res;
  };
  const clients: UnleashClient[] = [];
  const sdk = (clientKey: string, config: Partial<ConstructorParameters<typeof UnleashClient>[0]> = {}) => {
    const client = new UnleashClient({
      url: `${server.baseUrl}/api/frontend`,
      clientKey,
      appName: 'storefront',
      storageProvider: new InMemoryStorageProvider(),
      fetch: recordingFetch,
      disableRefresh: true,
      disableMetrics: true,
      ...config,
    });
    clients.push(client);
    return client;
  };
  const on = (name: string, variant = 'on'): IToggle => ({ name, enabled: true, variant: { name: variant, enabled: true, feature_enabled: true }, impressionData: false });
  const withPayload = (name: string, variant: string, type: string, value: string): IToggle => ({
    name,
    enabled: true,
    variant: { name: variant, enabled: true, feature_enabled: true, payload: { type, value } },
    impressionData: false,
  });

  beforeAll(async () => {
    server = await startTestServer(BOOTSTRAP_CONFIG);
    admin = admins(server);
    await createUnleashFixtures(admin);
    browser = (await credential(admin, 'storefront-web', { format: Format.PUBLISHABLE_KEY, class: Class.PUBLISHABLE, environments: ['production'], projects: ['*'] })).secret;
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.stop();
    calls.length = 0;
  });
  afterAll(async () => {
    await server.close();
  });

  /** The toggles latchkey's own resolver implies for a context (bucketed flags read from ResolveFlags). */
  async function expected(userId: string, properties: Record<string, string>) {
    const own = await resolveOverConnect(server, browser, { targeting_key: userId, ...properties });
    const toggles: IToggle[] = [withPayload('banner', own.banner![0] as string, 'string', own.banner![0] as string)];
    if (properties.plan !== 'free') toggles.push(on('free-off'));
    toggles.push(withPayload('limits', 'small', 'number', '10'));
    if (properties.email?.endsWith('@example.com')) toggles.push(on('email-match'));
    toggles.push(on('mobile-only'));
    if (properties.plan === 'pro') toggles.push(on('new-checkout'));
    toggles.push(on('regex-same'));
    if (own.rollout![0] === 'on') toggles.push(on('rollout'));
    return toggles.sort((a, b) => a.name.localeCompare(b.name));
  }

  it.each([
    ['GET with the context in the query', false],
    ['POST with the context in the body', true],
  ])('answers the enabled toggles for the context (%s), and again after updateContext', async (_name, usePOSTrequests) => {
    const client = sdk(browser, { usePOSTrequests, context: { userId: 'u-1', sessionId: 's-1', properties: { plan: 'pro', email: 'ann@example.com' } } });
    await client.start();
    expect(client.getAllToggles()).toEqual(await expected('u-1', { plan: 'pro', email: 'ann@example.com' }));
    expect(client.isEnabled('new-checkout')).toBe(true);
    expect(client.isEnabled('internal-tool')).toBe(false); // secret: never served to a publishable key
    expect(client.isEnabled('theme')).toBe(false); // a remote config: needs configs:read
    expect(client.getVariant('limits')).toEqual({ name: 'small', enabled: true, feature_enabled: true, payload: { type: 'number', value: '10' } });
    await client.updateContext({ userId: 'u-2', properties: { plan: 'free' } });
    expect(client.getAllToggles()).toEqual(await expected('u-2', { plan: 'free' }));
    expect([client.isEnabled('free-off'), client.isEnabled('new-checkout'), client.isEnabled('email-match')]).toEqual([false, false, false]);
    expect(calls.map((c) => [c.method, c.path, c.status])).toEqual([
      [usePOSTrequests ? 'POST' : 'GET', '/api/frontend', 200],
      [usePOSTrequests ? 'POST' : 'GET', '/api/frontend', 200],
    ]);
  });

  it('splits users as latchkey does, for every user (it is latchkey that evaluates)', async () => {
    for (let i = 0; i < 20; i++) {
      const client = sdk(browser, { context: { userId: `user-${i}` } });
      await client.start();
      const own = await resolveOverConnect(server, browser, { targeting_key: `user-${i}` });
      expect([client.getVariant('banner').name, client.isEnabled('rollout')]).toEqual([own.banner![0], own.rollout![0] === 'on']);
      client.stop();
    }
  });

  it('revalidates with If-None-Match (304 keeps the toggles) and sends metrics (202)', async () => {
    const client = sdk(browser, { context: { userId: 'u-1', sessionId: 's-1' }, disableMetrics: false, metricsInterval: 3600, metricsIntervalInitial: 0 });
    const sent: unknown[] = [];
    client.on('sent', (payload: unknown) => sent.push(payload));
    await client.start();
    const before = client.getAllToggles();
    await client.updateToggles();
    expect(client.getAllToggles()).toEqual(before);
    client.isEnabled('rollout');
    await client.sendMetrics();
    expect(calls.map((c) => [c.method, c.path, c.status])).toEqual([
      ['GET', '/api/frontend', 200],
      ['GET', '/api/frontend', 304],
      ['POST', '/api/frontend/client/metrics', 202],
    ]);
    expect(sent).toEqual([expect.objectContaining({ appName: 'storefront', bucket: expect.objectContaining({ toggles: { rollout: expect.any(Object) } }) })]);
  });

  it('imported and issued Unleash frontend tokens work; a server-side token is refused with 403', async () => {
    const legacy = (await importUnleashToken(admin, 'legacy-frontend', Class.PUBLISHABLE, 'development', ['default'])).secret;
    const client = sdk(legacy, { context: { userId: 'u-1', properties: { country: 'SE' } } });
    await client.start();
    expect([client.isEnabled('new-checkout'), client.isEnabled('mobile-only')]).toEqual([true, false]);
    // An Unleash-style frontend token issued by latchkey (FORMAT_UNLEASH, CLASS_PUBLISHABLE).
    const issued = (await credential(admin, 'unleash-frontend', { class: Class.PUBLISHABLE, environments: ['production'], projects: ['*'] })).secret;
    expect(issued).toMatch(/^\*:production\.[0-9a-f]+$/);
    const viaIssued = sdk(issued, { context: { userId: 'u-1', properties: { plan: 'pro' } } });
    await viaIssued.start();
    expect([viaIssued.isEnabled('new-checkout'), viaIssued.isEnabled('mobile-only')]).toEqual([true, true]);

    const secret = (await credential(admin, 'server-side', { environments: ['production'] })).secret;
    const refused = sdk(secret);
    const errors: unknown[] = [];
    refused.on('error', (e: unknown) => errors.push(e));
    const logged = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await refused.start();
    } finally {
      logged.mockRestore();
    }
    expect(errors).toEqual([{ type: 'HttpError', code: 403 }]);
    expect(calls.at(-1)).toEqual({ method: 'GET', path: '/api/frontend', status: 403 });
    expect(refused.getAllToggles()).toEqual([]);
  });
});
