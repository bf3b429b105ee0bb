import { create } from '@bufbuild/protobuf';
import type { ConnectRouter } from '@connectrpc/connect';
import { AuditEventSchema, AuditEvent_Kind } from '../../gen/latchkey/audit/v1/audit_event_pb.js';
import { AuditService } from '../../gen/latchkey/audit/v1/audit_service_pb.js';
import type { AuditQuery, AuditRecord, AuditStore } from '../audit/model.js';
import { pageOf, pageRequest } from '../domain/paging.js';
import { dateOf, ts } from './convert.js';

const KIND_TO_PROTO = { ADMIN_CHANGE: AuditEvent_Kind.ADMIN_CHANGE, CREDENTIAL_VALIDATION: AuditEvent_Kind.CREDENTIAL_VALIDATION } as const;

function toProto(r: AuditRecord) {
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
  });
}

export interface AuditServiceDeps {
  store: AuditStore;
  /** Writes queued records first, so a listing right after a change includes it. */
  flush: () => Promise<void>;
}

export function registerAuditService(router: ConnectRouter, { store, flush }: AuditServiceDeps): void {
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
      };
      // The token is bound to the filters, so it cannot be replayed against another query.
      const scope = `audit:${JSON.stringify(query)}`;
      const page = pageRequest(req.pageSize, req.pageToken, scope);
      await flush();
      const rows = await store.list(query, page.after, page.pageSize + 1);
      const { items, nextPageToken } = pageOf(rows, page, (r) => r.id, scope);
      return { auditEvents: items.map(toProto), nextPageToken };
    },
  });
}
