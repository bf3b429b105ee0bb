import { BOOTSTRAP, BOOTSTRAP_CONFIG, basic } from '../../support/clients.js';
import { startTestServer, type TestServer } from '../../support/server.js';

/**
 * SPEC §8: management JSON is parsed strictly. A misspelled field or enum value is refused naming
 * it, instead of being dropped (the flag created without the field) or read as unset. Runtime
 * calls stay lenient: SDKs send fields a server may not know.
 */
describe('strict JSON on the management API', () => {
  let server: TestServer;
  const post = (method: string, body: unknown, headers: Record<string, string> = basic(BOOTSTRAP.clientId, BOOTSTRAP.secret)) =>
    fetch(`${server.baseUrl}/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as { code?: string; message?: string; details?: { type: string; debug?: { reason?: string } }[] },
    }));

  beforeAll(async () => {
    server = await startTestServer(BOOTSTRAP_CONFIG);
  });
  afterAll(async () => {
    await server.close();
  });

  const flag = { kind: 'KIND_BOOLEAN', variants: [{ name: 'on', value: true }, { name: 'off', value: false }] };

  it('refuses an unknown field, naming it, and stores nothing', async () => {
    const res = await post('latchkey.flags.admin.v1.FlagAdminService/CreateFlag', { flagId: 'typo', flag: { ...flag, defaultVariantt: 'off' } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('invalid_argument');
    expect(res.body.message).toBe('cannot decode message latchkey.flags.admin.v1.Flag from JSON: key "defaultVariantt" is unknown');
    expect(res.body.details?.[0]?.debug?.reason).toBe('MALFORMED_MESSAGE');
    const get = await post('latchkey.flags.admin.v1.FlagAdminService/GetFlag', { name: 'flags/typo' });
    expect(get.status).toBe(404);
  });

  it('refuses an unknown enum value, naming it, instead of reading it as unset', async () => {
    const res = await post('latchkey.flags.admin.v1.FlagAdminService/CreateFlag', { flagId: 'kind-typo', flag: { ...flag, kind: 'KIND_BOOLEEN' } });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('cannot decode enum latchkey.flags.admin.v1.Flag.Kind from JSON: "KIND_BOOLEEN"');
  });

  it('keeps runtime calls lenient about fields they do not know', async () => {
    const res = await post('latchkey.flags.resolver.v1.FlagResolverService/ResolveFlags', { flags: [], sdkExtra: 'x' }, {});
    // Refused for its missing credential, not for the unknown field.
    expect([res.status, res.body.details?.[0]?.debug?.reason]).toEqual([401, 'CREDENTIAL_MISSING']);
  });
});
