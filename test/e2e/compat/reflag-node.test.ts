import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReflagClient, type HttpClient, type Logger } from '@reflag/node-sdk';
import { BOOTSTRAP_CONFIG } from '../../support/clients.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { Op, admins, cond, createReflagFixtures, everyone, reflagKey, resolveOverConnect, until, type Admin } from './reflag-fixtures.js';

/**
 * @reflag/node-sdk 1.7.1, as published, against latchkey's /reflag routes with issued `sec_` keys:
 * in polling mode and in push mode (flagsPushUrl = /reflag/sse/server). Local answers below are
 * computed by the SDK itself from the definitions (@reflag/flag-evaluation); remote ones by latchkey.
 */
describe('@reflag/node-sdk against /reflag', () => {
  let server: TestServer;
  let admin: Admin;
  let dev: string;
  let prod: string;
  let devName: string;
  const clients: ReflagClient[] = [];

  /** A logger that keeps what the SDK warns about, so a test can require that it is silent. */
  const logger = () => {
    const problems: string[] = [];
    const log: Logger & { problems: string[] } = {
      problems,
      debug: () => undefined,
      info: () => undefined,
      warn: (...args: unknown[]) => void problems.push(`warn ${args.map(String).join(' ')}`),
      error: (...args: unknown[]) => void problems.push(`error ${args.map(String).join(' ')}`),
    };
    return log;
  };
  /** An HTTP client that records every URL the SDK asks for (the SDK's own fetch does the work). */
  const recordingHttpClient = (urls: string[]): HttpClient => {
    const call = async (method: 'get' | 'post', url: string, headers: Record<string, string>, body?: unknown) => {
      urls.push(`${method.toUpperCase()} ${url.slice(server.baseUrl.length)}`);
      const res = await fetch(url, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }) });
      return { ok: res.ok, status: res.status, body: (await res.json()) as never };
    };
    return { get: (url, headers) => call('get', url, headers), post: (url, headers, body) => call('post', url, headers, body) } as HttpClient;
  };
  async function start(secretKey: string, extra: Partial<ConstructorParameters<typeof ReflagClient>[0]> = {}) {
    const log = logger();
    const client = new ReflagClient({
      secretKey,
      apiBaseUrl: `${server.baseUrl}/reflag`,
      offline: false, // Jest sets NODE_ENV=test, which the SDK takes for offline
      flagsSyncMode: 'polling',
      batchOptions: { flushOnExit: false },
      logger: log,
      ...extra,
    });
    clients.push(client);
    await client.initialize();
    return { client, log };
  }
  const quiet = { enableTracking: false } as const;

  beforeAll(async () => {
    server = await startTestServer(BOOTSTRAP_CONFIG);
    admin = admins(server);
    await createReflagFixtures(admin);
    ({ secret: dev, name: devName } = await reflagKey(admin, 'dev-backend', { environment: 'development' }));
    ({ secret: prod } = await reflagKey(admin, 'prod-backend', { environment: 'production' }));
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await server.close();
  });

  it('polling mode: definitions of the key\'s environment, in Reflag\'s filter model, evaluated by the SDK', async () => {
    expect(dev).toMatch(/^sec_development_/);
    const { client, log } = await start(dev);
    const defs = client.getFlagDefinitions();
    // Not email-domain (untranslatable), theme (no configs:read), gone (archived), mobile-only (another project).
    expect(defs.map((d) => d.key)).toEqual(['banner', 'limits', 'new-checkout', 'not-cn', 'rollout', 'secret-tool', 'staged']);
    expect(defs.find((d) => d.key === 'new-checkout')).toEqual({
      key: 'new-checkout',
      description: 'The new checkout',
      flag: { version: expect.any(Number), rules: [{ filter: { type: 'context', field: 'company.plan', operator: 'ANY_OF', values: ['pro', 'enterprise'] } }] },
      config: undefined,
    });
    const enabled = (company: Record<string, string | number>) => client.getFlag({ ...quiet, user: { id: 'u-1' }, company: { id: 'c-1', ...company } }, 'new-checkout').isEnabled;
    expect([enabled({ plan: 'pro' }), enabled({ plan: 'enterprise' }), enabled({ plan: 'free' }), enabled({})]).toEqual([true, true, false, false]);
    // Numbers and booleans in the context are compared as latchkey compares them.
    const limits = (company: object, user: object) => client.getFlag({ ...quiet, user: { id: 'u-1', ...user }, company: { id: 'c-1', ...company } }, 'limits');
    expect([limits({ tier: 3 }, { beta: true }).config, limits({ tier: 3 }, { beta: false }).config, limits({ tier: 4 }, { beta: true }).config, limits({ tier: '3.0' }, { beta: true }).config]).toEqual([
      { key: 'big', payload: 100 },
      { key: 'small', payload: 10 },
      { key: 'small', payload: 10 },
      { key: 'small', payload: 10 },
    ]);
    expect([limits({ tier: 3 }, { beta: true }).isEnabled, limits({}, {}).isEnabled]).toEqual([true, false]);
    // NOT_IN holds when the field is missing, as in latchkey.
    const notCn = (other: object | undefined) => client.getFlag({ ...quiet, user: { id: 'u-1' }, ...(other && { other }) }, 'not-cn').isEnabled;
    expect([notCn({ region: 'cn' }), notCn({ region: 'us' }), notCn(undefined)]).toEqual([false, true, true]);
    // A rule that splits by user.id stops the flag when there is none (latchkey's TARGETING_KEY_ERROR), although a later rule would hold.
    expect([client.getFlag({ ...quiet, company: { id: 'c-1' } }, 'staged').isEnabled, client.getFlag({ ...quiet, user: { id: 'u-1' } }, 'staged').isEnabled]).toEqual([false, true]);
    expect(client.getFlag({ ...quiet, user: { id: 'u-1' } }, 'secret-tool').isEnabled).toBe(true);
    expect(log.problems).toEqual([]);
  });

  it('each environment\'s key sees only its own rules', async () => {
    const { client } = await start(prod);
    const def = client.getFlagDefinitions().find((d) => d.key === 'new-checkout')!;
    expect(def.flag.rules).toEqual([{ filter: { type: 'context', field: 'company.plan', operator: 'IS', values: ['enterprise'] } }]);
    const enabled = (plan: string) => client.getFlag({ ...quiet, company: { id: 'c-1', plan } }, 'new-checkout').isEnabled;
    expect([enabled('enterprise'), enabled('pro')]).toEqual([true, false]);
  });

  it('a percentage rollout takes its share of 10 000 users (within 2 points), per environment; a 50/50 config splits evenly', async () => {
    const share = (client: ReflagClient, f: (c: ReflagClient, id: string) => boolean) => {
      let hits = 0;
      for (let i = 0; i < 10_000; i++) if (f(client, `user-${i}`)) hits++;
      return hits / 10_000;
    };
    const rollout = (c: ReflagClient, id: string) => c.getFlag({ ...quiet, user: { id } }, 'rollout').isEnabled;
    const devClient = (await start(dev)).client;
    const prodClient = (await start(prod)).client;
    const dev30 = share(devClient, rollout);
    const prod70 = share(prodClient, rollout);
    expect(Math.abs(dev30 - 0.3)).toBeLessThanOrEqual(0.02);
    expect(Math.abs(prod70 - 0.7)).toBeLessThanOrEqual(0.02);
    const blue = share(devClient, (c, id) => c.getFlag({ ...quiet, user: { id } }, 'banner').config.key === 'blue');
    const green = share(devClient, (c, id) => c.getFlag({ ...quiet, user: { id } }, 'banner').config.key === 'green');
    expect(Math.abs(blue - 0.5)).toBeLessThanOrEqual(0.02);
    expect(blue + green).toBe(1);
    // Sticky: the same user gets the same answer every time.
    const first = Array.from({ length: 50 }, (_, i) => rollout(devClient, `user-${i}`));
    expect(Array.from({ length: 50 }, (_, i) => rollout(devClient, `user-${i}`))).toEqual(first);
  });

  it('remote evaluation (features/evaluated) is latchkey\'s own resolution, untranslatable flags included', async () => {
    const { client, log } = await start(dev);
    const remote = await client.getFlagsRemote('u-7', 'c-1', { user: { id: 'u-7', email: 'kim@acme.com' }, company: { id: 'c-1', plan: 'pro', tier: 3 } });
    const summary = Object.fromEntries(Object.entries(remote).map(([k, f]) => [k, [f.isEnabled, f.config.key ?? null]]));
    // Only the flag ids are context here: getFlagsRemote(userId, companyId, ...) sends { user: { id }, company: { id } }.
    const oracle = await resolveOverConnect(server, dev, { targeting_key: 'u-7', user: { id: 'u-7' }, company: { id: 'c-1' } });
    expect(summary).toEqual({
      banner: [true, oracle.banner![0]],
      'email-domain': [false, null],
      limits: [false, 'small'],
      'new-checkout': [false, null],
      'not-cn': [true, null],
      rollout: [oracle.rollout![1] === true, null],
      'secret-tool': [true, null],
      staged: [true, null],
    });
    const bound = client.bindClient({ ...quiet, user: { id: 'u-8', email: 'kim@acme.com' }, company: { id: 'c-2', plan: 'pro', tier: 3 }, other: { region: 'cn' } });
    const flags = await bound.getFlagsRemote();
    expect(Object.fromEntries(Object.entries(flags).map(([k, f]) => [k, [f.isEnabled, f.config.key ?? null]]))).toMatchObject({
      'email-domain': [true, null], // ENDS_WITH: evaluated by latchkey only
      'new-checkout': [true, null],
      'not-cn': [false, null],
      limits: [false, 'small'], // user.beta missing
    });
    expect((await bound.getFlagRemote('email-domain')).isEnabled).toBe(true);
    expect((await client.getFlagRemote('email-domain', 'u-9', undefined, { user: { id: 'u-9', email: 'kim@other.org' } })).isEnabled).toBe(false);
    // Translatable flags: the SDK's local answer and latchkey's remote answer agree.
    for (const context of [
      { user: { id: 'u-1', beta: true }, company: { id: 'c-1', plan: 'enterprise', tier: 3 } },
      { user: { id: 'u-2' }, company: { id: 'c-2', plan: 'free', tier: 4 }, other: { region: 'cn' } },
      { company: { id: 'c-3', plan: 'pro' } },
    ]) {
      const b = client.bindClient({ ...quiet, ...context });
      const remoteFlags = await b.getFlagsRemote();
      const localFlags = b.getFlags();
      for (const key of ['new-checkout', 'limits', 'not-cn', 'secret-tool', 'staged']) {
        expect({ key, context, remote: [remoteFlags[key]!.isEnabled, remoteFlags[key]!.config] }).toEqual({ key, context, remote: [localFlags[key]!.isEnabled, localFlags[key]!.config] });
      }
    }
    expect(log.problems).toEqual([]);
  });

  it('push mode: a flags-updated push after UpdateFlag, then the definitions of that version', async () => {
    const urls: string[] = [];
    const { client, log } = await start(dev, { flagsSyncMode: 'push', flagsPushUrl: `${server.baseUrl}/reflag/sse/server`, httpClient: recordingHttpClient(urls) });
    const enabled = () => client.getFlag({ ...quiet, company: { id: 'c-1', plan: 'free' } }, 'new-checkout').isEnabled;
    expect(enabled()).toBe(false);
    const before = (await (await fetch(`${server.baseUrl}/reflag/features`, { headers: { authorization: `Bearer ${dev}` } })).json()) as { flagStateVersion: number };
    await admin.flags.updateFlag({
      flag: {
        name: 'flags/new-checkout',
        rules: [
          { name: 'dev-all-plans', enabled: true, environments: ['development'], conditions: [cond('company.plan', Op.IN, 'pro', 'enterprise', 'free')], allocations: everyone('on') },
          { name: 'prod-enterprise', enabled: true, environments: ['production'], conditions: [cond('company.plan', Op.EQUALS, 'enterprise')], allocations: everyone('on') },
        ],
      },
      updateMask: { paths: ['rules'] },
    });
    await until('the SDK to apply the pushed update', () => enabled());
    const waited = urls.filter((u) => u.startsWith('GET /reflag/features?waitForVersion='));
    expect(waited.length).toBeGreaterThanOrEqual(1);
    expect(Number(waited[waited.length - 1]!.split('=')[1])).toBeGreaterThan(before.flagStateVersion);
    // No polling in push mode: the initial fetch, then only fetches a push asked for.
    expect(urls.filter((u) => u.startsWith('GET ')).every((u) => u === 'GET /reflag/features' || u.startsWith('GET /reflag/features?waitForVersion='))).toBe(true);
    expect(log.problems).toEqual([]);
  });

  it('what the SDK tracks is recorded as SDK events of the credential', async () => {
    const { client } = await start(dev);
    const bound = client.bindClient({ user: { id: 'u-42', name: 'Kim' }, company: { id: 'c-42', plan: 'pro' } });
    expect(bound.getFlag('new-checkout').isEnabled).toBe(true); // sends a `check` event
    await bound.track('checkout-started', { attributes: { cart: 3 } });
    await client.flush();
    const listed = await admin.events.listEvents({ filterCredential: devName, pageSize: 100 });
    const messages = listed.events.map((e) => e.message).sort();
    expect(messages).toEqual(
      expect.arrayContaining(['reflag company c-42', 'reflag event checkout-started', 'reflag feature-flag-event check new-checkout', 'reflag user u-42']),
    );
    const event = listed.events.find((e) => e.message === 'reflag event checkout-started')!;
    expect(event.attributes).toEqual({ type: 'event', event: 'checkout-started', userId: 'u-42', companyId: 'c-42', attributes: { cart: 3 } });
    expect(event.sdk).toBe('node-sdk/1.7.1');
  });
});

describe('flagStateVersion across restarts', () => {
  it('never decreases when the server restarts on the same database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-reflag-'));
    const databaseUrl = join(dir, 'latchkey.db');
    try {
      let server = await startTestServer({ ...BOOTSTRAP_CONFIG, databaseUrl });
      const admin = admins(server);
      await createReflagFixtures(admin);
      const key = (await reflagKey(admin, 'k')).secret;
      const version = async () => ((await (await fetch(`${server.baseUrl}/reflag/features`, { headers: { authorization: `Bearer ${key}` } })).json()) as { flagStateVersion: number }).flagStateVersion;
      const v1 = await version();
      await admin.flags.updateFlag({ flag: { name: 'flags/rollout', description: 'changed' }, updateMask: { paths: ['description'] } });
      const v2 = await version();
      expect(v2).toBeGreaterThan(v1);
      await server.close();
      server = await startTestServer({ ...BOOTSTRAP_CONFIG, databaseUrl });
      try {
        expect(await version()).toBeGreaterThanOrEqual(v2);
      } finally {
        await server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
