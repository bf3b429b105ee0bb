import { createHash } from 'node:crypto';
import { fromJson } from '@bufbuild/protobuf';
import { ValueSchema } from '@bufbuild/protobuf/wkt';
import { request } from 'node:http';
import { AuditService } from '../../../gen/latchkey/audit/v1/audit_service_pb.js';
import { AuditEvent_Kind } from '../../../gen/latchkey/audit/v1/audit_event_pb.js';
import { Flag_Kind as Kind } from '../../../gen/latchkey/flags/admin/v1/flag_pb.js';
import { recordChange } from '../../../src/store/change-log.js';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, basic, connectClient } from '../../support/clients.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { admins, Class, createOfrepFixtures, Format, ofrepCredential, resolveOverConnect, type Admin } from './ofrep-fixtures.js';

/**
 * OFREP on the wire, byte for byte: every success shape and reason, every error shape with its
 * exact status, body and headers, the bulk route's ETag and 304, CORS, and the credential
 * pipeline's refusals (SPEC §3 statuses with latchkey's JSON body).
 */
describe('OFREP over plain HTTP', () => {
  let server: TestServer;
  let admin: Admin;
  let prod: string;
  let dev: string;

  interface Answer {
    status: number;
    headers: Record<string, string>;
    text: string;
    body: unknown;
  }

  const post = async (path: string, headers: Record<string, string>, body: string | undefined = '{}'): Promise<Answer> => {
    const res = await fetch(`${server.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = text;
    }
    const answered: Record<string, string> = {};
    res.headers.forEach((value, name) => (answered[name] = value));
    return { status: res.status, headers: answered, text, body: parsed };
  };
  const flag = (secret: string, key: string, context?: Record<string, unknown>) =>
    post(`/ofrep/v1/evaluate/flags/${key}`, { authorization: `Bearer ${secret}` }, JSON.stringify(context === undefined ? {} : { context }));
  const bulk = (secret: string, context?: Record<string, unknown>, headers: Record<string, string> = {}) =>
    post('/ofrep/v1/evaluate/flags', { authorization: `Bearer ${secret}`, ...headers }, JSON.stringify(context === undefined ? {} : { context }));
  const etagOf = (body: string) => `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  const meta = (id: string, description?: string) => ({ name: `flags/${id}`, project: 'projects/default', ...(description ? { description } : {}) });
  const DARK = 'Dark mode for the storefront';

  beforeAll(async () => {
    server = await startTestServer(BOOTSTRAP_CONFIG);
    admin = admins(server);
    await createOfrepFixtures(admin);
    prod = (await ofrepCredential(admin, 'http-prod', { environments: ['production'] })).secret;
    dev = (await ofrepCredential(admin, 'http-dev', { environments: ['development'], scopes: ['flags:read'] })).secret;
  });
  afterAll(async () => {
    await server.close();
  });

  describe('POST /ofrep/v1/evaluate/flags/{key}', () => {
    it('answers {key, value, variant, reason, metadata} as JSON with the rate-limit headers', async () => {
      const before = Math.floor(Date.now() / 1000);
      const res = await flag(prod, 'dark-mode', { targetingKey: 'user-1' });
      expect([res.status, res.body]).toEqual([200, { key: 'dark-mode', value: true, variant: 'on', reason: 'TARGETING_MATCH', metadata: meta('dark-mode', DARK) }]);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['x-ratelimit-limit']).toBe('6000');
      expect(res.headers['x-ratelimit-remaining']).toBe('5999');
      const after = Math.ceil(Date.now() / 1000);
      // The window (60 s) runs from this credential's first request: it resets within a minute of now.
      const reset = Number(res.headers['x-ratelimit-reset']);
      expect(reset).toBeGreaterThanOrEqual(before + 59);
      expect(reset).toBeLessThanOrEqual(after + 61);
      expect(res.headers['retry-after']).toBeUndefined();
      expect((await flag(prod, 'dark-mode')).headers['x-ratelimit-remaining']).toBe('5998');
    });

    it('maps every latchkey reason to its OFREP reason', async () => {
      const cases: [string, string, Record<string, unknown> | undefined, number, unknown][] = [
        // A rule that gives everyone of its environment one variant: TARGETING_MATCH.
        [prod, 'checkout', undefined, 200, { key: 'checkout', value: 'fast', variant: 'fast', reason: 'TARGETING_MATCH', metadata: meta('checkout') }],
        [dev, 'checkout', undefined, 200, { key: 'checkout', value: 'beta', variant: 'beta', reason: 'TARGETING_MATCH', metadata: meta('checkout') }],
        // No rule of the flag applies to development: the default is all it can be (STATIC).
        [dev, 'dark-mode', { targetingKey: 'u' }, 200, { key: 'dark-mode', value: false, variant: 'off', reason: 'STATIC', metadata: meta('dark-mode', DARK) }],
        // A rule applies but its condition does not hold: DEFAULT; it holds: TARGETING_MATCH.
        [prod, 'max-items', { country: 'NO' }, 200, { key: 'max-items', value: 10, variant: 'small', reason: 'DEFAULT', metadata: meta('max-items') }],
        [prod, 'max-items', { country: 'SE' }, 200, { key: 'max-items', value: 25.5, variant: 'large', reason: 'TARGETING_MATCH', metadata: meta('max-items') }],
        // Archived: DISABLED, and no value (OFREP's code default: the SDK serves the caller's default).
        [prod, 'gone', undefined, 200, { key: 'gone', reason: 'DISABLED', metadata: meta('gone') }],
        // No rule matched and no default variant: DEFAULT without a value (code default).
        [prod, 'unset', { country: 'NO' }, 200, { key: 'unset', reason: 'DEFAULT', metadata: meta('unset') }],
        [prod, 'unset', { country: 'SE' }, 200, { key: 'unset', value: true, variant: 'on', reason: 'TARGETING_MATCH', metadata: meta('unset') }],
        // OBJECT flags with configs:read.
        [prod, 'theme', undefined, 200, { key: 'theme', value: { color: 'navy', size: 3 }, variant: 'navy', reason: 'TARGETING_MATCH', metadata: meta('theme') }],
      ];
      const got = [];
      for (const [secret, key, context] of cases) {
        const res = await flag(secret, key, context);
        got.push([secret, key, context, res.status, res.body]);
      }
      expect(got).toEqual(cases);
    });

    it('reports a percentage allocation as SPLIT, with the variant latchkey itself resolves', async () => {
      const seen = new Set<unknown>();
      for (const targetingKey of ['u-1', 'u-2', 'u-3', 'u-4', 'u-5', 'u-6', 'u-7', 'u-8']) {
        const res = await flag(prod, 'experiment', { targetingKey });
        const [variant, value] = (await resolveOverConnect(server, prod, ['flags/experiment'], { targeting_key: targetingKey })).experiment!;
        expect([res.status, res.body]).toEqual([200, { key: 'experiment', value, variant, reason: 'SPLIT', metadata: meta('experiment') }]);
        seen.add(variant);
      }
      // Both arms occur among these units, so the comparison above covers both answers.
      expect([...seen].sort()).toEqual(['off', 'on']);
    });

    it('takes targetingKey as the randomization unit and every other key as an attribute', async () => {
      const viaOfrep = (await flag(prod, 'experiment', { targetingKey: 'u-1', country: 'SE' })).body as { variant: string };
      const viaLatchkeyName = (await flag(prod, 'experiment', { targeting_key: 'u-1', country: 'SE' })).body as { variant: string };
      const [expected] = (await resolveOverConnect(server, prod, ['flags/experiment'], { targeting_key: 'u-1' })).experiment!;
      expect([viaOfrep.variant, viaLatchkeyName.variant]).toEqual([expected, expected]);
      expect(((await flag(prod, 'max-items', { targetingKey: 'u-1', country: 'SE' })).body as { value: number }).value).toBe(25.5);
    });

    it.each([
      ['an unknown flag', 'http-prod', 'nope', 'flag "nope" does not exist, or this credential may not see it (flags of other projects, and secret flags for a publishable credential, are not found)'],
      ['a key that is no flag id', 'http-prod', 'a%2Fb', 'flag "a/b" does not exist, or this credential may not see it (flags of other projects, and secret flags for a publishable credential, are not found)'],
    ])('answers 404 FLAG_NOT_FOUND for %s', async (_what, _cred, key, details) => {
      const res = await flag(prod, key);
      expect([res.status, res.body]).toEqual([404, { key: decodeURIComponent(key), errorCode: 'FLAG_NOT_FOUND', errorDetails: details }]);
      expect(res.headers['x-ratelimit-limit']).toBe('6000');
    });

    it('never shows a secret flag to a publishable key, nor a flag outside the credential projects', async () => {
      const pub = (await ofrepCredential(admin, 'http-pub', { format: Format.PUBLISHABLE_KEY, class: Class.PUBLISHABLE, scopes: ['flags:read'] })).secret;
      const onlyDefault = (await ofrepCredential(admin, 'http-default-only', { projects: ['default'] })).secret;
      const notFound = (key: string) => ({
        key,
        errorCode: 'FLAG_NOT_FOUND',
        errorDetails: `flag "${key}" does not exist, or this credential may not see it (flags of other projects, and secret flags for a publishable credential, are not found)`,
      });
      expect([(await flag(pub, 'internal')).status, (await flag(pub, 'internal')).body]).toEqual([404, notFound('internal')]);
      expect((await flag(prod, 'internal')).body).toEqual({ key: 'internal', value: true, variant: 'on', reason: 'STATIC', metadata: meta('internal') });
      expect([(await flag(onlyDefault, 'elsewhere')).status, (await flag(onlyDefault, 'elsewhere')).body]).toEqual([404, notFound('elsewhere')]);
      expect((await flag(prod, 'elsewhere')).body).toEqual({ key: 'elsewhere', value: true, variant: 'on', reason: 'STATIC', metadata: { name: 'flags/elsewhere', project: 'projects/other' } });
      // A publishable key never gets the description (written for admins) in metadata.
      expect((await flag(pub, 'dark-mode')).body).toEqual({ key: 'dark-mode', value: true, variant: 'on', reason: 'TARGETING_MATCH', metadata: meta('dark-mode') });
    });

    it('answers 400 TARGETING_KEY_MISSING when a split needs a unit the context lacks', async () => {
      for (const context of [undefined, { targetingKey: '' }, { country: 'SE' }]) {
        const res = await flag(prod, 'experiment', context);
        expect([res.status, res.body]).toEqual([
          400,
          { key: 'experiment', errorCode: 'TARGETING_KEY_MISSING', errorDetails: 'rule "half" splits units by "targeting_key", which the evaluation context must carry as a non-empty string or a number' },
        ]);
      }
    });

    it('answers 400 TYPE_MISMATCH for a remote config asked for without configs:read', async () => {
      const res = await flag(dev, 'theme');
      expect([res.status, res.body]).toEqual([
        400,
        { key: 'theme', errorCode: 'TYPE_MISMATCH', errorDetails: 'flag "theme" is a remote config (kind OBJECT); OFREP serves it to credentials that also have the scope configs:read' },
      ]);
    });

    it.each([
      ['a body that is not JSON', '{"context": ', 400, 'PARSE_ERROR', /^the request body is not valid JSON \(.+\)$/],
      ['a JSON array', '[]', 400, 'PARSE_ERROR', /^the request body must be a JSON object: \{"context": \{\.\.\.\}\}$/],
      ['a context that is a list', '{"context": ["a"]}', 400, 'INVALID_CONTEXT', /^context must be a JSON object$/],
      ['a context that is null', '{"context": null}', 400, 'INVALID_CONTEXT', /^context must be a JSON object$/],
      ['a targetingKey that is an object', '{"context": {"targetingKey": {"id": 1}}}', 400, 'INVALID_CONTEXT', /^context\.targetingKey must be a string$/],
      [
        'targetingKey and targeting_key that differ',
        '{"context": {"targetingKey": "a", "targeting_key": "b"}}',
        400,
        'INVALID_CONTEXT',
        /^context\.targetingKey and context\.targeting_key name the same randomization unit; send one of them$/,
      ],
    ])('answers %s with its OFREP error', async (_what, body, status, errorCode, details) => {
      const res = await post('/ofrep/v1/evaluate/flags/dark-mode', { authorization: `Bearer ${prod}` }, body);
      expect(res.status).toBe(status);
      expect(res.body).toEqual({ key: 'dark-mode', errorCode, errorDetails: expect.stringMatching(details) });
      expect(Object.keys(res.body as object)).toEqual(['key', 'errorCode', 'errorDetails']);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['x-ratelimit-limit']).toBe('6000');
    });

    it('takes an empty body as an empty context (OFREP does not require a body)', async () => {
      const res = await post('/ofrep/v1/evaluate/flags/dark-mode', { authorization: `Bearer ${prod}` }, undefined);
      expect([res.status, res.body]).toEqual([200, { key: 'dark-mode', value: true, variant: 'on', reason: 'TARGETING_MATCH', metadata: meta('dark-mode', DARK) }]);
    });

    it('answers a body over 1 MiB with 413 PARSE_ERROR, before reading it', async () => {
      const body = JSON.stringify({ context: { targetingKey: 'u', blob: 'x'.repeat(1024 * 1024) } });
      const res = await new Promise<{ status: number; body: unknown; headers: Record<string, unknown> }>((resolve, reject) => {
        const req = request(`${server.baseUrl}/ofrep/v1/evaluate/flags/dark-mode`, { method: 'POST', headers: { authorization: `Bearer ${prod}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (r) => {
          let text = '';
          r.on('data', (c: Buffer) => (text += c.toString()));
          r.on('end', () => resolve({ status: r.statusCode!, body: JSON.parse(text), headers: r.headers }));
        });
        req.on('error', reject);
        req.end(body);
      });
      expect([res.status, res.body]).toEqual([413, { key: 'dark-mode', errorCode: 'PARSE_ERROR', errorDetails: 'request body is larger than 1048576 bytes' }]);
      expect(res.headers['x-ratelimit-limit']).toBe('6000');
    });

    it('answers another method with 405 and Allow: POST', async () => {
      const res = await fetch(`${server.baseUrl}/ofrep/v1/evaluate/flags/dark-mode`, { headers: { authorization: `Bearer ${prod}` } });
      expect([res.status, res.headers.get('allow'), await res.json()]).toEqual([405, 'POST', { code: 'UNIMPLEMENTED', reason: 'METHOD_NOT_ALLOWED', message: 'use POST /ofrep/v1/evaluate/flags/dark-mode' }]);
    });
  });

  describe('POST /ofrep/v1/evaluate/flags (bulk)', () => {
    it('evaluates every flag the credential may see, OBJECT flags too with configs:read, with a strong ETag of the body', async () => {
      const [expVariant, expValue] = (await resolveOverConnect(server, prod, ['flags/experiment'], { targeting_key: 'user-1' })).experiment!;
      const res = await bulk(prod, { targetingKey: 'user-1', country: 'SE' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        flags: [
          { key: 'checkout', value: 'fast', variant: 'fast', reason: 'TARGETING_MATCH', metadata: meta('checkout') },
          { key: 'dark-mode', value: true, variant: 'on', reason: 'TARGETING_MATCH', metadata: meta('dark-mode', DARK) },
          { key: 'elsewhere', value: true, variant: 'on', reason: 'STATIC', metadata: { name: 'flags/elsewhere', project: 'projects/other' } },
          { key: 'experiment', value: expValue, variant: expVariant, reason: 'SPLIT', metadata: meta('experiment') },
          { key: 'gone', reason: 'DISABLED', metadata: meta('gone') },
          { key: 'internal', value: true, variant: 'on', reason: 'STATIC', metadata: meta('internal') },
          { key: 'max-items', value: 25.5, variant: 'large', reason: 'TARGETING_MATCH', metadata: meta('max-items') },
          { key: 'theme', value: { color: 'navy', size: 3 }, variant: 'navy', reason: 'TARGETING_MATCH', metadata: meta('theme') },
          { key: 'unset', value: true, variant: 'on', reason: 'TARGETING_MATCH', metadata: meta('unset') },
        ],
      });
      expect(res.headers.etag).toBe(etagOf(res.text));
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['x-ratelimit-limit']).toBe('6000');
    });

    it('shows each credential its own environment, and a publishable flags:read key neither secret nor OBJECT flags', async () => {
      const pub = (await ofrepCredential(admin, 'bulk-pub', { format: Format.PUBLISHABLE_KEY, class: Class.PUBLISHABLE, environments: ['development'], projects: ['default'], scopes: ['flags:read'] })).secret;
      const res = await bulk(pub, { targetingKey: 'user-1' });
      const [expVariant, expValue] = (await resolveOverConnect(server, pub, ['flags/experiment'], { targeting_key: 'user-1' })).experiment!;
      expect([res.status, res.body]).toEqual([
        200,
        {
          flags: [
            { key: 'checkout', value: 'beta', variant: 'beta', reason: 'TARGETING_MATCH', metadata: meta('checkout') },
            { key: 'dark-mode', value: false, variant: 'off', reason: 'STATIC', metadata: meta('dark-mode') },
            { key: 'experiment', value: expValue, variant: expVariant, reason: 'SPLIT', metadata: meta('experiment') },
            { key: 'gone', reason: 'DISABLED', metadata: meta('gone') },
            { key: 'max-items', value: 10, variant: 'small', reason: 'DEFAULT', metadata: meta('max-items') },
            { key: 'unset', reason: 'DEFAULT', metadata: meta('unset') },
          ],
        },
      ]);
    });

    it('reports a flag that needs a targeting key as one failed entry, the others evaluated', async () => {
      const res = await bulk(dev, { country: 'SE' });
      expect(res.status).toBe(200);
      expect((res.body as { flags: unknown[] }).flags).toEqual([
        { key: 'checkout', value: 'beta', variant: 'beta', reason: 'TARGETING_MATCH', metadata: meta('checkout') },
        { key: 'dark-mode', value: false, variant: 'off', reason: 'STATIC', metadata: meta('dark-mode', DARK) },
        { key: 'elsewhere', value: true, variant: 'on', reason: 'STATIC', metadata: { name: 'flags/elsewhere', project: 'projects/other' } },
        { key: 'experiment', errorCode: 'TARGETING_KEY_MISSING', errorDetails: 'rule "half" splits units by "targeting_key", which the evaluation context must carry as a non-empty string or a number' },
        { key: 'gone', reason: 'DISABLED', metadata: meta('gone') },
        { key: 'internal', value: true, variant: 'on', reason: 'STATIC', metadata: meta('internal') },
        { key: 'max-items', value: 25.5, variant: 'large', reason: 'TARGETING_MATCH', metadata: meta('max-items') },
        { key: 'unset', value: true, variant: 'on', reason: 'TARGETING_MATCH', metadata: meta('unset') },
      ]);
    });

    it('answers 304 with the ETag alone when If-None-Match matches, and 200 again once the answer changes', async () => {
      const first = await bulk(prod, { targetingKey: 'etag-user' });
      const etag = first.headers.etag!;
      expect(etag).toBe(etagOf(first.text));
      const again = await bulk(prod, { targetingKey: 'etag-user' }, { 'if-none-match': etag });
      expect([again.status, again.text, again.headers.etag, again.headers['content-length'] ?? '0']).toEqual([304, '', etag, '0']);
      expect(again.headers['x-ratelimit-limit']).toBe('6000');
      expect(Number(again.headers['x-ratelimit-remaining'])).toBe(Number(first.headers['x-ratelimit-remaining']) - 1);
      // A list, and a weak form of the tag, match too (RFC 9110 weak comparison for If-None-Match).
      expect((await bulk(prod, { targetingKey: 'etag-user' }, { 'if-none-match': `"other", W/${etag}` })).status).toBe(304);
      expect((await bulk(prod, { targetingKey: 'etag-user' }, { 'if-none-match': '"other"' })).status).toBe(200);
      // Another context that evaluates differently is another body, so another tag.
      const se = await bulk(prod, { targetingKey: 'etag-user', country: 'SE' });
      expect(se.headers.etag).toBe(etagOf(se.text));
      expect(se.headers.etag).not.toBe(etag);
      expect((await bulk(prod, { targetingKey: 'etag-user', country: 'SE' }, { 'if-none-match': etag })).status).toBe(200);
      // A context that evaluates the same is the same body, so the same tag.
      expect((await bulk(prod, { targetingKey: 'etag-user', country: 'NO' }, { 'if-none-match': etag })).status).toBe(304);
      // An edit that changes this credential's answer changes the tag; the old one no longer matches.
      await admin.flags.updateFlag({ flag: { name: 'flags/max-items', defaultVariant: 'large' }, updateMask: { paths: ['default_variant'] } });
      const changed = await bulk(prod, { targetingKey: 'etag-user' }, { 'if-none-match': etag });
      expect(changed.status).toBe(200);
      expect(changed.headers.etag).toBe(etagOf(changed.text));
      expect(changed.headers.etag).not.toBe(etag);
      expect((changed.body as { flags: { key: string }[] }).flags.find((f) => f.key === 'max-items')).toEqual({ key: 'max-items', value: 25.5, variant: 'large', reason: 'DEFAULT', metadata: meta('max-items') });
      // So does metadata: the description is part of what a SECRET credential is answered.
      await admin.flags.updateFlag({ flag: { name: 'flags/max-items', defaultVariant: 'small' }, updateMask: { paths: ['default_variant'] } });
      expect((await bulk(prod, { targetingKey: 'etag-user' }, { 'if-none-match': etag })).status).toBe(304);
      await admin.flags.updateFlag({ flag: { name: 'flags/dark-mode', description: 'Dark mode, now documented' }, updateMask: { paths: ['description'] } });
      const described = await bulk(prod, { targetingKey: 'etag-user' }, { 'if-none-match': etag });
      expect(described.status).toBe(200);
      expect((described.body as { flags: { key: string; metadata: unknown }[] }).flags.find((f) => f.key === 'dark-mode')!.metadata).toEqual(meta('dark-mode', 'Dark mode, now documented'));
      await admin.flags.updateFlag({ flag: { name: 'flags/dark-mode', description: DARK }, updateMask: { paths: ['description'] } });
      // Back to the first answer: the first tag matches again.
      expect((await bulk(prod, { targetingKey: 'etag-user' }, { 'if-none-match': etag })).status).toBe(304);
    });

    it.each([
      ['a body that is not JSON', 'nope', 'PARSE_ERROR', /^the request body is not valid JSON \(.+\)$/],
      ['a context that is a string', '{"context": "user-1"}', 'INVALID_CONTEXT', /^context must be a JSON object$/],
    ])('answers %s with 400 and OFREP bulk failure {errorCode, errorDetails}', async (_what, body, errorCode, details) => {
      const res = await post('/ofrep/v1/evaluate/flags', { authorization: `Bearer ${prod}` }, body);
      expect([res.status, res.body]).toEqual([400, { errorCode, errorDetails: expect.stringMatching(details) }]);
      expect(Object.keys(res.body as object)).toEqual(['errorCode', 'errorDetails']);
      expect(res.headers.etag).toBeUndefined();
    });
  });

  describe('credentials: every format, the SPEC §3 pipeline and its refusals', () => {
    it('accepts every credential format the way its SDKs send it', async () => {
      const pair = await ofrepCredential(admin, 'fmt-pair', { format: Format.KEY_PAIR });
      const unleash = await ofrepCredential(admin, 'fmt-unleash', { format: Format.UNLEASH, projects: ['default'] });
      const sec = await ofrepCredential(admin, 'fmt-sec', { format: Format.SECRET_KEY });
      const pub = await ofrepCredential(admin, 'fmt-pub', { format: Format.PUBLISHABLE_KEY, class: Class.PUBLISHABLE, scopes: ['flags:read'] });
      const imported = (await admin.creds.importClientCredential({ parent: 'clients/app', credentialId: 'fmt-imported', secret: 'proxy-client-key-0042', credential: { class: Class.SECRET, environments: ['production'], projects: ['*'], scopes: ['flags:read'] } })).secret;
      const ways: [string, Record<string, string>, string][] = [
        ['KEY_PAIR as Bearer pk:sk', { authorization: `Bearer ${pair.clientId}:${pair.secret}` }, ''],
        ['KEY_PAIR as X-Client-ID / X-Client-Secret', { 'x-client-id': pair.clientId, 'x-client-secret': pair.secret }, ''],
        ['CLIENT_SECRET as Bearer', { authorization: `Bearer ${prod}` }, ''],
        ['UNLEASH without Bearer', { authorization: unleash.secret }, ''],
        ['SECRET_KEY as Bearer', { authorization: `Bearer ${sec.secret}` }, ''],
        ['PUBLISHABLE_KEY as Bearer', { authorization: `Bearer ${pub.secret}` }, ''],
        ['PUBLISHABLE_KEY as ?publishableKey=', {}, `?publishableKey=${pub.secret}`],
        ['IMPORTED as Authorization', { authorization: imported }, ''],
      ];
      const got = [];
      for (const [way, headers, query] of ways) {
        const res = await post(`/ofrep/v1/evaluate/flags/checkout${query}`, headers, '{"context": {"targetingKey": "u"}}');
        got.push([way, res.status, res.body]);
      }
      expect(got).toEqual(ways.map(([way]) => [way, 200, { key: 'checkout', value: 'fast', variant: 'fast', reason: 'TARGETING_MATCH', metadata: meta('checkout') }]));
    });

    it('refuses with SPEC §3 statuses and latchkey JSON bodies, audited with the OFREP route', async () => {
      const scopeless = await ofrepCredential(admin, 'logs-only', { scopes: ['logs:write'] });
      const walled = await ofrepCredential(admin, 'walled', { allowedOrigins: ['https://app.example.com'] });
      const revoked = await ofrepCredential(admin, 'revoked', {});
      await admin.creds.revokeClientCredential({ name: revoked.name });
      const cases: [string, Record<string, string>, number, { code: string; reason: string }][] = [
        ['no credential', {}, 401, { code: 'UNAUTHENTICATED', reason: 'CREDENTIAL_MISSING' }],
        ['a malformed secret', { authorization: 'Bearer sk_test_nonsense' }, 401, { code: 'UNAUTHENTICATED', reason: 'CREDENTIAL_MALFORMED' }],
        ['a revoked credential', { authorization: `Bearer ${revoked.secret}` }, 410, { code: 'UNAUTHENTICATED', reason: 'CREDENTIAL_REVOKED' }],
        ['an origin outside allowed_origins', { authorization: `Bearer ${walled.secret}`, origin: 'https://evil.example' }, 403, { code: 'PERMISSION_DENIED', reason: 'ORIGIN_NOT_ALLOWED' }],
        ['a credential without flags:read', { authorization: `Bearer ${scopeless.secret}` }, 403, { code: 'PERMISSION_DENIED', reason: 'SCOPE_MISSING' }],
      ];
      for (const path of ['/ofrep/v1/evaluate/flags/dark-mode', '/ofrep/v1/evaluate/flags']) {
        const got = [];
        for (const [what, headers] of cases) {
          const res = await post(path, headers, '{"context": {}}');
          const body = res.body as { code: string; reason: string; message: string };
          got.push([what, res.status, { code: body.code, reason: body.reason }, typeof body.message, Object.keys(body).sort()]);
        }
        expect(got).toEqual(cases.map(([what, , status, body]) => [what, status, body, 'string', ['code', 'message', 'reason']]));
      }
      const scope = await post('/ofrep/v1/evaluate/flags/dark-mode', { authorization: `Bearer ${scopeless.secret}` });
      expect((scope.body as { message: string }).message).toBe('clients/app/credentials/logs-only lacks the scope flags:read that POST /ofrep/v1/evaluate/flags/ needs');
      expect(scope.headers['x-ratelimit-limit']).toBe('6000');

      const audit = connectClient(server, AuditService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
      const events = async (credential: string) =>
        (await audit.listAuditEvents({ kind: AuditEvent_Kind.CREDENTIAL_VALIDATION, credential, pageSize: 100 })).auditEvents.map((e) => [e.method, e.outcome]);
      expect(await events(scopeless.name)).toEqual([
        ['POST /ofrep/v1/evaluate/flags/', 'SCOPE_MISSING'],
        ['POST /ofrep/v1/evaluate/flags', 'SCOPE_MISSING'],
        ['POST /ofrep/v1/evaluate/flags/', 'SCOPE_MISSING'],
      ]);
      expect((await events('clients/app/credentials/http-dev')).every(([method, outcome]) => outcome === 'OK' && String(method).startsWith('POST /ofrep/v1/evaluate/flags'))).toBe(true);
    });

    it('answers a spent rate limit with 429, Retry-After and the rate-limit headers', async () => {
      const limited = await ofrepCredential(admin, 'limited', { rateLimit: { requests: 2, seconds: 60 } });
      const statuses = [];
      for (let i = 0; i < 2; i++) statuses.push((await flag(limited.secret, 'dark-mode')).status);
      const refused = await bulk(limited.secret);
      expect([...statuses, refused.status]).toEqual([200, 200, 429]);
      const body = refused.body as { code: string; reason: string; message: string };
      expect({ code: body.code, reason: body.reason }).toEqual({ code: 'RESOURCE_EXHAUSTED', reason: 'RATE_LIMITED' });
      expect(body.message).toMatch(/^clients\/app\/credentials\/limited exceeded 2 requests per 60 s; retry in \d+ s$/);
      expect(refused.headers['x-ratelimit-limit']).toBe('2');
      expect(refused.headers['x-ratelimit-remaining']).toBe('0');
      const retryAfter = Number(refused.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
    });
  });

  describe('CORS', () => {
    it('lets a browser preflight the bulk route with If-None-Match and read ETag and the rate-limit headers', async () => {
      const preflight = await fetch(`${server.baseUrl}/ofrep/v1/evaluate/flags`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,if-none-match' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      expect(preflight.headers.get('access-control-allow-methods')!.split(', ')).toContain('POST');
      const allowed = preflight.headers.get('access-control-allow-headers')!.toLowerCase().split(', ');
      expect(['authorization', 'content-type', 'if-none-match'].filter((h) => !allowed.includes(h))).toEqual([]);

      const res = await bulk(prod, { targetingKey: 'cors' }, { origin: 'https://app.example.com' });
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
      const exposed = res.headers['access-control-expose-headers']!.toLowerCase().split(', ');
      expect(['etag', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'retry-after'].filter((h) => !exposed.includes(h))).toEqual([]);
    });
  });

  it('answers a stored flag that cannot be evaluated with 500 GENERAL, and a GENERAL entry in bulk', async () => {
    await admin.flags.createFlag({ flagId: 'broken', flag: { kind: Kind.BOOLEAN, variants: [{ name: 'on', value: fromJson(ValueSchema, true) }], defaultVariant: 'on' } });
    // A stored definition that predates a stricter validation rule: its default names no variant.
    await server.app.database.db.transaction().execute(async (tx) => {
      await tx.updateTable('flags').set({ default_variant: 'missing' }).where('id', '=', 'broken').execute();
      await recordChange(tx, 'flag', 'broken', new Date());
    });
    const details = 'flag "broken" could not be compiled: default variant "missing" is not a variant of the flag';
    let res = await flag(prod, 'broken');
    for (let i = 0; i < 60 && res.status === 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      res = await flag(prod, 'broken');
    }
    expect([res.status, res.body]).toEqual([500, { key: 'broken', errorCode: 'GENERAL', errorDetails: details }]);
    const all = (await bulk(prod, { targetingKey: 'u' })).body as { flags: { key: string }[] };
    expect(all.flags.find((f) => f.key === 'broken')).toEqual({ key: 'broken', errorCode: 'GENERAL', errorDetails: details });
    expect(all.flags.find((f) => f.key === 'checkout')).toEqual({ key: 'checkout', value: 'fast', variant: 'fast', reason: 'TARGETING_MATCH', metadata: meta('checkout') });
    await admin.flags.deleteFlag({ name: 'flags/broken' });
  });

  it('serves a flag created after the server started, with no restart', async () => {
    await admin.flags.createFlag({ flagId: 'late', flag: { kind: Kind.STRING, variants: [{ name: 'x', value: fromJson(ValueSchema, 'x') }], defaultVariant: 'x' } });
    expect((await flag(prod, 'late')).body).toEqual({ key: 'late', value: 'x', variant: 'x', reason: 'STATIC', metadata: meta('late') });
  });
});
