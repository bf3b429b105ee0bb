import { launchBrowser, type BrowserHarness, type TestPage } from '../../support/browser.js';
import type { FlagState } from '../../support/browser-pages/reflag-browser.js';
import { BOOTSTRAP_CONFIG } from '../../support/clients.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { Op, admins, cond, createReflagFixtures, everyone, reflagKey, until, type Admin } from './reflag-fixtures.js';

/**
 * A web app using @reflag/browser-sdk 1.6.1, unchanged, in headless Chromium on its own origin,
 * with a publishable key limited to that origin: evaluated flags (a simple CORS GET with the key
 * in the query), preflighted POSTs, and a live update over the SDK's EventSource (sse/client).
 */
const PAGE = 'test/support/browser-pages/reflag-browser.ts';
const MISSING_FIELDS_WARNING = [
  'warn [Flags] flag targeting rules might not be correctly evaluated due to missing context fields. {"limits":["company.tier","user.beta"],"not-cn":["other.region"]}',
];

describe('@reflag/browser-sdk in Chromium against /reflag', () => {
  let server: TestServer;
  let admin: Admin;
  let browser: BrowserHarness;
  let page: TestPage;
  let key: { secret: string; name: string };

  const requestLines = () =>
    server.logs.lines
      .map((l) => JSON.parse(l) as { msg?: string; method?: string; procedure?: string; status?: number })
      .filter((o) => o.msg === 'request')
      .map((o) => `${o.method} ${o.procedure} ${o.status}`);

  beforeAll(async () => {
    server = await startTestServer(BOOTSTRAP_CONFIG);
    admin = admins(server);
    await createReflagFixtures(admin);
    browser = await launchBrowser();
    page = await browser.open(PAGE);
    key = await reflagKey(admin, 'web', { publishable: true, environment: 'development', allowedOrigins: [page.origin] });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('evaluated flags for the page\'s context, then a live update pushed over sse/client', async () => {
    expect(key.secret).toMatch(/^pub_development_/);
    const context = { user: { id: 'u-1', email: 'kim@acme.com' }, company: { id: 'c-1', plan: 'pro' } };
    expect(await page.run('start', { apiBaseUrl: `${server.baseUrl}/reflag`, publishableKey: key.secret, ...context })).toBe('initialized');
    const flags = await page.run<Record<string, FlagState>>('flags');
    // latchkey's own answer for the same context (the SDK flattens it into context.* parameters).
    const oracle = (await (
      await fetch(`${server.baseUrl}/reflag/features/evaluated?context.user.id=u-1&context.user.email=kim%40acme.com&context.company.id=c-1&context.company.plan=pro&publishableKey=${key.secret}`, { headers: { origin: page.origin } })
    ).json()) as { features: Record<string, { isEnabled: boolean; config?: { key: string; payload: unknown } }> };
    const banner = oracle.features.banner!.config!.key;
    expect(flags).toEqual({
      banner: { isEnabled: true, config: { key: banner, payload: banner } },
      'email-domain': { isEnabled: true, config: { key: undefined, payload: undefined } }, // ENDS_WITH: latchkey evaluates it
      limits: { isEnabled: false, config: { key: 'small', payload: 10 } },
      'new-checkout': { isEnabled: true, config: { key: undefined, payload: undefined } },
      'not-cn': { isEnabled: true, config: { key: undefined, payload: undefined } },
      rollout: { isEnabled: oracle.features.rollout!.isEnabled, config: { key: undefined, payload: undefined } },
      staged: { isEnabled: true, config: { key: undefined, payload: undefined } },
    });

    // What the browser sent: a GET with the context as sorted context.* parameters, the key in the query, no custom headers.
    const gets = page.exchanges.filter((e) => e.method === 'GET' && new URL(e.url).pathname === '/reflag/features/evaluated');
    expect(gets.length).toBe(1);
    const url = new URL(gets[0]!.url);
    expect([...url.searchParams.keys()]).toEqual(['context.company.id', 'context.company.plan', 'context.user.email', 'context.user.id', 'publishableKey', 'reflag-sdk-version']);
    expect(url.searchParams.get('publishableKey')).toBe(key.secret);
    expect(gets[0]!.requestHeaders.authorization).toBeUndefined();
    expect(gets[0]!.responseHeaders['access-control-allow-origin']).toBe(page.origin);
    const sse = await until('the EventSource to connect', () => page.exchanges.find((e) => new URL(e.url).pathname === '/reflag/sse/client'));
    expect([sse.status, sse.responseHeaders['content-type'], new URL(sse.url).searchParams.get('publishableKey'), JSON.parse(new URL(sse.url).searchParams.get('context')!)]).toEqual([
      200,
      'text/event-stream; charset=utf-8',
      key.secret,
      context,
    ]);

    // The key's development rule stops covering `pro`: the SDK hears of it and fetches again.
    const updatesBefore = await page.run<number>('updateCount');
    await admin.flags.updateFlag({
      flag: {
        name: 'flags/new-checkout',
        rules: [{ name: 'dev-enterprise', enabled: true, environments: ['development'], conditions: [cond('company.plan', Op.IN, 'enterprise')], allocations: everyone('on') }],
      },
      updateMask: { paths: ['rules'] },
    });
    await until('the page to see the update', async () => !(await page.run<Record<string, FlagState>>('flags'))['new-checkout']!.isEnabled, 15_000);
    expect(await page.run<number>('updateCount')).toBeGreaterThan(updatesBefore);
    const refetch = page.exchanges.filter((e) => e.method === 'GET' && new URL(e.url).pathname === '/reflag/features/evaluated' && new URL(e.url).searchParams.has('waitForVersion'));
    expect(refetch.length).toBeGreaterThanOrEqual(1);
    // Its one warning is the SDK's own, on the fields the flags' rules read and the context lacks.
    expect(await page.run('logged')).toEqual(MISSING_FIELDS_WARNING);
  });

  it('tracks, feedback and the bulk queue: preflighted POSTs with the key in Authorization, recorded', async () => {
    expect(await page.run('track', 'checkout-started')).toBe(200);
    expect(await page.run('feedback', 'new-checkout')).toBe(200);
    await page.run('stop'); // flushes the bulk queue (user and company)
    await until('the bulk POST', () => page.exchanges.some((e) => e.method === 'POST' && new URL(e.url).pathname === '/reflag/bulk'));
    const posts = page.exchanges.filter((e) => e.method === 'POST');
    expect(posts.map((e) => new URL(e.url).pathname).sort()).toEqual(expect.arrayContaining(['/reflag/bulk', '/reflag/event', '/reflag/feedback']));
    for (const p of posts) {
      expect([p.status, p.requestHeaders.authorization, p.requestHeaders['reflag-sdk-version']]).toEqual([200, `Bearer ${key.secret}`, 'browser-sdk/1.6.1']);
    }
    // Each POST was preflighted (JSON body, Authorization and reflag-sdk-version headers).
    expect(requestLines().filter((l) => l.startsWith('OPTIONS /reflag/') && l.endsWith(' 204')).length).toBeGreaterThanOrEqual(3);
    const listed = await admin.events.listEvents({ filterCredential: key.name, pageSize: 100 });
    expect(listed.events.map((e) => e.message)).toEqual(expect.arrayContaining(['reflag event checkout-started', 'reflag feedback new-checkout', 'reflag user u-1', 'reflag company c-1']));
    expect(await page.run('logged')).toEqual(MISSING_FIELDS_WARNING);
  });
});
