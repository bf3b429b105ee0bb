import { Code } from '@connectrpc/connect';
import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { ClientCredential_State as State } from '../../../gen/latchkey/clients/v1/client_credential_pb.js';
import { Flag_Kind as Kind, Flag_State as FlagState } from '../../../gen/latchkey/flags/admin/v1/flag_pb.js';
import { FlagAdminService } from '../../../gen/latchkey/flags/admin/v1/flag_admin_service_pb.js';
import { ApiClientService } from '../../../gen/latchkey/iam/v1/api_client_service_pb.js';
import { BOOTSTRAP, basic, connectClient } from '../../support/clients.js';
import { refusal } from '../../support/errors.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { createCredential, startReplicas, useCredential, type Replica, type Replicas } from '../../support/replicas.js';

/**
 * SPEC §1: writes are atomic per resource with any number of replicas. Two latchkey processes on
 * one PostgreSQL database each take one side of a pair of concurrent writes, many times; after
 * every trial both writes must be there, and no Update may have undone a revoke, an archive, a
 * role change or an allow-list change. Before writes were compare-and-swap on the etag, each of
 * these lost a write in a good share of the trials (an Update re-read the row and wrote every
 * column back).
 */
const TRIALS = 40;

describe('concurrent writes from two replicas on one PostgreSQL database', () => {
  let database: TestDatabase;
  let cluster: Replicas;
  let a: Replica;
  let b: Replica;
  const auth = basic(BOOTSTRAP.clientId, BOOTSTRAP.secret);
  const credentials = (r: Replica) => connectClient(r, ClientCredentialService, auth);
  const flagAdmin = (r: Replica) => connectClient(r, FlagAdminService, auth);
  const apiClients = (r: Replica) => connectClient(r, ApiClientService, auth);

  beforeAll(async () => {
    database = await createTestDatabase();
    cluster = await startReplicas(2, database.url);
    [a, b] = cluster.replicas as [Replica, Replica];
    await credentials(a).createClient({ clientId: 'app' });
  });
  afterAll(async () => {
    await cluster?.stop();
    await database?.drop();
  });

  const newCredential = (id: string) => createCredential(a, id);
  const use = useCredential;

  /** The answer of `r` once it differs from `stale`, for a change made on the other replica (SPEC §3: within a second). */
  const settled = async (r: Replica, secret: string, stale: string) => {
    for (let i = 0; i < 40; i++) {
      const seen = await use(r, secret);
      if (seen !== stale) return seen;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return use(r, secret);
  };

  it('an Update racing a Revoke never leaves the credential active', async () => {
    for (let i = 0; i < TRIALS; i++) {
      const secret = await newCredential(`revoke-race-${i}`);
      const name = `clients/app/credentials/revoke-race-${i}`;
      const [updated, revoked] = await Promise.all([
        credentials(a).updateClientCredential({ credential: { name, displayName: `renamed ${i}` }, updateMask: { paths: ['display_name'] } }).then(
          (c) => c.displayName,
          (err: unknown) => String(err),
        ),
        credentials(b).revokeClientCredential({ name }),
      ]);
      expect(revoked.state).toBe(State.REVOKED);
      // The update either landed before the revoke (and the revoke kept its name), or saw the
      // revoked credential and was refused: never a write that brought the credential back.
      const stored = await credentials(a).getClientCredential({ name });
      expect(stored.state).toBe(State.REVOKED);
      if (updated === `renamed ${i}`) expect(stored.displayName).toBe(`renamed ${i}`);
      else expect(updated).toContain('is revoked and cannot be changed');
      expect(await use(b, secret)).toBe('410 CREDENTIAL_REVOKED');
      expect(await settled(a, secret, '200')).toBe('410 CREDENTIAL_REVOKED');
    }
  });

  it('an Update of one field racing an allow-list change keeps the restriction', async () => {
    for (let i = 0; i < TRIALS; i++) {
      const secret = await newCredential(`ip-race-${i}`);
      const name = `clients/app/credentials/ip-race-${i}`;
      await Promise.all([
        credentials(a).updateClientCredential({ credential: { name, displayName: `renamed ${i}` }, updateMask: { paths: ['display_name'] } }),
        credentials(b).updateClientCredential({ credential: { name, allowedIpRanges: ['10.0.0.0/8'] }, updateMask: { paths: ['allowed_ip_ranges'] } }),
      ]);
      const stored = await credentials(b).getClientCredential({ name });
      expect([stored.displayName, stored.allowedIpRanges]).toEqual([`renamed ${i}`, ['10.0.0.0/8']]);
      expect(await use(b, secret)).toBe('403 IP_NOT_ALLOWED');
      expect(await settled(a, secret, '200')).toBe('403 IP_NOT_ALLOWED');
    }
  });

  it("an Update of an API client's description racing a role change keeps the new roles", async () => {
    for (let i = 0; i < TRIALS; i++) {
      const id = `machine-${i}`;
      await apiClients(a).createApiClient({ apiClientId: id, apiClient: { roles: ['roles/admin'] } });
      const name = `apiClients/${id}`;
      await Promise.all([
        apiClients(a).updateApiClient({ apiClient: { name, description: `described ${i}` }, updateMask: { paths: ['description'] } }),
        apiClients(b).updateApiClient({ apiClient: { name, roles: ['roles/flag-viewer'] }, updateMask: { paths: ['roles'] } }),
      ]);
      const stored = await apiClients(a).getApiClient({ name });
      expect([stored.description, stored.roles]).toEqual([`described ${i}`, ['roles/flag-viewer']]);
    }
  });

  const newFlag = (id: string) =>
    flagAdmin(a).createFlag({
      flagId: id,
      flag: { kind: Kind.BOOLEAN, variants: [{ name: 'on', value: { kind: { case: 'boolValue', value: true } } }, { name: 'off', value: { kind: { case: 'boolValue', value: false } } }] },
    });

  it('two UpdateFlag calls on different fields both survive', async () => {
    for (let i = 0; i < TRIALS; i++) {
      const name = (await newFlag(`fields-race-${i}`)).name;
      await Promise.all([
        flagAdmin(a).updateFlag({ flag: { name, description: `described ${i}` }, updateMask: { paths: ['description'] } }),
        flagAdmin(b).updateFlag({ flag: { name, defaultVariant: 'off' }, updateMask: { paths: ['default_variant'] } }),
      ]);
      const stored = await flagAdmin(b).getFlag({ name });
      expect([stored.description, stored.defaultVariant]).toEqual([`described ${i}`, 'off']);
    }
  });

  it('an archive racing an Update leaves the flag archived, with the update kept', async () => {
    for (let i = 0; i < TRIALS; i++) {
      const name = (await newFlag(`archive-race-${i}`)).name;
      await Promise.all([
        flagAdmin(a).updateFlag({ flag: { name, description: `described ${i}` }, updateMask: { paths: ['description'] } }),
        flagAdmin(b).archiveFlag({ name }),
      ]);
      const stored = await flagAdmin(a).getFlag({ name });
      expect([stored.state, stored.description]).toEqual([FlagState.ARCHIVED, `described ${i}`]);
    }
  });

  it('etags: every write replaces the etag, and a stale one is refused with ABORTED ETAG_MISMATCH on either replica', async () => {
    const created = await newFlag('etag-flag');
    expect(created.etag).toMatch(/^[0-9a-f]{16}$/);
    expect((await flagAdmin(b).getFlag({ name: created.name })).etag).toBe(created.etag);
    const updated = await flagAdmin(b).updateFlag({ flag: { name: created.name, description: 'one', etag: created.etag }, updateMask: { paths: ['description'] } });
    expect(updated.etag).not.toBe(created.etag);
    const stale = await refusal(flagAdmin(a).updateFlag({ flag: { name: created.name, description: 'two', etag: created.etag }, updateMask: { paths: ['description'] } }));
    expect(stale).toMatchObject({
      code: Code.Aborted,
      reason: 'ETAG_MISMATCH',
      domain: 'latchkey',
      metadata: { resource: 'flags/etag-flag' },
      message: 'flags/etag-flag changed since it was read (its etag no longer matches); read it again and retry',
    });
    expect(await refusal(flagAdmin(a).deleteFlag({ name: created.name, etag: created.etag }))).toMatchObject({ code: Code.Aborted, reason: 'ETAG_MISMATCH' });
    expect((await flagAdmin(a).getFlag({ name: created.name })).description).toBe('one');
    await flagAdmin(a).deleteFlag({ name: created.name, etag: updated.etag });
    expect(await refusal(flagAdmin(b).getFlag({ name: created.name }))).toMatchObject({ code: Code.NotFound });
    // A delete with an etag of a resource that is gone says so.
    expect(await refusal(flagAdmin(b).deleteFlag({ name: created.name, etag: updated.etag }))).toMatchObject({ code: Code.NotFound, reason: 'NOT_FOUND' });
  });

  it('two writes that both send the etag they read: exactly one wins, the other is ABORTED', async () => {
    for (let i = 0; i < TRIALS; i++) {
      await newCredential(`etag-race-${i}`);
      const name = `clients/app/credentials/etag-race-${i}`;
      const { etag } = await credentials(a).getClientCredential({ name });
      const outcomes = await Promise.all(
        [a, b].map((r, k) =>
          credentials(r)
            .updateClientCredential({ credential: { name, displayName: `writer ${k}`, etag }, updateMask: { paths: ['display_name'] } })
            .then(
              () => `ok ${k}`,
              async (err: unknown) => (await refusal(Promise.reject(err))).reason,
            ),
        ),
      );
      const winners = outcomes.filter((o) => o?.startsWith('ok'));
      expect([winners.length, outcomes.filter((o) => o === 'ETAG_MISMATCH').length]).toEqual([1, 1]);
      expect((await credentials(b).getClientCredential({ name })).displayName).toBe(`writer ${winners[0]!.slice(3)}`);
    }
  });
});
