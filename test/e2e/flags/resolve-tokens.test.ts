/**
 * SPEC §6: resolve tokens are signed with a key kept in the database, ApplyFlags refuses tokens it
 * did not issue or issued to another credential, and one resolve records one exposure per flag
 * however often it is applied (apply=true, ApplyFlags, /v1/flags:apply, repeats).
 */
import { randomUUID } from 'node:crypto';
import { fromJson } from '@bufbuild/protobuf';
import { ValueSchema, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code } from '@connectrpc/connect';
import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { ClientCredential_Class as Class, ClientCredential_Format as Format } from '../../../gen/latchkey/clients/v1/client_credential_pb.js';
import { FlagAdminService } from '../../../gen/latchkey/flags/admin/v1/flag_admin_service_pb.js';
import { Flag_Kind as Kind } from '../../../gen/latchkey/flags/admin/v1/flag_pb.js';
import { ResolveReason } from '../../../gen/latchkey/flags/resolver/v1/resolver_pb.js';
import { FlagResolverService } from '../../../gen/latchkey/flags/resolver/v1/resolver_service_pb.js';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, basic, connectClient } from '../../support/clients.js';
import { refusal } from '../../support/errors.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { startTestServer, type TestServer } from '../../support/server.js';

const v = (json: unknown) => fromJson(ValueSchema, json as never);
const variants = [
  { name: 'on', value: v(true) },
  { name: 'off', value: v(false) },
];

const INVALID_TOKEN_MESSAGE = 'resolve_token is not a token that ResolveFlags returned';
/** What a Connect client sees for a token this installation did not sign. */
const INVALID_TOKEN = {
  code: Code.InvalidArgument,
  reason: 'INVALID_RESOLVE_TOKEN',
  domain: 'latchkey',
  metadata: {},
  message: INVALID_TOKEN_MESSAGE,
  fieldViolations: [{ field: 'resolve_token', description: 'not a token that ResolveFlags returned' }],
};
/** The same refusal on /v1/flags:apply. */
const INVALID_TOKEN_HTTP = [400, { code: 'INVALID_ARGUMENT', reason: 'INVALID_RESOLVE_TOKEN', message: INVALID_TOKEN_MESSAGE }];
const MISMATCH = {
  code: Code.InvalidArgument,
  reason: 'RESOLVE_TOKEN_MISMATCH',
  domain: 'latchkey',
  metadata: {},
  message: 'resolve_token was issued to another credential',
  fieldViolations: [{ field: 'resolve_token', description: 'issued to another credential' }],
};
const MISMATCH_HTTP = [400, { code: 'INVALID_ARGUMENT', reason: 'RESOLVE_TOKEN_MISMATCH', message: 'resolve_token was issued to another credential' }];

const b64url = (s: string) => Buffer.from(s).toString('base64url');
/** A token in the shape latchkey issued before tokens were signed: base64url JSON, no signature. */
const unsignedToken = (credential: string, flagVariants: Record<string, string | null>) => b64url(JSON.stringify({ r: randomUUID(), c: credential, v: flagVariants }));

