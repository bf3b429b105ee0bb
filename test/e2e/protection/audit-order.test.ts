import { Code } from '@connectrpc/connect';
import { AuditService } from '../../../gen/latchkey/audit/v1/audit_service_pb.js';
import { AuditEvent_Kind } from '../../../gen/latchkey/audit/v1/audit_event_pb.js';
import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, basic, connectClient } from '../../support/clients.js';
import { refusal } from '../../support/errors.js';
import { startTestServer, type TestServer } from '../../support/server.js';

/** ListAuditEvents pages oldest first by default and newest first with order_by "event_time desc" (AIP-132). */
describe('the order of ListAuditEvents', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(BOOTSTRAP_CONFIG);
    const admin = connectClient(server, ClientCredentialService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
    for (const id of ['a', 'b', 'c', 'd', 'e']) await admin.createClient({ clientId: id });
  });
  afterAll(async () => {
    await server.close();
  });

  const list = async (orderBy: string) => {
    const audit = connectClient(server, AuditService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await audit.listAuditEvents({ kind: AuditEvent_Kind.ADMIN_CHANGE, pageSize: 2, pageToken, orderBy });
      seen.push(...page.auditEvents.map((e) => e.resource));
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    return seen;
  };

  it('oldest first, and newest first across pages', async () => {
    const oldest = ['clients/a', 'clients/b', 'clients/c', 'clients/d', 'clients/e'];
    expect(await list('')).toEqual(oldest);
    expect(await list('event_time')).toEqual(oldest);
    expect(await list('event_time desc')).toEqual([...oldest].reverse());
  });

  it('refuses another order', async () => {
    const audit = connectClient(server, AuditService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
    expect(await refusal(audit.listAuditEvents({ orderBy: 'actor' }))).toMatchObject({
      code: Code.InvalidArgument,
      fieldViolations: [{ field: 'order_by', description: 'must be "event_time" (oldest first, the default) or "event_time desc" (newest first)' }],
    });
  });
});
