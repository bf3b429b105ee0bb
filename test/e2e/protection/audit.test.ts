import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { AuditService } from '../../../gen/latchkey/audit/v1/audit_service_pb.js';
import { AuditEvent_Kind } from '../../../gen/latchkey/audit/v1/audit_event_pb.js';
import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { ClientCredential_Class as Class, ClientCredential_Format as Format } from '../../../gen/latchkey/clients/v1/client_credential_pb.js';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, TestClock, basic, connectClient } from '../../support/clients.js';
import { spawnLatchkey } from '../../support/process.js';
import { startTestServer, type TestServer } from '../../support/server.js';

const credentialSpec = (extra: object = {}) => ({ class: Class.SECRET, format: Format.CLIENT_SECRET, projects: ['*'], scopes: ['flags:read'], ...extra });
const get = (baseUrl: string, headers: Record<string, string>) => fetch(`${baseUrl}/v1/credential`, { headers }).then((r) => r.status);

describe('the validation audit trail', () => {
  let server: TestServer;
  const clock = new TestClock(Date.now());
  let admin: ReturnType<typeof connectClient<typeof ClientCredentialService>>;
  let audit: ReturnType<typeof connectClient<typeof AuditService>>;

  beforeAll(async () => {
    server = await startTestServer(BOOTSTRAP_CONFIG, { now: clock.now });
    admin = connectClient(server, ClientCredentialService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
    audit = connectClient(server, AuditService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
    await admin.createClient({ clientId: 'app' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('accounts for every validation of a mixed burst exactly once, with its reason: refusals and the first use one by one, the rest counted', async () => {
    const ok = await admin.createClientCredential({ parent: 'clients/app', credentialId: 'burst', credential: credentialSpec() });
    const walled = await admin.createClientCredential({ parent: 'clients/app', credentialId: 'walled', credential: credentialSpec({ allowedOrigins: ['https://app.example.com'] }) });
    const plan = [
      ...Array.from({ length: 7 }, () => ({ headers: { authorization: `Bearer ${ok.secret}` }, credential: ok.credential!.name, reason: 'OK' })),
      ...Array.from({ length: 3 }, () => ({ headers: { authorization: `Bearer ${walled.secret}`, origin: 'https://evil.example' }, credential: walled.credential!.name, reason: 'ORIGIN_NOT_ALLOWED' })),
    ];
    const statuses = await Promise.all(plan.map((p) => get(server.baseUrl, p.headers)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(7);
    for (const p of [ok.credential!.name, walled.credential!.name]) {
      const res = await audit.listAuditEvents({ kind: AuditEvent_Kind.CREDENTIAL_VALIDATION, credential: p, pageSize: 100 });
      expect(res.auditEvents.every((e) => e.method === 'GET /v1/credential' && e.client === 'clients/app' && e.clientAddress === '127.0.0.1')).toBe(true);
      const total = res.auditEvents.reduce((n, e) => n + Number(e.count), 0);
      expect(total).toBe(plan.filter((x) => x.credential === p).length);
    }
    // The first success from 127.0.0.1 individually (it has a request id), the other six as one count of that minute.
    const okEvents = (await audit.listAuditEvents({ credential: ok.credential!.name, pageSize: 100 })).auditEvents;
    expect(okEvents.map((e) => `${e.outcome} ×${e.count} ${e.requestId === '' ? 'counted' : 'individual'}`).sort()).toEqual(['OK ×1 individual', 'OK ×6 counted']);
    const walledEvents = (await audit.listAuditEvents({ credential: walled.credential!.name, pageSize: 100 })).auditEvents;
    expect(walledEvents.map((e) => `${e.outcome} ×${e.count}`)).toEqual(Array(3).fill('ORIGIN_NOT_ALLOWED ×1'));
  });

  it('records an unknown secret by the first 8 hex characters of its digest, never in plaintext', async () => {
    const { secret } = await admin.createClientCredential({ parent: 'clients/app', credentialId: 'gone', credential: credentialSpec() });
    await admin.deleteClientCredential({ name: 'clients/app/credentials/gone' });
    expect(await get(server.baseUrl, { authorization: `Bearer ${secret}` })).toBe(401);
    const prefix = createHash('sha256').update(secret).digest('hex').slice(0, 8);
    const res = await audit.listAuditEvents({ kind: AuditEvent_Kind.CREDENTIAL_VALIDATION, outcome: 'CREDENTIAL_UNKNOWN' });
    const record = res.auditEvents.find((e) => e.digestPrefix === prefix);
    expect(record).toMatchObject({ outcome: 'CREDENTIAL_UNKNOWN', credential: '', digestPrefix: prefix });
    const everything = JSON.stringify((await audit.listAuditEvents({ pageSize: 1000 })).auditEvents.map((e) => [e.actor, e.resource, e.digestPrefix, e.credential]));
    expect(everything).not.toContain(secret);
  });

  it("reports a credential's usage: counts by outcome, last use, last address and origin", async () => {
    const { secret, credential } = await admin.createClientCredential({ parent: 'clients/app', credentialId: 'used', credential: credentialSpec({ rateLimit: { requests: 3, window: { seconds: 60n, nanos: 0 } } }) });
    for (let i = 0; i < 4; i++) await get(server.baseUrl, { authorization: `Bearer ${secret}`, origin: 'https://shop.example.com' });
    const usage = await audit.getCredentialUsage({ name: credential!.name, window: { seconds: 3600n, nanos: 0 } });
    expect(usage.countsByOutcome).toEqual({ OK: 3n, RATE_LIMITED: 1n });
    expect(usage.total).toBe(4n);
    expect(usage.lastClientAddress).toBe('127.0.0.1');
    expect(usage.lastOrigin).toBe('https://shop.example.com');
    expect(Number(usage.lastUseTime?.seconds)).toBe(Math.floor(clock.now().getTime() / 1000));
    expect((await audit.getCredentialUsage({ name: 'clients/app/credentials/nope' }).catch((e: { code: number }) => e.code))).toBe(5);
  });

  it('removes records past the retention period in the background job', async () => {
    const before = (await audit.listAuditEvents({ pageSize: 1000 })).auditEvents.length;
    expect(before).toBeGreaterThan(0);
    clock.advance(91 * 86_400_000); // default retention 90 days
    expect(await server.app.retention.prune()).toBe(before);
    expect((await audit.listAuditEvents({ pageSize: 1000 })).auditEvents).toEqual([]);
  });
});

describe('audit queue overflow', () => {
  it('is counted and exposed in /metrics, never silent', async () => {
    const server = await startTestServer(BOOTSTRAP_CONFIG, { audit: { maxQueue: 5, flushIntervalMs: 60_000 } });
    try {
      const admin = connectClient(server, ClientCredentialService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
      await admin.createClient({ clientId: 'app' }); // an admin record: its own path, written before the answer
      for (let i = 0; i < 7; i++) await get(server.baseUrl, {}); // seven validations: 5 fit, 2 overflow
      expect(server.app.audit.overflow).toBe(2);
      const metrics = await fetch(`${server.baseUrl}/metrics`).then((r) => r.text());
      expect(metrics).toMatch(/^latchkey_audit_overflow_total 2$/m);
      expect(metrics).toMatch(/^latchkey_audit_queue_depth 5$/m);
      expect(metrics).toMatch(/^latchkey_credential_validations_total\{reason="CREDENTIAL_MISSING"\} 7$/m);
      expect(metrics).toMatch(/^latchkey_requests_total\{procedure="GET \/v1\/credential",code="401"\} 7$/m);
      expect(metrics).toMatch(/^latchkey_requests_total\{procedure="\/latchkey.clients.v1.ClientCredentialService\/CreateClient",code="OK"\} 1$/m);
      // Counts are handed to prom-client at each scrape; a second scrape must not add them again.
      const again = await fetch(`${server.baseUrl}/metrics`).then((r) => r.text());
      expect(again).toMatch(/^latchkey_credential_validations_total\{reason="CREDENTIAL_MISSING"\} 7$/m);
      expect(again).toMatch(/^latchkey_requests_total\{procedure="GET \/v1\/credential",code="401"\} 7$/m);
      expect(again).toMatch(/^latchkey_requests_total\{procedure="GET \/metrics",code="200"\} 1$/m);
      await server.app.audit.flush();
      expect(server.logs.lines.some((l) => l.includes('"overflow":2') && l.includes('audit queue overflow'))).toBe(true);
    } finally {
      await server.close();
    }
  });
});

describe('audit records survive SIGTERM right after a burst', () => {
  it('flushes every queued record before the process exits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-sigterm-'));
    const dbPath = join(dir, 'db.sqlite');
    const run = spawnLatchkey(['serve'], {
      LATCHKEY_PORT: '0',
      LATCHKEY_HOST: '127.0.0.1',
      LATCHKEY_DATABASE_URL: dbPath,
      LATCHKEY_BOOTSTRAP_CLIENT_ID: BOOTSTRAP.clientId,
      LATCHKEY_BOOTSTRAP_CLIENT_SECRET: BOOTSTRAP.secret,
    });
    try {
      const listening = await run.waitForLog(/is listening/).catch(async () => {
        throw new Error(run.stderr());
      });
      const baseUrl = `http://127.0.0.1:${listening.port as number}`;
      const transport = createConnectTransport({ baseUrl, httpVersion: '1.1' });
      const admin = createClient(ClientCredentialService, transport);
      const auth = { headers: basic(BOOTSTRAP.clientId, BOOTSTRAP.secret) };
      await admin.createClient({ clientId: 'app' }, auth);
      const { secret } = await admin.createClientCredential({ parent: 'clients/app', credentialId: 'k', credential: credentialSpec() }, auth);
      const N = 60;
      const statuses = await Promise.all(
        Array.from({ length: N }, (_, i) => get(baseUrl, i % 3 === 0 ? { authorization: 'Bearer garbage' } : { authorization: `Bearer ${secret}` })),
      );
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
      expect(statuses.filter((s) => s === 200)).toHaveLength(40);
      const db = new Database(dbPath, { readonly: true });
      const rows = db
        .prepare(
          `select outcome, sum(n) as n from (
             select outcome, 1 as n from audit_events where kind = 'CREDENTIAL_VALIDATION'
             union all select outcome, count as n from audit_validation_counts
           ) group by outcome order by outcome`,
        )
        .all() as { outcome: string; n: number }[];
      db.close();
      expect(rows).toEqual([
        { outcome: 'CREDENTIAL_MALFORMED', n: 20 },
        { outcome: 'OK', n: 40 },
      ]);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