/** One server's admin and runtime clients, and the flag_applies rows it stored. */
function harness(server: TestServer) {
  const admin = basic(BOOTSTRAP.clientId, BOOTSTRAP.secret);
  const flags = connectClient(server, FlagAdminService, admin);
  const creds = connectClient(server, ClientCredentialService, admin);
  const runtime = (secret: string) => connectClient(server, FlagResolverService, { authorization: `Bearer ${secret}` });
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${server.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return [res.status, await res.json()] as [number, Record<string, unknown>];
  };
  return {
    flags,
    creds,
    runtime,
    /** A credential of clients/app; SECRET unless a publishable format is asked for. Answers its secret. */
    async credential(id: string, spec: object = {}) {
      const c = await creds.createClientCredential({
        parent: 'clients/app',
        credentialId: id,
        credential: { format: Format.CLIENT_SECRET, class: Class.SECRET, projects: ['*'], environments: ['production'], scopes: ['flags:read'], ...spec },
      });
      return c.secret;
    },
    resolve: (secret: string, names: string[], apply = false) => runtime(secret).resolveFlags({ flags: names, evaluationContext: { targeting_key: 'user-1' } as never, apply }),
    apply: (secret: string, resolveToken: string, names: string[], applyTime?: Date) =>
      runtime(secret).applyFlags({ resolveToken, flags: names.map((flag) => ({ flag, applyTime: applyTime && timestampFromDate(applyTime) })) }),
    confidenceResolve: (secret: string, names: string[], apply: boolean) =>
      post('/v1/flags:resolve', { clientSecret: secret, flags: names, evaluationContext: { targeting_key: 'user-1' }, apply, sdk: { id: 'SDK_ID_JS_WEB_PROVIDER', version: '0.3.0' } }),
    confidenceApply: (secret: string, resolveToken: string, names: string[], applyTime?: Date) =>
      post('/v1/flags:apply', {
        clientSecret: secret,
        resolveToken,
        flags: names.map((flag) => ({ flag, ...(applyTime && { applyTime: applyTime.toISOString() }) })),
        sendTime: new Date().toISOString(),
      }),
    /** Every exposure stored for the credential `clients/app/credentials/<id>`, by flag. */
    rows: (id: string) =>
      server.app.database.db
        .selectFrom('flag_applies')
        .select(['resolve_token', 'flag', 'variant', 'apply_time'])
        .where('credential', '=', `clients/app/credentials/${id}`)
        .orderBy('flag')
        .orderBy('apply_time')
        .execute(),
    /** Every exposure stored at all (to show a refused apply wrote nothing anywhere). */
    allRows: () => server.app.database.db.selectFrom('flag_applies').select(['credential', 'flag']).orderBy('id').execute(),
  };
}

async function startOn(database: TestDatabase | undefined): Promise<TestServer> {
  return startTestServer({ ...BOOTSTRAP_CONFIG, ...(database && { databaseUrl: database.url }) });
}

