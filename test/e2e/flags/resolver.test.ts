import { fromJson } from '@bufbuild/protobuf';
import { ValueSchema } from '@bufbuild/protobuf/wkt';
import { Code } from '@connectrpc/connect';
import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { ClientCredential_Class as Class, ClientCredential_Format as Format } from '../../../gen/latchkey/clients/v1/client_credential_pb.js';
import { FlagAdminService } from '../../../gen/latchkey/flags/admin/v1/flag_admin_service_pb.js';
import { Condition_Operator as Op, Flag_Kind as Kind } from '../../../gen/latchkey/flags/admin/v1/flag_pb.js';
import { ResolveReason } from '../../../gen/latchkey/flags/resolver/v1/resolver_pb.js';
import { FlagResolverService } from '../../../gen/latchkey/flags/resolver/v1/resolver_service_pb.js';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, basic, connectClient } from '../../support/clients.js';
import { refusal } from '../../support/errors.js';
import { grpcResolve } from '../../support/runtime.js';
import { startTestServer, type TestServer } from '../../support/server.js';

const v = (json: unknown) => fromJson(ValueSchema, json as never);
const variants = [
  { name: 'on', value: v(true) },
  { name: 'off', value: v(false) },
];
const everyone = (variant: string) => [{ variant, weight: 10000 }];

