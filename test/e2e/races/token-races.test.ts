import { Code } from '@connectrpc/connect';
import { ApiClientService } from '../../../gen/latchkey/iam/v1/api_client_service_pb.js';
import { BOOTSTRAP, basic, bearer, connectClient } from '../../support/clients.js';
import { refusal } from '../../support/errors.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { startReplicas, type Replica, type Replicas } from '../../support/replicas.js';

/**
 * SPEC §3/§5: rotating an API client's secret or deleting it ends every access token issued with
 * the old secret, including tokens whose exchange was in flight. Exchanges run on one replica
 * while the other rotates or deletes, on one PostgreSQL database.
 */
const TRIALS = 15;
const EXCHANGES = 12;

describe('token exchanges racing a rotation or a delete, on two replicas', () => {
  let database: TestDatabase;
  let cluster: Replicas;
  let a: Replica;
  let b: Replica;
  const admin = (r: Replica) => connectClient(r, ApiClientService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));

  beforeAll(async () => {
    database = await createTestDatabase();
    cluster = await startReplicas(2, database.url);
    [a, b] = cluster.replicas as [Replica, Replica];
  });
  afterAll(async () => {
    await cluster?.stop();
    await database?.drop();
  });

  /** POST /v1/oauth/token: the status and, on 200, the token. */
  const exchange = async (r: Replica, clientId: string, secret: string) => {
    const res = await fetch(`${r.baseUrl}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }).toString(),
    });
    const body = (await res.json()) as { access_token?: string; error?: string };
    return { status: res.status, token: body.access_token, error: body.error };
  };

  /** What each replica answers a call made with `token`. */
  const answers = (token: string) =>
    Promise.all([a, b].map((r) => refusal(connectClient(r, ApiClientService, bearer(token)).listRoles({})).then((e) => `${e.code} ${e.reason}`, () => 'accepted')));

  const ended = `${Code.Unauthenticated} ACCESS_TOKEN_INVALID`;

  it('a rotation ends every token of the old secret, also those whose exchange was in flight', async () => {
    for (let i = 0; i < TRIALS; i++) {
      const created = await admin(a).createApiClient({ apiClientId: `rotated-${i}`, apiClient: { roles: ['roles/flag-viewer'] } });
      const [results, rotated] = await Promise.all([
        Promise.all(Array.from({ length: EXCHANGES }, () => exchange(a, created.clientId, created.clientSecret))),
        admin(b).rotateApiClientSecret({ name: created.name }),
      ]);
      // Every exchange either won (200) or found the secret already rotated (401 invalid_client).
      for (const r of results) expect(r.status === 200 ? 'ok' : `${r.status} ${r.error}`).toMatch(/^(ok|401 invalid_client)$/);
      for (const r of results.filter((x) => x.token)) expect(await answers(r.token!)).toEqual([ended, ended]);
      // The new secret works, and its tokens do.
      const fresh = await exchange(b, created.clientId, rotated.clientSecret);
      expect(fresh.status).toBe(200);
      expect(await answers(fresh.token!)).toEqual(['accepted', 'accepted']);
    }
  });

  it('a delete during exchanges answers each one 200 or invalid_client, never 500, and ends every token', async () => {
    for (let i = 0; i < TRIALS; i++) {
      const created = await admin(a).createApiClient({ apiClientId: `deleted-${i}`, apiClient: { roles: ['roles/flag-viewer'] } });
      const [results] = await Promise.all([
        Promise.all(Array.from({ length: EXCHANGES }, () => exchange(a, created.clientId, created.clientSecret))),
        admin(b).deleteApiClient({ name: created.name }),
      ]);
      for (const r of results) expect(r.status === 200 ? 'ok' : `${r.status} ${r.error}`).toMatch(/^(ok|401 invalid_client)$/);
      for (const r of results.filter((x) => x.token)) expect(await answers(r.token!)).toEqual([ended, ended]);
    }
  });
});
