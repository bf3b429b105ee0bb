import * as http2 from 'node:http2';
import { BOOTSTRAP_CONFIG } from '../../support/clients.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { admins, createReflagFixtures, reflagKey, until, type Admin } from './reflag-fixtures.js';

/** The Reflag routes as raw HTTP: exact bodies, the class and scope rules, refusals, CORS, streams and shutdown. */
describe('Reflag routes over plain HTTP', () => {
  let server: TestServer;
  let admin: Admin;
  let dev: { secret: string; name: string };
  let devPub: { secret: string; name: string };
  let prodPub: { secret: string; name: string };
  const ORIGIN = 'https://app.example.com';

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${server.baseUrl}${path}`, { headers });
  const post = (path: string, headers: Record<string, string>, body: string) =>
    fetch(`${server.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const bearer = (k: { secret: string }) => ({ authorization: `Bearer ${k.secret}` });
  const rateHeaders = (res: Response) => ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'].map((h) => /^\d+$/.test(res.headers.get(h) ?? ''));
  const version = async () => ((await (await get('/reflag/features', bearer(dev))).json()) as { flagStateVersion: number }).flagStateVersion;

  beforeAll(async () => {
    server = await startTestServer({ ...BOOTSTRAP_CONFIG, corsAllowedOrigins: ORIGIN });
    admin = admins(server);
    await createReflagFixtures(admin);
    dev = await reflagKey(admin, 'dev-backend', { environment: 'development', scopes: ['flags:read', 'configs:read', 'logs:write'] });
    devPub = await reflagKey(admin, 'dev-web', { publishable: true, environment: 'development' });
    prodPub = await reflagKey(admin, 'prod-web', { publishable: true, environment: 'production', scopes: ['flags:read'] });
  });
  afterAll(async () => {
    await server.close();
  });

  it('GET /reflag/features: flagStateVersion, the definitions, an ETag, the untranslatable flags named', async () => {
    const res = await get('/reflag/features', { ...bearer(dev), 'reflag-sdk-version': 'node-sdk/1.7.1' });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(res.headers.get('x-latchkey-untranslated-flags')).toBe('email-domain');
    expect(rateHeaders(res)).toEqual([true, true, true]);
    const body = (await res.json()) as { success: boolean; flagStateVersion: number; features: { key: string; targeting: { version: number } }[] };
    expect(body.success).toBe(true);
    expect(Number.isInteger(body.flagStateVersion) && body.flagStateVersion > 0).toBe(true);
    // configs:read: the OBJECT flag is a config with one variant for everyone.
    expect(body.features.map((f) => f.key)).toEqual(['banner', 'limits', 'new-checkout', 'not-cn', 'rollout', 'secret-tool', 'staged', 'theme']);
    const theme = body.features.find((f) => f.key === 'theme')!;
    expect(theme).toEqual({
      key: 'theme',
      description: '',
      targeting: { version: theme.targeting.version, rules: [] },
      config: { version: theme.targeting.version, variants: [{ key: 'navy', payload: { color: 'navy' }, filter: { type: 'constant', value: true } }] },
    });
    // 304 for an unchanged answer. The version is in the body, and other writes (credentials') move
    // the change log on too, so a fresh ETag is taken right before each try.
    const statuses: number[] = [];
    for (let i = 0; i < 5 && !statuses.includes(304); i++) {
      const etag = (await get('/reflag/features', bearer(dev))).headers.get('etag')!;
      statuses.push((await get('/reflag/features', { ...bearer(dev), 'if-none-match': etag })).status);
    }
    expect(statuses).toContain(304);
  });

  it('GET /reflag/features/evaluated with the browser\'s query: every flag the publishable key may see, evaluated by latchkey', async () => {
    const q = new URLSearchParams({ 'context.company.id': 'c-1', 'context.company.plan': 'pro', 'context.user.email': 'kim@acme.com', 'context.user.id': 'u-1', publishableKey: devPub.secret, 'reflag-sdk-version': 'browser-sdk/1.6.1' });
    q.sort();
    const res = await get(`/reflag/features/evaluated?${q}`, { origin: ORIGIN });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(rateHeaders(res)).toEqual([true, true, true]);
    const body = (await res.json()) as { features: Record<string, { targetingVersion: number; config?: { version: number } }>; flagStateVersion: number };
    const v = (k: string) => body.features[k]!.targetingVersion;
    const defs = (await (await get('/reflag/features', bearer(dev))).json()) as { features: { key: string; targeting: { version: number } }[] };
    // The same flag version has the same targeting version on both routes.
    expect(v('new-checkout')).toBe(defs.features.find((f) => f.key === 'new-checkout')!.targeting.version);
    const banner = body.features.banner as unknown as { config: { key: string } };
    expect(body).toEqual({
      success: true,
      remoteContextUsed: false,
      flagStateVersion: expect.any(Number),
      // No secret-tool (secret), theme (no configs:read), gone (archived), mobile-only (another project).
      features: {
        banner: { key: 'banner', isEnabled: true, targetingVersion: v('banner'), ruleEvaluationResults: [true], missingContextFields: [], config: { key: banner.config.key, version: v('banner'), payload: banner.config.key } },
        'email-domain': { key: 'email-domain', isEnabled: true, targetingVersion: v('email-domain'), ruleEvaluationResults: [true], missingContextFields: [] },
        limits: { key: 'limits', isEnabled: false, targetingVersion: v('limits'), ruleEvaluationResults: [false], missingContextFields: ['company.tier', 'user.beta'], config: { key: 'small', version: v('limits'), payload: 10 } },
        'new-checkout': { key: 'new-checkout', isEnabled: true, targetingVersion: v('new-checkout'), ruleEvaluationResults: [true], missingContextFields: [] },
        'not-cn': { key: 'not-cn', isEnabled: true, targetingVersion: v('not-cn'), ruleEvaluationResults: [true], missingContextFields: ['other.region'] },
        rollout: expect.objectContaining({ key: 'rollout' }),
        staged: { key: 'staged', isEnabled: true, targetingVersion: v('staged'), ruleEvaluationResults: expect.any(Array), missingContextFields: [] },
      },
    });
    expect(['blue', 'green']).toContain(banner.config.key);
    // One flag with key=…; a flag the key may not see is simply absent.
    const one = (await (await get(`/reflag/features/evaluated?context.user.id=u-1&key=new-checkout&publishableKey=${devPub.secret}`)).json()) as { features: object };
    expect(Object.keys(one.features)).toEqual(['new-checkout']);
    const hidden = (await (await get(`/reflag/features/evaluated?context.user.id=u-1&key=secret-tool&publishableKey=${devPub.secret}`)).json()) as { features: object };
    expect(hidden.features).toEqual({});
  });

  it('each environment\'s key is answered by its own rules', async () => {
    const evaluate = async (key: string, plan: string) =>
      ((await (await get(`/reflag/features/evaluated?context.company.plan=${plan}&key=new-checkout&publishableKey=${key}`)).json()) as { features: Record<string, { isEnabled: boolean }> }).features['new-checkout']!.isEnabled;
    expect([await evaluate(devPub.secret, 'pro'), await evaluate(devPub.secret, 'enterprise'), await evaluate(prodPub.secret, 'pro'), await evaluate(prodPub.secret, 'enterprise')]).toEqual([true, true, false, true]);
  });

  it('a publishable key never reads definitions (nor the server stream); a secret key never travels in a URL', async () => {
    for (const res of [await get('/reflag/features', bearer(devPub)), await get(`/reflag/features?publishableKey=${devPub.secret}`), await get(`/reflag/sse/server?publishableKey=${devPub.secret}`)]) {
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ code: 'PERMISSION_DENIED', reason: 'CLASS_NOT_ALLOWED', message: `GET /reflag/${res.url.includes('sse') ? 'sse/server' : 'features'} needs a SECRET credential; ${devPub.name} is PUBLISHABLE` });
    }
    const leaked = await get(`/reflag/features/evaluated?publishableKey=${dev.secret}`);
    expect(leaked.status).toBe(401);
    expect(((await leaked.json()) as { reason: string }).reason).toBe('CREDENTIAL_MALFORMED');
    const none = await get('/reflag/features/evaluated?context.user.id=u-1');
    expect([none.status, ((await none.json()) as { reason: string }).reason]).toEqual([401, 'CREDENTIAL_MISSING']);
    const bad = await get('/reflag/features?waitForVersion=soon', bearer(dev));
    expect([bad.status, ((await bad.json()) as { message: string }).message]).toEqual([400, 'waitForVersion must be a flag state version (a non-negative integer); got "soon"']);
  });

  it('waitForVersion: answered at once with a version the replica has, and with the current one for a version nobody committed', async () => {
    const current = await version();
    const at = (await (await get(`/reflag/features?waitForVersion=${current}`, bearer(dev))).json()) as { flagStateVersion: number };
    expect(at.flagStateVersion).toBeGreaterThanOrEqual(current);
    // (Other writes, credentials' for instance, also move the change log on between two requests.)
    const ahead = (await (await get(`/reflag/features/evaluated?waitForVersion=${current + 1000}&publishableKey=${devPub.secret}`)).json()) as { flagStateVersion: number; success: boolean };
    expect(ahead.success).toBe(true);
    expect(ahead.flagStateVersion).toBeGreaterThanOrEqual(current);
    expect(ahead.flagStateVersion).toBeLessThan(current + 1000);
  });

  it('flagStateVersion moves with flag changes only: a credential or client written in between sends no SDK refetching', async () => {
    const before = await version();
    await admin.creds.createClient({ clientId: 'version-probe' });
    await reflagKey(admin, 'version-probe-key');
    // The catalog follows the change log every 500 ms: past that, it has read both writes.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(await version()).toBe(before);
    await admin.flags.updateFlag({ flag: { name: 'flags/banner', description: 'a flag change' }, updateMask: { paths: ['description'] } });
    expect(await version()).toBeGreaterThan(before);
  });

  it('POSTs the browser SDK sends: preflighted, recorded as SDK events, opt-in refused', async () => {
    const preflight = await fetch(`${server.baseUrl}/reflag/bulk`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,reflag-sdk-version' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(preflight.headers.get('access-control-allow-headers')!.toLowerCase().split(', ')).toEqual(expect.arrayContaining(['authorization', 'content-type', 'reflag-sdk-version']));
    const headers = { ...bearer(devPub), origin: ORIGIN, 'reflag-sdk-version': 'browser-sdk/1.6.1' };
    const bulk = await post('/reflag/bulk', headers, JSON.stringify([{ type: 'user', userId: 'u-1', attributes: { name: 'Kim' } }, { type: 'company', companyId: 'c-1', userId: 'u-1' }]));
    expect([bulk.status, await bulk.json(), bulk.headers.get('access-control-allow-origin')]).toEqual([200, { success: true }, ORIGIN]);
    for (const [path, body] of [
      ['/reflag/event', { userId: 'u-1', event: 'clicked', companyId: 'c-1' }],
      ['/reflag/features/events', { action: 'check', key: 'new-checkout', targetingVersion: 1, evalContext: {}, evalResult: true }],
      ['/reflag/feedback', { userId: 'u-1', key: 'new-checkout', score: 5, source: 'sdk' }],
    ] as const) {
      const res = await post(path, headers, JSON.stringify(body));
      expect([path, res.status, await res.json()]).toEqual([path, 200, { success: true }]);
    }
    const listed = await admin.events.listEvents({ filterCredential: devPub.name, pageSize: 100 });
    expect(listed.events.map((e) => [e.message, e.sdk])).toEqual([
      ['reflag user u-1', 'browser-sdk/1.6.1'],
      ['reflag company c-1', 'browser-sdk/1.6.1'],
      ['reflag event clicked', 'browser-sdk/1.6.1'],
      ['reflag feature-flag-event check new-checkout', 'browser-sdk/1.6.1'],
      ['reflag feedback new-checkout', 'browser-sdk/1.6.1'],
    ]);
    expect(listed.events[3]!.attributes).toEqual({ type: 'feature-flag-event', action: 'check', key: 'new-checkout', targetingVersion: 1, evalContext: {}, evalResult: true });

    const optIn = await post('/reflag/flags/opt-in', headers, JSON.stringify({ key: 'new-checkout', optedIn: true, scope: 'user', context: { user: { id: 'u-1' } } }));
    expect([optIn.status, await optIn.json()]).toEqual([
      501,
      {
        code: 'FAILED_PRECONDITION',
        reason: 'OPT_IN_NOT_SUPPORTED',
        message: 'latchkey has no per-user or per-company opt-in: a flag is decided by its rules. Add a rule for these users or companies with FlagAdminService.UpdateFlag instead',
      },
    ]);
    const init = await post('/reflag/feedback/prompting-init', headers, JSON.stringify({ userId: 'u-1' }));
    expect([init.status, await init.json()]).toEqual([200, { success: true }]);
  });

  it('reports need logs:write, and a batch with a bad record is refused whole', async () => {
    const noLogs = await post('/reflag/bulk', bearer(prodPub), '[]');
    expect([noLogs.status, ((await noLogs.json()) as { reason: string }).reason]).toEqual([403, 'SCOPE_MISSING']);
    const before = (await admin.events.listEvents({ filterCredential: dev.name, pageSize: 100 })).events.length;
    const bad = await post('/reflag/bulk', bearer(dev), JSON.stringify([{ type: 'user', userId: 'u-1' }, 'nope']));
    expect([bad.status, await bad.json()]).toEqual([400, { code: 'INVALID_ARGUMENT', reason: 'INVALID_ARGUMENT', message: 'record [1] is not a JSON object; nothing was stored' }]);
    const huge = await post('/reflag/bulk', bearer(dev), JSON.stringify([{ type: 'user', userId: 'u-1', attributes: { blob: 'x'.repeat(20_000) } }]));
    expect(huge.status).toBe(400);
    expect(((await huge.json()) as { message: string }).message).toMatch(/^the batch was refused and nothing was stored \(1 problem\): events\[0\]\.attributes: must be at most 16384 bytes as JSON/);
    const notJson = await post('/reflag/event', bearer(dev), '{');
    expect(notJson.status).toBe(400);
    expect((await admin.events.listEvents({ filterCredential: dev.name, pageSize: 100 })).events.length).toBe(before);
  });

  it('sse/client: the browser\'s EventSource (publishable key in the query) gets the version now and a push for a change it may see', async () => {
    const controller = new AbortController();
    const res = await fetch(`${server.baseUrl}/reflag/sse/client?publishableKey=${devPub.secret}&context=${encodeURIComponent('{"user":{"id":"u-1"}}')}`, { headers: { origin: ORIGIN, accept: 'text/event-stream' }, signal: controller.signal });
    expect([res.status, res.headers.get('content-type'), res.headers.get('access-control-allow-origin')]).toEqual([200, 'text/event-stream; charset=utf-8', ORIGIN]);
    const reader = res.body!.getReader();
    let text = '';
    const read = async (what: RegExp) =>
      until(`the stream to carry ${what}`, async () => {
        const { value } = await reader.read();
        text += new TextDecoder().decode(value);
        return what.test(text);
      });
    await read(/^retry: 10000\n\ndata: \{"name":"flags-updated","data":\{"flagStateVersion":\d+\}\}\n\n/);
    const versions = () => [...text.matchAll(/^data: (.*)$/gm)].map((m) => (JSON.parse(m[1]!) as { name: string; data: { flagStateVersion: number } }).data.flagStateVersion);
    expect(versions()[0]).toBeLessThanOrEqual(await version());
    // A secret flag changes: nothing for a publishable key. Then a flag it sees: a push.
    // (Admin writes refresh this replica's catalog before they answer.)
    await admin.flags.updateFlag({ flag: { name: 'flags/secret-tool', description: 'hidden change' }, updateMask: { paths: ['description'] } });
    const afterSecret = await version();
    await admin.flags.updateFlag({ flag: { name: 'flags/banner', description: 'visible change' }, updateMask: { paths: ['description'] } });
    await read(/^retry: 10000\n\n(data: .*\n\n){2}/);
    // Had the secret flag's change been pushed, the second message would carry a version up to afterSecret.
    expect(versions()[1]).toBeGreaterThan(afterSecret);
    expect(versions()[1]).toBeLessThanOrEqual(await version());
    controller.abort();
  });

  it('sse/server over HTTP/2 as well', async () => {
    const session = http2.connect(server.baseUrl);
    try {
      const stream = session.request({ ':path': '/reflag/sse/server', authorization: `Bearer ${dev.secret}`, accept: 'text/event-stream' });
      let text = '';
      stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      const [headers] = (await new Promise((resolve) => stream.once('response', (h) => resolve([h])))) as [http2.IncomingHttpHeaders];
      expect([headers[':status'], headers['content-type']]).toEqual([200, 'text/event-stream; charset=utf-8']);
      await until('the first message', () => text.includes('"name":"flags-updated"'));
      stream.close();
    } finally {
      session.destroy();
    }
  });
});