describe.each(['SQLite', 'PostgreSQL'])('resolve tokens and exposures on %s', (dialect) => {
  let pg: TestDatabase | undefined;
  let server: TestServer;
  let h: ReturnType<typeof harness>;
  let browser: string;
  let backend: string;

  beforeAll(async () => {
    pg = dialect === 'PostgreSQL' ? await createTestDatabase() : undefined;
    server = await startOn(pg);
    h = harness(server);
    await h.creds.createClient({ clientId: 'app' });
    await h.flags.createFlag({ flagId: 'checkout', flag: { kind: Kind.BOOLEAN, variants, defaultVariant: 'on' } });
    await h.flags.createFlag({ flagId: 'banner', flag: { kind: Kind.BOOLEAN, variants, defaultVariant: 'off' } });
    await h.flags.createFlag({ flagId: 'kill-switch', flag: { kind: Kind.BOOLEAN, variants, defaultVariant: 'off', secret: true } });
    browser = await h.credential('browser', { format: Format.PUBLISHABLE_KEY, class: undefined });
    backend = await h.credential('backend');
  });
  afterAll(async () => {
    await server?.close();
    await pg?.drop();
  });

  describe('ApplyFlags refuses tokens latchkey did not issue', () => {
    it('refuses a hand-made unsigned token naming a secret flag and a missing flag, over Connect and on /v1/flags:apply', async () => {
      // The finding: a publishable key recorded exposures for a secret flag and a flag that does not exist.
      const forged = unsignedToken('clients/app/credentials/browser', { 'kill-switch': 'on', 'no-such-flag': null });
      expect(await refusal(h.apply(browser, forged, ['flags/kill-switch', 'flags/no-such-flag']))).toEqual(INVALID_TOKEN);
      expect(await h.confidenceApply(browser, forged, ['flags/kill-switch', 'flags/no-such-flag'])).toEqual(INVALID_TOKEN_HTTP);
      // With a made-up signature in the new shape, too.
      const withSignature = `${forged}.${'A'.repeat(43)}`;
      expect(await refusal(h.apply(browser, withSignature, ['flags/kill-switch']))).toEqual(INVALID_TOKEN);
      expect(await h.confidenceApply(browser, withSignature, ['flags/kill-switch'])).toEqual(INVALID_TOKEN_HTTP);
      expect(await h.rows('browser')).toEqual([]);
    });

    it('refuses a token whose payload or signature was changed', async () => {
      const issued = (await h.resolve(browser, ['flags/checkout'])).resolveToken;
      const [payload, signature] = issued.split('.') as [string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { r: string; c: string; v: Record<string, string | null> };
      expect(claims).toEqual({ r: expect.any(String), c: 'clients/app/credentials/browser', v: { checkout: 'on' } });
      // The issued payload with a secret flag added, under the issued signature.
      const widened = `${b64url(JSON.stringify({ ...claims, v: { ...claims.v, 'kill-switch': 'on' } }))}.${signature}`;
      // The issued payload under another signature.
      const resigned = `${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
      // The signature dropped: what an unsigned token of the issued content looks like.
      for (const token of [widened, resigned, payload, `${payload}.`]) {
        expect(await refusal(h.apply(browser, token, ['flags/checkout']))).toEqual(INVALID_TOKEN);
        expect(await h.confidenceApply(browser, token, ['flags/checkout'])).toEqual(INVALID_TOKEN_HTTP);
      }
      expect(await h.rows('browser')).toEqual([]);
    });

    it('refuses a token issued to another credential (RESOLVE_TOKEN_MISMATCH)', async () => {
      const backendToken = (await h.resolve(backend, ['flags/kill-switch', 'flags/checkout'])).resolveToken;
      expect(await refusal(h.apply(browser, backendToken, ['flags/kill-switch']))).toEqual(MISMATCH);
      expect(await h.confidenceApply(browser, backendToken, ['flags/kill-switch'])).toEqual(MISMATCH_HTTP);
      expect(await h.rows('browser')).toEqual([]);
      expect(await h.rows('backend')).toEqual([]);
    });

    it('records a publishable key exposure only for flags its own token resolved', async () => {
      const res = await h.resolve(browser, ['flags/kill-switch', 'flags/checkout']);
      expect(res.resolvedFlags.map((f) => [f.flag, ResolveReason[f.reason]])).toEqual([
        ['flags/kill-switch', 'FLAG_NOT_FOUND'],
        ['flags/checkout', 'DEFAULT'],
      ]);
      expect(await refusal(h.apply(browser, res.resolveToken, ['flags/kill-switch', 'flags/no-such-flag']))).toEqual({
        code: Code.InvalidArgument,
        reason: 'INVALID_ARGUMENT',
        domain: 'latchkey',
        metadata: {},
        message: 'flags[0].flag: flags/kill-switch was not resolved with this token; flags[1].flag: flags/no-such-flag was not resolved with this token',
        fieldViolations: [
          { field: 'flags[0].flag', description: 'flags/kill-switch was not resolved with this token' },
          { field: 'flags[1].flag', description: 'flags/no-such-flag was not resolved with this token' },
        ],
      });
      expect(await h.rows('browser')).toEqual([]);
    });
  });

  describe('one exposure per resolve and flag', () => {
    it('ResolveFlags with apply=true, then ApplyFlags (twice, and with a flag repeated): one row per flag', async () => {
      const id = `rpc`;
      const secret = await h.credential(id);
      const res = await h.resolve(secret, ['flags/checkout', 'flags/banner', 'flags/no-such-flag'], true);
      const afterResolve = await h.rows(id);
      expect(afterResolve).toEqual([
        { resolve_token: res.resolveId, flag: 'flags/banner', variant: 'off', apply_time: expect.any(String) },
        { resolve_token: res.resolveId, flag: 'flags/checkout', variant: 'on', apply_time: expect.any(String) },
      ]);
      // Already applied: still OK (idempotent, as SDKs that apply on resolve and again later expect), no new rows.
      expect(await h.apply(secret, res.resolveToken, ['flags/checkout', 'flags/banner', 'flags/checkout'], new Date('2030-01-01T00:00:00.000Z'))).toEqual(
        expect.objectContaining({ $typeName: 'latchkey.flags.resolver.v1.ApplyFlagsResponse' }),
      );
      await h.apply(secret, res.resolveToken, ['banner']);
      // The first apply is the one kept, with its time.
      expect(await h.rows(id)).toEqual(afterResolve);
    });

    it('ApplyFlags twice, and a flag named twice in one request: one row, the first apply time kept', async () => {
      const id = `twice`;
      const secret = await h.credential(id);
      const res = await h.resolve(secret, ['flags/checkout', 'flags/banner']);
      expect(await h.rows(id)).toEqual([]);
      const first = new Date('2026-11-23T10:00:00.000Z');
      await h.apply(secret, res.resolveToken, ['flags/checkout', 'checkout', 'flags/checkout'], first);
      await h.apply(secret, res.resolveToken, ['flags/checkout', 'flags/banner'], new Date('2026-11-23T10:05:00.000Z'));
      await h.apply(secret, res.resolveToken, ['flags/banner', 'flags/checkout'], new Date('2026-11-23T10:09:00.000Z'));
      expect(await h.rows(id)).toEqual([
        { resolve_token: res.resolveId, flag: 'flags/banner', variant: 'off', apply_time: '2026-11-23T10:05:00.000Z' },
        { resolve_token: res.resolveId, flag: 'flags/checkout', variant: 'on', apply_time: first.toISOString() },
      ]);
      // A new resolve is a new exposure.
      const again = await h.resolve(secret, ['flags/checkout']);
      await h.apply(secret, again.resolveToken, ['flags/checkout'], first);
      const byToken = (rows: { resolve_token: string; flag: string }[]) => rows.map((r) => `${r.resolve_token} ${r.flag}`).sort();
      expect(byToken(await h.rows(id))).toEqual(
        byToken([
          { resolve_token: res.resolveId, flag: 'flags/banner' },
          { resolve_token: res.resolveId, flag: 'flags/checkout' },
          { resolve_token: again.resolveId, flag: 'flags/checkout' },
        ]),
      );
    });

    it('a Confidence SDK resolving with apply=true and then calling /v1/flags:apply stores each exposure once', async () => {
      const id = `confidence`;
      const secret = await h.credential(id, { format: Format.PUBLISHABLE_KEY, class: undefined });
      const [status, body] = await h.confidenceResolve(secret, ['flags/checkout', 'flags/banner'], true);
      expect(status).toBe(200);
      const token = body.resolveToken as string;
      const afterResolve = await h.rows(id);
      expect(afterResolve.map((r) => [r.resolve_token, r.flag, r.variant])).toEqual([
        [body.resolveId, 'flags/banner', 'off'],
        [body.resolveId, 'flags/checkout', 'on'],
      ]);
      expect(await h.confidenceApply(secret, token, ['flags/checkout', 'flags/banner'], new Date('2030-01-01T00:00:00.000Z'))).toEqual([200, {}]);
      expect(await h.confidenceApply(secret, token, ['flags/checkout', 'flags/checkout'])).toEqual([200, {}]);
      // And over Connect with the same token.
      await h.apply(secret, token, ['flags/banner']);
      expect(await h.rows(id)).toEqual(afterResolve);
    });

    it('/v1/flags:resolve without apply, then /v1/flags:apply twice: one row per flag', async () => {
      const id = `confidence-later`;
      const secret = await h.credential(id, { format: Format.PUBLISHABLE_KEY, class: undefined });
      const [, body] = await h.confidenceResolve(secret, ['flags/checkout'], false);
      expect(await h.rows(id)).toEqual([]);
      const when = new Date('2026-11-23T11:00:00.000Z');
      expect(await h.confidenceApply(secret, body.resolveToken as string, ['flags/checkout'], when)).toEqual([200, {}]);
      expect(await h.confidenceApply(secret, body.resolveToken as string, ['flags/checkout'])).toEqual([200, {}]);
      expect(await h.rows(id)).toEqual([{ resolve_token: body.resolveId, flag: 'flags/checkout', variant: 'on', apply_time: when.toISOString() }]);
    });
  });
});

describe('resolve tokens across servers', () => {
  it('refuses a token signed by another installation (another database), even for a credential of the same name', async () => {
    const x = await startOn(undefined);
    const y = await startOn(undefined);
    try {
      const secrets: string[] = [];
      for (const s of [x, y]) {
        const h = harness(s);
        await h.creds.createClient({ clientId: 'app' });
        await h.flags.createFlag({ flagId: 'checkout', flag: { kind: Kind.BOOLEAN, variants, defaultVariant: 'on' } });
        secrets.push(await h.credential('same-name'));
      }
      const [hx, hy] = [harness(x), harness(y)];
      const fromX = (await hx.resolve(secrets[0]!, ['flags/checkout'])).resolveToken;
      expect(await refusal(hy.apply(secrets[1]!, fromX, ['flags/checkout']))).toEqual(INVALID_TOKEN);
      expect(await hy.confidenceApply(secrets[1]!, fromX, ['flags/checkout'])).toEqual(INVALID_TOKEN_HTTP);
      expect(await hy.allRows()).toEqual([]);
      // Each installation made its own key.
      const keyOf = (s: TestServer) => s.app.database.db.selectFrom('server_keys').select(['id', 'key']).execute();
      const [kx, ky] = [await keyOf(x), await keyOf(y)];
      expect(kx.map((k) => [k.id, Buffer.from(k.key, 'base64').length])).toEqual([['resolve-token', 32]]);
      expect(kx[0]!.key).not.toBe(ky[0]!.key);
    } finally {
      await x.close();
      await y.close();
    }
  });

  it('two servers sharing one PostgreSQL database accept each other’s tokens, and store one row per resolve and flag', async () => {
    const pg = await createTestDatabase();
    let a: TestServer | undefined;
    let b: TestServer | undefined;
    try {
      // Started together, both race to create the key; both must end up with the one stored.
      [a, b] = await Promise.all([startOn(pg), startOn(pg)]);
      const [ha, hb] = [harness(a), harness(b)];
      await ha.creds.createClient({ clientId: 'app' });
      await ha.flags.createFlag({ flagId: 'checkout', flag: { kind: Kind.BOOLEAN, variants, defaultVariant: 'on' } });
      const secret = await ha.credential('shared');

      // Resolved on A, applied on B (the flag catalog is not needed to apply).
      const fromA = await ha.resolve(secret, ['flags/checkout']);
      await hb.apply(secret, fromA.resolveToken, ['flags/checkout']);
      expect(await hb.confidenceApply(secret, fromA.resolveToken, ['flags/checkout'])).toEqual([200, {}]);
      await ha.apply(secret, fromA.resolveToken, ['flags/checkout']);

      // Resolved on B (once B's catalog has the flag) with apply=true, applied again on A.
      let fromB = await hb.resolve(secret, ['flags/checkout'], true);
      for (let i = 0; i < 50 && ResolveReason[fromB.resolvedFlags[0]!.reason] === 'FLAG_NOT_FOUND'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        fromB = await hb.resolve(secret, ['flags/checkout'], true);
      }
      expect(ResolveReason[fromB.resolvedFlags[0]!.reason]).toBe('DEFAULT');
      await ha.apply(secret, fromB.resolveToken, ['flags/checkout']);
      expect(await ha.confidenceApply(secret, fromB.resolveToken, ['flags/checkout'])).toEqual([200, {}]);

      expect((await ha.rows('shared')).map((r) => [r.resolve_token, r.flag, r.variant]).sort()).toEqual(
        [
          [fromA.resolveId, 'flags/checkout', 'on'],
          [fromB.resolveId, 'flags/checkout', 'on'],
        ].sort(),
      );
      expect(await a.app.database.db.selectFrom('server_keys').select('id').execute()).toEqual([{ id: 'resolve-token' }]);
    } finally {
      await a?.close();
      await b?.close();
      await pg.drop();
    }
  });
});
