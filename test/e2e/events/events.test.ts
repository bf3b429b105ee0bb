import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromDate, timestampFromMs } from '@bufbuild/protobuf/wkt';
import { Code } from '@connectrpc/connect';
import { BadRequestSchema, ErrorInfoSchema } from '../../../gen/google/rpc/error_details_pb.js';
import { StatusSchema } from '../../../gen/google/rpc/status_pb.js';
import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { ClientCredential_Class as Class, ClientCredential_Format as Format } from '../../../gen/latchkey/clients/v1/client_credential_pb.js';
import { Event_Kind as Kind, Event_Level as Level, type EventSchema } from '../../../gen/latchkey/events/v1/event_pb.js';
import {
  EventService,
  PublishEventsRequestSchema,
  PublishEventsResponseSchema,
  type ListEventsRequestSchema,
} from '../../../gen/latchkey/events/v1/event_service_pb.js';
import { ApiClientService } from '../../../gen/latchkey/iam/v1/api_client_service_pb.js';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, TestClock, basic, connectClient } from '../../support/clients.js';
import { refusal } from '../../support/errors.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { startTestServer, type TestServer } from '../../support/server.js';

type EventInit = MessageInitShape<typeof EventSchema>;
type ListInit = MessageInitShape<typeof ListEventsRequestSchema>;

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const ID = /^events\/e\d{13}[0-9a-hjkmnp-tv-z]{10}$/;

