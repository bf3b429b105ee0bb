import { create } from '@bufbuild/protobuf';
import type { ConnectRouter } from '@connectrpc/connect';
import { AuditEventSchema, AuditEvent_Kind } from '../../gen/latchkey/audit/v1/audit_event_pb.js';
import { AuditService, CredentialUsageSchema } from '../../gen/latchkey/audit/v1/audit_service_pb.js';
import { durationMs } from '@bufbuild/protobuf/wkt';
import { invalidArgument } from '../domain/errors.js';
import type { AuditQuery, AuditRecord, AuditStore } from '../audit/model.js';
import { isValidationCount, type AuditEntry, type ValidationCount } from '../audit/validation-count.js';
import { pageOf, pageRequest } from '../domain/paging.js';
import { dateOf, ts } from './convert.js';
import { STRICT_JSON } from './strict-json.js';

const KIND_TO_PROTO = { ADMIN_CHANGE: AuditEvent_Kind.ADMIN_CHANGE, CREDENTIAL_VALIDATION: AuditEvent_Kind.CREDENTIAL_VALIDATION } as const;

function toProto(entry: AuditEntry) {
  return isValidationCount(entry) ? countToProto(entry) : recordToProto(entry);
}

function recordToProto(r: AuditRecord) {
  return create(AuditEventSchema, {
    name: `auditEvents/${r.id}`,
    kind: KIND_TO_PROTO[r.kind],
    eventTime: ts(r.time),
    actor: r.actor ?? '',
    method: r.method,
    resource: r.resource ?? '',
    outcome: r.outcome,
    requestId: r.requestId ?? '',
    clientAddress: r.clientAddress ?? '',
    origin: r.origin ?? '',
    userAgent: r.userAgent ?? '',
    credential: r.credential ?? '',
    client: r.client ?? '',
    digestPrefix: r.digestPrefix ?? '',
    createTime: ts(r.time),
    updateTime: ts(r.time),
    count: 1n,
    firstTime: ts(r.time),
    lastTime: ts(r.time),
  });
}

/** A count record reads like the validations it counts: the credential is its actor and its resource. */
function countToProto(c: ValidationCount) {
  return create(AuditEventSchema, {
    name: `auditEvents/${c.id}`,
    kind: AuditEvent_Kind.CREDENTIAL_VALIDATION,
    eventTime: ts(c.minute),
    actor: c.credential,
    method: c.method,
    resource: c.credential,
    outcome: c.outcome,
    clientAddress: c.clientAddress ?? '',
    origin: c.origin ?? '',
    userAgent: c.userAgent ?? '',
    credential: c.credential,
    client: c.client ?? '',
    createTime: ts(c.firstTime),
    updateTime: ts(c.lastTime),
    count: BigInt(c.count),
    firstTime: ts(c.firstTime),
    lastTime: ts(c.lastTime),
  });
}

export interface AuditServiceDeps {
  store: AuditStore;
  /** Writes queued records first, so a listing right after a change includes it. */
  flush: () => Promise<void>;
  /** The credential's last use time (refused with NOT_FOUND when it does not exist). */
  lastUseOf: (credentialName: string) => Promise<Date | null>;
  now: () => Date;
}

/** AIP-132 `order_by`: `event_time` (the default) or `event_time desc`. */
function newestFirst(orderBy: string): boolean {
  const spelled = orderBy.trim().replace(/\s+/g, ' ').toLowerCase();
  if (spelled === '' || spelled === 'event_time' || spelled === 'event_time asc') return false;
  if (spelled === 'event_time desc') return true;
  throw invalidArgument([{ field: 'order_by', description: 'must be "event_time" (oldest first, the default) or "event_time desc" (newest first)' }]);
}

/** The usage window when the caller gives none. */
const DEFAULT_USAGE_WINDOW_MS = 24 * 3600 * 1000;
const MAX_USAGE_WINDOW_MS = 400 * 24 * 3600 * 1000;

export function registerAuditService(router: ConnectRouter, { store, flush, lastUseOf, now }: AuditServiceDeps): void {
  router.service(AuditService, {
    async listAuditEvents(req) {
      const query: AuditQuery = {
        kind: req.kind === AuditEvent_Kind.ADMIN_CHANGE ? 'ADMIN_CHANGE' : req.kind === AuditEvent_Kind.CREDENTIAL_VALIDATION ? 'CREDENTIAL_VALIDATION' : undefined,
        actor: req.actor || undefined,
        resource: req.resource || undefined,
        credential: req.credential || undefined,
        client: req.client || undefined,
        outcome: req.outcome || undefined,
        startTime: dateOf(req.startTime),
        endTime: dateOf(req.endTime),
        newestFirst: newestFirst(req.orderBy),
      };
      // The token is bound to the filters, so it cannot be replayed against another query.
      const scope = `audit:${JSON.stringify(query)}`;
      const page = pageRequest(req.pageSize, req.pageToken, scope);
      await flush();
      const rows = await store.list(query, page.after, page.pageSize + 1);
      const { items, nextPageToken } = pageOf(rows, page, (r) => r.id, scope);
      return { auditEvents: items.map(toProto), nextPageToken };
    },
    async getCredentialUsage(req) {
      const lastUse = await lastUseOf(req.name);
      const windowMs = req.window ? durationMs(req.window) : DEFAULT_USAGE_WINDOW_MS;
      if (!(windowMs > 0 && windowMs <= MAX_USAGE_WINDOW_MS)) {
        throw invalidArgument([{ field: 'window', description: 'must be positive and at most 400 days' }]);
      }
      const since = new Date(now().getTime() - windowMs);
      await flush();
      const { counts, lastOk } = await store.usage(req.name, since);
      return create(CredentialUsageSchema, {
        credential: req.name,
        countsByOutcome: Object.fromEntries(Object.entries(counts).map(([k, n]) => [k, BigInt(n)])),
        total: BigInt(Object.values(counts).reduce((a, b) => a + b, 0)),
        lastUseTime: ts(lastUse),
        lastClientAddress: lastOk?.clientAddress ?? '',
        lastOrigin: lastOk?.origin ?? '',
        windowStartTime: ts(since),
      });
    },
  }, STRICT_JSON);
}
