import { createHash } from 'node:crypto';
import { launchBrowser, type BrowserHarness, type TestPage } from '../../support/browser.js';
import type { FlagQuery } from '../../support/browser-pages/ofrep-web.js';
import { BOOTSTRAP_CONFIG } from '../../support/clients.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { admins, Class, createOfrepFixtures, Format, ofrepCredential, resolveOverConnect, type Admin } from './ofrep-fixtures.js';

/**
 * A web app using @openfeature/web-sdk with @openfeature/ofrep-web-provider, unchanged, in headless
 * Chromium on its own origin, with a publishable key: CORS preflights, the bulk route, its ETag
 * and the provider's revalidation with If-None-Match (304), and a returning visitor's cache.
 */
const PAGE = 'test/support/browser-pages/ofrep-web.ts';

interface Detail {
  key: string;
  value: unknown;
  variant: string | null;
  reason: string | null;
  errorCode: string | null;
  flagMetadata: Record<string, unknown>;
}

describe('OFREP with @openfeature/web-sdk and @openfeature/ofrep-web-provider in Chromium', () => {
  let server: TestServer;
  let admin: Admin;
  let browser: BrowserHarness;

  const meta = (id: string) => ({ name: `flags/${id}`, project: 'projects/default' });
  const QUERIES: FlagQuery[] = [
    { key: 'dark-mode', type: 'boolean', defaultValue: false },
    { key: 'checkout', type: 'string', defaultValue: 'none' },
    { key: 'max-items', type: 'number', defaultValue: 0 },
    { key: 'theme', type: 'object', defaultValue: {} },
    { key: 'experiment', type: 'boolean', defaultValue: false },
    { key: 'gone', type: 'boolean', defaultValue: true },
    { key: 'unset', type: 'boolean', defaultValue: false },
    { key: 'internal', type: 'boolean', defaultValue: false },
    { key: 'nope', type: 'string', defaultValue: 'fallback' },
  ];
  const etagOf = (body: string) => `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  const bulkExchanges = (page: TestPage) => page.exchanges.filter((e) => e.method === 'POST' && new URL(e.url).pathname === '/ofrep/v1/evaluate/flags');
  const preflights = () =>
    server.logs.lines.filter((l) => {
      const o = JSON.parse(l) as { msg?: string; method?: string; procedure?: string; status?: number };
      return o.msg === 'request' && o.method === 'OPTIONS' && o.procedure === '/ofrep/v1/evaluate/flags' && o.status === 204;
    }).length;
  async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = fn();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(async () => {
    server = await startTestServer(BOOTSTRAP_CONFIG);
    admin = admins(server);
    await createOfrepFixtures(admin);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('evaluates every kind of flag for a publishable key in the Authorization header, and revalidates with If-None-Match (304)', async () => {
    const page = await browser.open(PAGE);
    // The key only works from the page's origin (allowed_origins), as a production web app's would.
    const key = (
      await ofrepCredential(admin, 'web-header', {
        format: Format.PUBLISHABLE_KEY,
        class: Class.PUBLISHABLE,
        environments: ['production'],
        scopes: ['flags:read', 'configs:read'],
        allowedOrigins: [page.origin],
      })
    ).secret;
    const context = { targetingKey: 'visitor-1', country: 'SE' };
    expect(await page.run('start', { baseUrl: server.baseUrl, key, keyVia: 'header', context, pollInterval: 250 })).toBe('ready');
    const [expVariant, expValue] = (await resolveOverConnect(server, key, ['flags/experiment'], { targeting_key: 'visitor-1' }, { origin: page.origin })).experiment!;
    expect(await page.run<Detail[]>('details', QUERIES)).toEqual([
      { key: 'dark-mode', value: true, variant: 'on', reason: 'TARGETING_MATCH', errorCode: null, flagMetadata: meta('dark-mode') },
      { key: 'checkout', value: 'fast', variant: 'fast', reason: 'TARGETING_MATCH', errorCode: null, flagMetadata: meta('checkout') },
      { key: 'max-items', value: 25.5, variant: 'large', reason: 'TARGETING_MATCH', errorCode: null, flagMetadata: meta('max-items') },
      { key: 'theme', value: { color: 'navy', size: 3 }, variant: 'navy', reason: 'TARGETING_MATCH', errorCode: null, flagMetadata: meta('theme') },
      { key: 'experiment', value: expValue, variant: expVariant, reason: 'SPLIT', errorCode: null, flagMetadata: meta('experiment') },
      // Archived: the provider serves the app's default with latchkey's reason (no value sent).
      { key: 'gone', value: true, variant: null, reason: 'DISABLED', errorCode: null, flagMetadata: meta('gone') },
      { key: 'unset', value: true, variant: 'on', reason: 'TARGETING_MATCH', errorCode: null, flagMetadata: meta('unset') },
      // A secret flag never reaches a publishable key: to the SDK it does not exist.
      { key: 'internal', value: false, variant: null, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', flagMetadata: {} },
      { key: 'nope', value: 'fallback', variant: null, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', flagMetadata: {} },
    ]);
    expect(await page.run<Detail[]>('details', [{ key: 'checkout', type: 'boolean', defaultValue: false }])).toEqual([
      { key: 'checkout', value: false, variant: null, reason: 'ERROR', errorCode: 'TYPE_MISMATCH', flagMetadata: meta('checkout') },
    ]);

    // The first bulk evaluation carries an ETag; the next poll sends it back and gets 304.
    const revalidated = await until('a 304', () => bulkExchanges(page).find((e) => e.status === 304));
    const [first] = bulkExchanges(page);
    expect(first!.status).toBe(200);
    expect(first!.requestHeaders['if-none-match']).toBeUndefined();
    expect(first!.requestHeaders.authorization).toBe(`Bearer ${key}`);
    expect(first!.responseHeaders.etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(revalidated.requestHeaders['if-none-match']).toBe(first!.responseHeaders.etag);
    expect(revalidated.responseHeaders.etag).toBe(first!.responseHeaders.etag);
    expect(revalidated.responseHeaders['x-ratelimit-limit']).toBe('6000');
    // The browser preflighted the cross-origin POST (Authorization, JSON, If-None-Match): latchkey answered
    // 204, and the revalidation above got through it (a refused preflight blocks the request). How often
    // the browser preflights is its own cache's business (Chromium 156 asks again for If-None-Match).
    expect(preflights()).toBeGreaterThanOrEqual(1);

    // An admin change: the next poll gets 200 with a new ETag, and the provider announces the change.
    const seen = (await page.run<unknown[]>('seenEvents')).length;
    await admin.flags.updateFlag({
      flag: { name: 'flags/dark-mode', rules: [{ name: 'prod', enabled: true, environments: ['production'], allocations: [{ variant: 'off', weight: 10000 }] }] },
      updateMask: { paths: ['rules'] },
    });
    expect(await page.run('waitForEvent', { type: 'PROVIDER_CONFIGURATION_CHANGED', after: seen, timeoutMs: 10_000 })).toEqual({ type: 'PROVIDER_CONFIGURATION_CHANGED', flagsChanged: ['dark-mode'], message: 'Flags updated (polling)' });
    expect((await page.run<Detail[]>('details', QUERIES.slice(0, 1)))[0]).toEqual({ key: 'dark-mode', value: false, variant: 'off', reason: 'TARGETING_MATCH', errorCode: null, flagMetadata: meta('dark-mode') });
    const changed = bulkExchanges(page).filter((e) => e.status === 200)[1]!;
    expect(changed.requestHeaders['if-none-match']).toBe(first!.responseHeaders.etag);
    expect(changed.responseHeaders.etag).not.toBe(first!.responseHeaders.etag);

    // A new context is evaluated again (the SDK's onContextChange). The provider keys its cache by
    // targeting key: with the same key it serves the cached answer first and revalidates with its
    // ETag, which no longer matches, so the new answer arrives as a configuration change.
    const beforeContext = (await page.run<unknown[]>('seenEvents')).length;
    await page.run('setContext', { targetingKey: 'visitor-1', country: 'NO' });
    expect(await page.run('waitForEvent', { type: 'PROVIDER_CONFIGURATION_CHANGED', after: beforeContext, timeoutMs: 10_000 })).toEqual({ type: 'PROVIDER_CONFIGURATION_CHANGED', flagsChanged: ['max-items', 'unset'], message: 'Flags updated' });
    expect((await page.run<Detail[]>('details', QUERIES.slice(2, 3)))[0]).toEqual({ key: 'max-items', value: 10, variant: 'small', reason: 'DEFAULT', errorCode: null, flagMetadata: meta('max-items') });
    // Another targeting key is fetched before setContext resolves.
    await page.run('setContext', { targetingKey: 'visitor-2', country: 'SE' });
    expect((await page.run<Detail[]>('details', QUERIES.slice(2, 3)))[0]).toEqual({ key: 'max-items', value: 25.5, variant: 'large', reason: 'TARGETING_MATCH', errorCode: null, flagMetadata: meta('max-items') });
    await page.run('close');
    await admin.flags.updateFlag({
      flag: { name: 'flags/dark-mode', rules: [{ name: 'prod', enabled: true, environments: ['production'], allocations: [{ variant: 'on', weight: 10000 }] }] },
      updateMask: { paths: ['rules'] },
    });
  });

  it('works with the key in ?publishableKey=, and a returning visitor starts from its cache and revalidates (304)', async () => {
    const page = await browser.open(PAGE);
    const key = (await ofrepCredential(admin, 'web-query', { format: Format.PUBLISHABLE_KEY, class: Class.PUBLISHABLE, environments: ['development'], scopes: ['flags:read'] })).secret;
    const start = { baseUrl: server.baseUrl, key, keyVia: 'query', context: { targetingKey: 'visitor-2' } };
    expect(await page.run('start', start)).toBe('ready');
    const want: FlagQuery[] = [QUERIES[0]!, QUERIES[1]!, QUERIES[3]!];
    expect(await page.run<Detail[]>('details', want)).toEqual([
      { key: 'dark-mode', value: false, variant: 'off', reason: 'STATIC', errorCode: null, flagMetadata: meta('dark-mode') },
      { key: 'checkout', value: 'beta', variant: 'beta', reason: 'TARGETING_MATCH', errorCode: null, flagMetadata: meta('checkout') },
      // flags:read only: OBJECT flags are not in the bulk answer.
      { key: 'theme', value: {}, variant: null, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', flagMetadata: {} },
    ]);
    const [first] = bulkExchanges(page);
    expect(new URL(first!.url).searchParams.get('publishableKey')).toBe(key);
    expect(first!.requestHeaders.authorization).toBeUndefined();
    await page.run('close');

    // The same visitor comes back (same origin, same localStorage): the provider answers from its
    // cache at once and revalidates in the background with the ETag it stored.
    await page.reload();
    const before = bulkExchanges(page).length;
    expect(await page.run('start', start)).toBe('ready');
    expect(await page.run<Detail[]>('details', want.slice(0, 2))).toEqual([
      { key: 'dark-mode', value: false, variant: 'off', reason: 'CACHED', errorCode: null, flagMetadata: meta('dark-mode') },
      { key: 'checkout', value: 'beta', variant: 'beta', reason: 'CACHED', errorCode: null, flagMetadata: meta('checkout') },
    ]);
    const revalidation = await until('the background revalidation', () => bulkExchanges(page)[before]);
    expect([revalidation.status, revalidation.requestHeaders['if-none-match']]).toEqual([304, first!.responseHeaders.etag]);
  });

  it('lets page code read ETag and the rate-limit headers cross-origin, and its 304', async () => {
    const page = await browser.open(PAGE, { host: 'localhost' });
    const key = (await ofrepCredential(admin, 'web-probe', { format: Format.PUBLISHABLE_KEY, class: Class.PUBLISHABLE, environments: ['production'], scopes: ['flags:read'], rateLimit: { requests: 100, seconds: 60 } })).secret;
    const first = await page.run<{ status: number; etag: string; rateLimitLimit: string; rateLimitRemaining: string; body: string }>('probe', { baseUrl: server.baseUrl, key });
    expect({ ...first, body: undefined }).toEqual({ status: 200, etag: etagOf(first.body), rateLimitLimit: '100', rateLimitRemaining: '99', body: undefined });
    expect(page.origin).toMatch(/^http:\/\/localhost:\d+$/);
    const again = await page.run('probe', { baseUrl: server.baseUrl, key, ifNoneMatch: first.etag });
    expect(again).toEqual({ status: 304, etag: first.etag, rateLimitLimit: '100', rateLimitRemaining: '98', body: '' });
  });

  it('fails provider initialisation for a key used from an origin it does not allow (403), serving defaults', async () => {
    const page = await browser.open(PAGE);
    const key = (await ofrepCredential(admin, 'web-walled', { format: Format.PUBLISHABLE_KEY, class: Class.PUBLISHABLE, scopes: ['flags:read'], allowedOrigins: ['https://shop.example.com'] })).secret;
    expect(await page.run('start', { baseUrl: server.baseUrl, key, keyVia: 'header', context: { targetingKey: 'v' } })).toBe('error: ProviderFatalError: Initialization failed');
    expect(await page.run<Detail[]>('details', QUERIES.slice(0, 1))).toEqual([{ key: 'dark-mode', value: false, variant: null, reason: 'ERROR', errorCode: 'PROVIDER_FATAL', flagMetadata: {} }]);
    expect(bulkExchanges(page).map((e) => e.status)).toEqual([403]);
    expect(page.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