describe('FlagResolverService through the real server', () => {
  let server: TestServer;
  let flags: ReturnType<typeof connectClient<typeof FlagAdminService>>;
  let creds: ReturnType<typeof connectClient<typeof ClientCredentialService>>;

  const credential = async (id: string, spec: object) =>
    (await creds.createClientCredential({ parent: 'clients/app', credentialId: id, credential: { format: Format.CLIENT_SECRET, class: Class.SECRET, projects: ['*'], scopes: ['flags:read'], ...spec } })).secret;
  const resolve = (secret: string, names: string[] = [], context: Record<string, unknown> = { targeting_key: 'user-1' }) =>
    connectClient(server, FlagResolverService, { authorization: `Bearer ${secret}` }).resolveFlags({ flags: names, evaluationContext: context as never });
  const outcome = async (secret: string, name: string, context?: Record<string, unknown>) => {
    const r = (await resolve(secret, [name], context)).resolvedFlags[0]!;
    return { variant: r.variant, reason: ResolveReason[r.reason] };
  };

  beforeAll(async () => {
    server = await startTestServer(BOOTSTRAP_CONFIG);
    flags = connectClient(server, FlagAdminService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
    creds = connectClient(server, ClientCredentialService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
    await creds.createClient({ clientId: 'app' });
  });
  afterAll(async () => {
    await server.close();
  });

  describe('SPEC §4: which rules apply, by environments', () => {
    // One flag per row: a single rule serving "on"; "off" is the default.
    const row = async (id: string, ruleEnvironments: string[]) =>
      flags.createFlag({ flagId: id, flag: { kind: Kind.BOOLEAN, variants, defaultVariant: 'off', rules: [{ name: 'r', enabled: true, environments: ruleEnvironments, allocations: everyone('on') }] } });

    it.each([
      ['empty', 'empty', [], [], 'on', 'MATCH'],
      ['empty', 'some', [], ['production'], 'on', 'MATCH'],
      ['some', 'empty', ['production'], [], 'off', 'DEFAULT'],
      ['some', 'one of them matches', ['staging', 'production'], ['production'], 'on', 'MATCH'],
      ['some', 'none matches', ['staging'], ['production', 'development'], 'off', 'DEFAULT'],
    ])('rule environments %s, credential environments %s', async (_r, _c, ruleEnvs, credEnvs, variant, reason) => {
      const id = `env-row-${Math.random().toString(36).slice(2, 8)}`;
      await row(id, ruleEnvs as string[]);
      const secret = await credential(`${id}-key`, { environments: credEnvs });
      expect(await outcome(secret, `flags/${id}`)).toEqual({ variant, reason });
    });
  });

  it('resolves each environment its own variant over gRPC, Connect and /v1/flags:resolve (the README walkthrough)', async () => {
    await flags.createFlag({
      flagId: 'new-checkout',
      flag: {
        kind: Kind.STRING,
        variants: [
          { name: 'classic', value: v('classic') },
          { name: 'fast', value: v('fast') },
          { name: 'beta', value: v('beta') },
        ],
        defaultVariant: 'classic',
        rules: [
          { name: 'prod-fast', enabled: true, environments: ['production'], allocations: everyone('fast') },
          { name: 'dev-beta', enabled: true, environments: ['development'], allocations: everyone('beta') },
        ],
      },
    });
    const prod = await credential('walk-prod', { environments: ['production'] });
    const dev = await credential('walk-dev', { environments: ['development'] });
    for (const [secret, expected] of [
      [prod, 'fast'],
      [dev, 'beta'],
    ] as const) {
      const grpc = await grpcResolve(server, { authorization: `Bearer ${secret}` }, { flags: ['flags/new-checkout'], evaluationContext: { targeting_key: 'u' } });
      expect(grpc.response?.resolvedFlags.map((f) => [f.variant, f.value?.kind.value])).toEqual([[expected, expected]]);
      const connect = await resolve(secret, ['flags/new-checkout']);
      expect(connect.resolvedFlags.map((f) => [f.flag, f.variant, ResolveReason[f.reason]])).toEqual([['flags/new-checkout', expected, 'MATCH']]);
      const http = await fetch(`${server.baseUrl}/v1/flags:resolve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ clientSecret: secret, flags: ['flags/new-checkout'], evaluationContext: { targeting_key: 'u' }, apply: false, sdk: { id: 'SDK_ID_JS_WEB_PROVIDER', version: '0.3.0' } }),
      });
      expect(http.status).toBe(200);
      const body = (await http.json()) as { resolvedFlags: unknown[]; resolveToken: string; resolveId: string };
      expect(body.resolvedFlags).toEqual([
        { flag: 'flags/new-checkout', variant: `flags/new-checkout/variants/${expected}`, value: { value: expected }, flagSchema: { schema: { value: { stringSchema: {} } } }, reason: 'RESOLVE_REASON_MATCH' },
      ]);
      expect(body.resolveToken.length).toBeGreaterThan(0);
      expect(body.resolveId).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('applies resolved flags (exposure) with the resolve token, on RPC and on /v1/flags:apply', async () => {
    const secret = await credential('applier', { environments: ['production'] });
    const res = await resolve(secret, ['flags/new-checkout']);
    const client = connectClient(server, FlagResolverService, { authorization: `Bearer ${secret}` });
    await expect(client.applyFlags({ resolveToken: res.resolveToken, flags: [{ flag: 'flags/new-checkout' }] })).resolves.toBeDefined();
    expect(await refusal(client.applyFlags({ resolveToken: res.resolveToken, flags: [{ flag: 'flags/other' }] }))).toMatchObject({
      code: Code.InvalidArgument,
      fieldViolations: [{ field: 'flags[0].flag', description: 'flags/other was not resolved with this token' }],
    });
    const other = await credential('other-applier', { environments: ['production'] });
    expect(await refusal(connectClient(server, FlagResolverService, { authorization: `Bearer ${other}` }).applyFlags({ resolveToken: res.resolveToken, flags: [{ flag: 'flags/new-checkout' }] }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: 'RESOLVE_TOKEN_MISMATCH',
    });
    const http = await fetch(`${server.baseUrl}/v1/flags:apply`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ clientSecret: secret, resolveToken: res.resolveToken, flags: [{ flag: 'flags/new-checkout', applyTime: new Date().toISOString() }], sendTime: new Date().toISOString() }),
    });
    expect([http.status, await http.json()]).toEqual([200, {}]);
    const rows = await server.app.database.db.selectFrom('flag_applies').select(['flag', 'variant', 'credential']).where('credential', '=', 'clients/app/credentials/applier').execute();
    // Applied on RPC and again on /v1/flags:apply with the same token: one exposure per resolve and flag (SPEC §6).
    expect(rows).toEqual([{ flag: 'flags/new-checkout', variant: 'fast', credential: 'clients/app/credentials/applier' }]);
  });

  it('hides flags outside the credential projects, also when named, and * covers a project created later', async () => {
    const onlyDefault = await credential('only-default', { projects: ['default'] });
    const all = await credential('all-projects', { projects: ['*'] });
    await flags.createProject({ projectId: 'later' });
    await flags.createFlag({ flagId: 'later-flag', flag: { project: 'projects/later', kind: Kind.BOOLEAN, variants, defaultVariant: 'on' } });
    expect(await outcome(onlyDefault, 'flags/later-flag')).toEqual({ variant: '', reason: 'FLAG_NOT_FOUND' });
    expect((await resolve(onlyDefault)).resolvedFlags.map((f) => f.flag)).not.toContain('flags/later-flag');
    expect(await outcome(all, 'flags/later-flag')).toEqual({ variant: 'on', reason: 'DEFAULT' });
    expect((await resolve(all)).resolvedFlags.map((f) => f.flag)).toContain('flags/later-flag');
  });

  it('serves secret flags only to SECRET credentials', async () => {
    await flags.createFlag({ flagId: 'internal-kill-switch', flag: { kind: Kind.BOOLEAN, variants, defaultVariant: 'off', secret: true } });
    const pub = (await creds.createClientCredential({ parent: 'clients/app', credentialId: 'browser', credential: { format: Format.PUBLISHABLE_KEY, environments: ['production'], projects: ['*'], scopes: ['flags:read'] } })).secret;
    const sec = await credential('server-side', { environments: ['production'] });
    expect(await outcome(pub, 'flags/internal-kill-switch')).toEqual({ variant: '', reason: 'FLAG_NOT_FOUND' });
    expect((await resolve(pub)).resolvedFlags.map((f) => f.flag)).not.toContain('flags/internal-kill-switch');
    expect(await outcome(sec, 'flags/internal-kill-switch')).toEqual({ variant: 'off', reason: 'DEFAULT' });
  });

  it('keeps one flag failure from failing the others, and reports every reason', async () => {
    await flags.createFlag({
      flagId: 'split',
      flag: { kind: Kind.BOOLEAN, variants, rules: [{ name: 'half', enabled: true, allocations: [{ variant: 'on', weight: 5000 }, { variant: 'off', weight: 5000 }] }] },
    });
    await flags.createFlag({ flagId: 'gone', flag: { kind: Kind.BOOLEAN, variants, defaultVariant: 'on' } });
    await flags.archiveFlag({ name: 'flags/gone' });
    await flags.createFlag({ flagId: 'theme', flag: { kind: Kind.OBJECT, variants: [{ name: 'dark', value: v({ color: 'black' }) }], defaultVariant: 'dark' } });
    await flags.createFlag({
      flagId: 'nordics',
      flag: { kind: Kind.BOOLEAN, variants, rules: [{ name: 'se', enabled: true, conditions: [{ attribute: 'country', operator: Op.EQUALS, values: [v('SE')] }], allocations: everyone('on') }] },
    });
    const secret = await credential('reasons', { environments: ['production'], scopes: ['flags:read', 'configs:read'] });
    const res = await resolve(secret, ['flags/split', 'flags/gone', 'flags/theme', 'flags/nordics', 'flags/nope', 'oops'], { country: 'NO' });
    expect(res.resolvedFlags.map((f) => [f.flag, ResolveReason[f.reason]])).toEqual([
      ['flags/split', 'TARGETING_KEY_ERROR'],
      ['flags/gone', 'FLAG_ARCHIVED'],
      ['flags/theme', 'TYPE_MISMATCH'],
      ['flags/nordics', 'NO_RULE_MATCH'],
      ['flags/nope', 'FLAG_NOT_FOUND'],
      ['oops', 'FLAG_NOT_FOUND'],
    ]);
    const configs = await connectClient(server, FlagResolverService, { authorization: `Bearer ${secret}` }).resolveConfigs({ flags: ['flags/theme'] });
    expect(configs.resolvedFlags.map((f) => [f.variant, ResolveReason[f.reason], f.value?.kind.case])).toEqual([['dark', 'DEFAULT', 'structValue']]);
  });

  it('lists definitions for local evaluation to SECRET credentials, rules filtered to their environments', async () => {
    const secret = await credential('local-eval', { environments: ['development'] });
    const res = await connectClient(server, FlagResolverService, { authorization: `Bearer ${secret}` }).listFlagDefinitions({ pageSize: 1000 });
    const checkout = res.flagDefinitions.find((d) => d.name === 'flags/new-checkout');
    expect(checkout?.rules.map((r) => r.name)).toEqual(['dev-beta']);
    expect(checkout?.salt.length).toBeGreaterThan(0);
  });
});