describe('Reflag streams and shutdown', () => {
  it('open streams end when the server shuts down, so they never hold the drain', async () => {
    // A long shutdown timeout: if the streams were left to the drain, close() would take 30 s.
    const server = await startTestServer({ ...BOOTSTRAP_CONFIG, shutdownTimeoutMs: '30000' });
    const admin = admins(server);
    await admin.creds.createClient({ clientId: 'app' });
    const key = await reflagKey(admin, 'k');
    const pub = await reflagKey(admin, 'p', { publishable: true });
    const streams = await Promise.all([
      fetch(`${server.baseUrl}/reflag/sse/server`, { headers: { authorization: `Bearer ${key.secret}` } }),
      fetch(`${server.baseUrl}/reflag/sse/client?publishableKey=${pub.secret}`),
    ]);
    const ended = streams.map(async (res) => {
      const reader = res.body!.getReader();
      for (;;) if ((await reader.read()).done) return 'ended';
    });
    let timer: NodeJS.Timeout | undefined;
    const slow = new Promise((resolve) => (timer = setTimeout(() => resolve('close() still waiting after 10 s'), 10_000)));
    const closed = server.close().then(() => 'closed');
    try {
      expect(await Promise.race([closed, slow])).toBe('closed');
      expect(await Promise.all(ended)).toEqual(['ended', 'ended']);
    } finally {
      clearTimeout(timer);
    }
  });
});