/** PublishEvents over gRPC with @grpc/grpc-js, decoding the refusal's details from the trailer. */
function grpcPublish(server: TestServer, secret: string, events: EventInit[]) {
  const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${secret}`);
  return new Promise<{ code: number; reason?: string; violations?: number; violationCount?: string; accepted?: number }>((resolve) => {
    client.makeUnaryRequest(
      '/latchkey.events.v1.EventService/PublishEvents',
      (m: ReturnType<typeof create<typeof PublishEventsRequestSchema>>) => Buffer.from(toBinary(PublishEventsRequestSchema, m)),
      (b: Buffer) => fromBinary(PublishEventsResponseSchema, b),
      create(PublishEventsRequestSchema, { events }),
      md,
      (err, value) => {
        client.close();
        if (!err) return resolve({ code: 0, accepted: value?.acceptedCount });
        const status = fromBinary(StatusSchema, err.metadata.get('grpc-status-details-bin')[0] as Buffer);
        const out: { code: number; reason?: string; violations?: number; violationCount?: string } = { code: err.code };
        for (const any of status.details) {
          if (any.typeUrl.endsWith('google.rpc.ErrorInfo')) {
            const info = fromBinary(ErrorInfoSchema, any.value);
            out.reason = info.reason;
            out.violationCount = info.metadata.violation_count;
          }
          if (any.typeUrl.endsWith('google.rpc.BadRequest')) out.violations = fromBinary(BadRequestSchema, any.value).fieldViolations.length;
        }
        resolve(out);
      },
    );
  });
}

/** EventService: SDKs publish log events and error reports; admins list them (SPEC §2). Both dialects. */
describe.each(['SQLite', 'PostgreSQL'])('EventService on %s', (dialect) => {
  let server: TestServer;
  let pg: TestDatabase | undefined;
  const clock = new TestClock();
  let credentials: ReturnType<typeof connectClient<typeof ClientCredentialService>>;
  let admin: ReturnType<typeof connectClient<typeof EventService>>;
  const secrets: Record<string, string> = {};

  const publisher = (who: string) => connectClient(server, EventService, { authorization: `Bearer ${secrets[who]!}` });
  const publish = (who: string, events: EventInit[]) => publisher(who).publishEvents({ events });
  const ok = (extra: EventInit = {}): EventInit => ({ kind: Kind.LOG, level: Level.INFO, message: 'ok', ...extra });
  const at = (offsetMs: number) => timestampFromMs(clock.now().getTime() + offsetMs);

  /** Every event matching the filters, page by page. */
  const listAll = async (filters: ListInit = {}, pageSize = 0) => {
    const out = [];
    let pageToken = '';
    do {
      const page = await admin.listEvents({ ...filters, pageSize, pageToken });
      out.push(...page.events);
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    return out;
  };
  /** Runs `refused`, and checks that not a single event was stored by it. */
  const refusedAndNothingStored = async (refused: Promise<unknown>) => {
    const before = (await listAll({}, 1000)).length;
    const r = await refusal(refused);
    expect((await listAll({}, 1000)).length).toBe(before);
    return r;
  };

  beforeAll(async () => {
    pg = dialect === 'PostgreSQL' ? await createTestDatabase() : undefined;
    server = await startTestServer({ ...BOOTSTRAP_CONFIG, ...(pg && { databaseUrl: pg.url }) }, { now: clock.now });
    // Basic auth: an access token would expire as the test clock moves.
    const auth = basic(BOOTSTRAP.clientId, BOOTSTRAP.secret);
    credentials = connectClient(server, ClientCredentialService, auth);
    admin = connectClient(server, EventService, auth);
    await credentials.createClient({ clientId: 'web' });
    await credentials.createClient({ clientId: 'api' });
    const make = async (parent: string, id: string, credential: object) => {
      secrets[id] = (await credentials.createClientCredential({ parent, credentialId: id, credential })).secret;
    };
    const secretKey = { class: Class.SECRET, format: Format.CLIENT_SECRET, environments: ['development'], projects: ['*'] };
    await make('clients/api', 'backend', { ...secretKey, scopes: ['logs:write'] });
    await make('clients/api', 'worker', { ...secretKey, scopes: ['logs:write', 'flags:read'] });
    await make('clients/api', 'reader', { ...secretKey, scopes: ['flags:read'] });
    await make('clients/web', 'browser', { format: Format.PUBLISHABLE_KEY, environments: ['production'], projects: ['default'], scopes: ['flags:read', 'logs:write'] });
  });
  afterAll(async () => {
    await server?.close();
    await pg?.drop();
  });

  it('stores accepted events with the publishing credential and client, and lists them with exact fields', async () => {
    const eventTime = at(-MINUTE);
    const res = await connectClient(server, EventService).publishEvents({
      // The secret in the request body, as the resolver requests take it.
      clientSecret: secrets.backend!,
      events: [
        {
          kind: Kind.LOG,
          level: Level.WARN,
          message: 'cache miss storm',
          attributes: { component: 'checkout', attempt: 2, nested: { ok: true, tags: ['a', 'b'] }, none: null },
          eventTime,
          sdk: 'latchkey-js/1.4.2',
          // Output-only fields are ignored: the server says who published and when.
          name: 'events/forged',
          credential: 'clients/web/credentials/browser',
          client: 'clients/web',
          receiveTime: at(-DAY),
        },
        { kind: Kind.ERROR_REPORT, level: Level.ERROR, message: 'TypeError: x is undefined' },
      ],
    });
    expect(res.acceptedCount).toBe(2);

    const listed = await admin.listEvents({ filterCredential: 'clients/api/credentials/backend' });
    expect(listed.nextPageToken).toBe('');
    expect(listed.events).toHaveLength(2);
    const receiveTime = timestampFromDate(clock.now());
    const [first, second] = listed.events;
    expect(first!.name).toMatch(ID);
    expect(second!.name).toMatch(ID);
    expect(first!.name < second!.name).toBe(true);
    expect(first).toMatchObject({
      kind: Kind.LOG,
      level: Level.WARN,
      message: 'cache miss storm',
      attributes: { component: 'checkout', attempt: 2, nested: { ok: true, tags: ['a', 'b'] }, none: null },
      eventTime,
      credential: 'clients/api/credentials/backend',
      client: 'clients/api',
      receiveTime,
      sdk: 'latchkey-js/1.4.2',
      createTime: receiveTime,
      updateTime: receiveTime,
    });
    // No event_time: the event happened when it was received. No attributes: an empty map.
    expect(second).toMatchObject({
      kind: Kind.ERROR_REPORT,
      level: Level.ERROR,
      message: 'TypeError: x is undefined',
      attributes: {},
      eventTime: receiveTime,
      credential: 'clients/api/credentials/backend',
      client: 'clients/api',
      receiveTime,
      sdk: '',
    });

    // The secret is neither stored with the events nor logged.
    const rows = await server.app.database.db.selectFrom('sdk_events').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(secrets.backend!);
    expect(server.logs.text()).not.toContain(secrets.backend!);
  });

  it('accepts events from a PUBLISHABLE credential (browser SDKs publish too)', async () => {
    expect((await publish('browser', [ok({ message: 'from the browser' })])).acceptedCount).toBe(1);
    const listed = await admin.listEvents({ filterCredential: 'clients/web/credentials/browser' });
    expect(listed.events.map((e) => [e.message, e.client])).toEqual([['from the browser', 'clients/web']]);
  });

  it('keeps the order of a batch, and of batches received in the same millisecond', async () => {
    await publish('worker', [0, 1, 2, 3, 4].map((i) => ok({ message: `m${i}` })));
    await publish('worker', [5, 6].map((i) => ok({ message: `m${i}` })));
    const listed = await listAll({ filterCredential: 'clients/api/credentials/worker' }, 2);
    expect(listed.map((e) => e.message)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']);
  });

  it('accepts every limit exactly at its bound', async () => {
    const keys64 = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, i]));
    // {"a":"…"} is 8 bytes of JSON around the value.
    const bytes16k = { a: 'x'.repeat(16 * 1024 - 8) };
    const res = await publish('worker', [
      ok({ message: 'x'.repeat(4096) }),
      ok({ message: '🙂'.repeat(4096) }), // characters, not UTF-16 units
      ok({ attributes: keys64 }),
      ok({ attributes: bytes16k }),
      ok({ eventTime: at(5 * MINUTE) }),
      ok({ eventTime: at(-7 * DAY) }),
      ok({ sdk: 's'.repeat(128) }),
      ok({ message: '' }),
    ]);
    expect(res.acceptedCount).toBe(8);
    expect((await publish('worker', Array.from({ length: 500 }, (_, i) => ok({ message: `bulk ${i}` })))).acceptedCount).toBe(500);
  });

  it('refuses a batch of 501 events with one violation on `events`', async () => {
    const r = await refusedAndNothingStored(publish('worker', Array.from({ length: 501 }, () => ok())));
    expect(r).toMatchObject({
      code: Code.InvalidArgument,
      reason: 'INVALID_ARGUMENT',
      domain: 'latchkey',
      fieldViolations: [{ field: 'events', description: 'at most 500 events per batch; got 501 (split the batch)' }],
    });
  });

  it('refuses an empty batch', async () => {
    const r = await refusedAndNothingStored(publish('worker', []));
    expect(r).toMatchObject({ code: Code.InvalidArgument, fieldViolations: [{ field: 'events', description: 'at least one event is required' }] });
  });

  it('refuses an oversized message, naming the event', async () => {
    const r = await refusedAndNothingStored(publish('worker', [ok(), ok(), ok(), ok({ message: 'x'.repeat(4097) })]));
    expect(r).toEqual({
      code: Code.InvalidArgument,
      reason: 'INVALID_ARGUMENT',
      domain: 'latchkey',
      metadata: { violation_count: '1' },
      message: 'the batch was refused and nothing was stored (1 problem): events[3].message: must be at most 4096 characters; got 4097',
      fieldViolations: [{ field: 'events[3].message', description: 'must be at most 4096 characters; got 4097' }],
    });
  });

  it('refuses oversized attributes: too many bytes of JSON, too many top-level keys', async () => {
    const big = { a: 'x'.repeat(16 * 1024 - 7) }; // 16385 bytes as JSON
    const wide = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i]));
    const r = await refusedAndNothingStored(publish('worker', [ok({ attributes: big }), ok({ attributes: wide })]));
    expect(r).toMatchObject({
      code: Code.InvalidArgument,
      fieldViolations: [
        { field: 'events[0].attributes', description: 'must be at most 16384 bytes as JSON; got 16385' },
        { field: 'events[1].attributes', description: 'must have at most 64 top-level keys; got 65' },
      ],
    });
  });

  it('refuses an event without kind or level', async () => {
    const r = await refusedAndNothingStored(publish('worker', [ok(), { level: Level.INFO, message: 'no kind' }, { kind: Kind.LOG, message: 'no level' }]));
    expect(r).toMatchObject({
      code: Code.InvalidArgument,
      fieldViolations: [
        { field: 'events[1].kind', description: 'required: KIND_LOG or KIND_ERROR_REPORT' },
        { field: 'events[2].level', description: 'required: LEVEL_DEBUG, LEVEL_INFO, LEVEL_WARN or LEVEL_ERROR' },
      ],
    });
  });

  it('refuses an event_time more than 5 minutes ahead or more than 7 days old', async () => {
    const r = await refusedAndNothingStored(publish('worker', [ok({ eventTime: at(5 * MINUTE + 1000) }), ok({ eventTime: at(-7 * DAY - 1000) })]));
    expect(r).toMatchObject({
      code: Code.InvalidArgument,
      fieldViolations: [
        { field: 'events[0].event_time', description: `must not be more than 5 minutes ahead of the server clock (${clock.now().toISOString()})` },
        { field: 'events[1].event_time', description: `must not be more than 7 days before the server clock (${clock.now().toISOString()})` },
      ],
    });
  });

  it('lists every problem of a batch in request order and stores none of it', async () => {
    const r = await refusedAndNothingStored(
      publish('worker', [
        ok({ message: 'valid, but refused with the rest' }),
        { kind: Kind.LOG, level: Level.INFO, message: 'x'.repeat(5000), sdk: 'y'.repeat(129) },
        { message: 'no kind, no level', eventTime: at(DAY) },
        ok({ kind: 7 as Kind }),
      ]),
    );
    expect(r).toMatchObject({
      code: Code.InvalidArgument,
      metadata: { violation_count: '6' },
      message: expect.stringMatching(/^the batch was refused and nothing was stored \(6 problems\): events\[1\]\.message: .*; and 3 more$/),
      fieldViolations: [
        { field: 'events[1].message', description: 'must be at most 4096 characters; got 5000' },
        { field: 'events[1].sdk', description: 'must be at most 128 characters; got 129' },
        { field: 'events[2].kind', description: 'required: KIND_LOG or KIND_ERROR_REPORT' },
        { field: 'events[2].level', description: 'required: LEVEL_DEBUG, LEVEL_INFO, LEVEL_WARN or LEVEL_ERROR' },
        { field: 'events[2].event_time', description: expect.stringContaining('must not be more than 5 minutes ahead') },
        { field: 'events[3].kind', description: 'unknown kind 7; use KIND_LOG or KIND_ERROR_REPORT' },
      ],
    });
  });

  it('caps the violations of a very bad batch so the refusal still fits a gRPC trailer', async () => {
    const bad = Array.from({ length: 500 }, () => ({ message: 'z'.repeat(4097) }));
    const r = await refusedAndNothingStored(publish('worker', bad));
    expect(r.metadata).toEqual({ violation_count: '1500' });
    expect(r.fieldViolations).toHaveLength(50);
    expect(r.message).toMatch(/\(1500 problems\).*; and 1497 more$/);
    expect(await grpcPublish(server, secrets.worker!, bad)).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      reason: 'INVALID_ARGUMENT',
      violations: 50,
      violationCount: '1500',
    });
    expect(await grpcPublish(server, secrets.worker!, [ok({ message: 'over gRPC' })])).toEqual({ code: 0, accepted: 1 });
  });

  it('refuses a credential without logs:write: PERMISSION_DENIED SCOPE_MISSING', async () => {
    const r = await refusedAndNothingStored(publish('reader', [ok()]));
    expect(r).toMatchObject({
      code: Code.PermissionDenied,
      reason: 'SCOPE_MISSING',
      domain: 'latchkey',
      message: 'clients/api/credentials/reader lacks the scope logs:write that /latchkey.events.v1.EventService/PublishEvents needs',
    });
  });

  it('lists only for API clients with events.list (flag-viewer may not; auditor may)', async () => {
    const apiClients = connectClient(server, ApiClientService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
    const viewer = await apiClients.createApiClient({ apiClientId: 'viewer', apiClient: { roles: ['roles/flag-viewer'] } });
    const auditor = await apiClients.createApiClient({ apiClientId: 'auditor', apiClient: { roles: ['roles/auditor'] } });
    const r = await refusal(connectClient(server, EventService, basic(viewer.clientId, viewer.clientSecret)).listEvents({}));
    expect(r).toMatchObject({
      code: Code.PermissionDenied,
      reason: 'PERMISSION_MISSING',
      metadata: { permission: 'events.list' },
      message: 'apiClients/viewer lacks the permission events.list, which EventService.ListEvents needs',
    });
    const listed = await connectClient(server, EventService, basic(auditor.clientId, auditor.clientSecret)).listEvents({ pageSize: 1 });
    expect(listed.events).toHaveLength(1);
    // A runtime credential is refused on the management method, and an API client on the runtime one.
    expect(await refusal(publisher('worker').listEvents({}))).toMatchObject({ code: Code.Unauthenticated });
    expect(await refusal(connectClient(server, EventService, basic(auditor.clientId, auditor.clientSecret)).publishEvents({ events: [ok()] }))).toMatchObject({
      code: Code.Unauthenticated,
    });
  });

  it('filters by client, credential and receive time, pages oldest first, and binds page tokens to the filters', async () => {
    clock.advance(DAY);
    const t1 = clock.now();
    await publish('backend', [ok({ message: 'b1' }), ok({ message: 'b2' })]);
    await publish('browser', [ok({ message: 'w1' })]);
    clock.advance(MINUTE);
    const t2 = clock.now();
    await publish('worker', [ok({ message: 'k1' })]);
    await publish('backend', [ok({ message: 'b3' })]);
    clock.advance(MINUTE);
    await publish('browser', [ok({ message: 'w2' })]);
    const since = { startTime: timestampFromDate(t1) };
    const messages = async (filters: ListInit, pageSize = 2) => (await listAll({ ...since, ...filters }, pageSize)).map((e) => e.message);

    expect(await messages({})).toEqual(['b1', 'b2', 'w1', 'k1', 'b3', 'w2']);
    expect(await messages({ filterClient: 'clients/api' })).toEqual(['b1', 'b2', 'k1', 'b3']);
    expect(await messages({ filterClient: 'clients/web' }, 1)).toEqual(['w1', 'w2']);
    expect(await messages({ filterCredential: 'clients/api/credentials/backend' })).toEqual(['b1', 'b2', 'b3']);
    expect(await messages({ filterClient: 'clients/web', filterCredential: 'clients/api/credentials/backend' })).toEqual([]);
    expect(await messages({ startTime: timestampFromDate(t2) })).toEqual(['k1', 'b3', 'w2']);
    expect(await messages({ endTime: timestampFromDate(t2) })).toEqual(['b1', 'b2', 'w1']); // end is exclusive
    expect(await messages({ startTime: timestampFromDate(t2), endTime: timestampFromDate(new Date(t2.getTime() + 1)) }, 0)).toEqual(['k1', 'b3']);

    const first = await admin.listEvents({ ...since, filterClient: 'clients/api', pageSize: 3 });
    expect(first.events.map((e) => e.message)).toEqual(['b1', 'b2', 'k1']);
    expect(first.nextPageToken).not.toBe('');
    const rest = await admin.listEvents({ ...since, filterClient: 'clients/api', pageSize: 3, pageToken: first.nextPageToken });
    expect(rest).toMatchObject({ nextPageToken: '' });
    expect(rest.events.map((e) => e.message)).toEqual(['b3']);
    for (const other of [{ ...since, filterClient: 'clients/web' }, { filterClient: 'clients/api' }]) {
      expect(await refusal(admin.listEvents({ ...other, pageSize: 3, pageToken: first.nextPageToken }))).toMatchObject({
        code: Code.InvalidArgument,
        reason: 'INVALID_PAGE_TOKEN',
        fieldViolations: [{ field: 'page_token', description: 'not a token returned by this listing with these filters' }],
      });
    }
  });

  it('refuses malformed filters with field violations', async () => {
    const r = await refusal(admin.listEvents({ filterClient: 'web', filterCredential: 'clients/api', pageSize: -1 }));
    expect(r).toMatchObject({ code: Code.InvalidArgument, fieldViolations: [{ field: 'filter_client', description: 'expected clients/{client}' }, { field: 'filter_credential', description: 'expected clients/{client}/credentials/{credential}' }] });
    const range = await refusal(admin.listEvents({ startTime: at(0), endTime: at(-1000) }));
    expect(range).toMatchObject({ code: Code.InvalidArgument, fieldViolations: [{ field: 'end_time', description: 'must not be before start_time' }] });
    const page = await refusal(admin.listEvents({ pageSize: -1 }));
    expect(page).toMatchObject({ code: Code.InvalidArgument, reason: 'INVALID_PAGE_SIZE' });
  });
});
