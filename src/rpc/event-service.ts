import { create } from '@bufbuild/protobuf';
import type { Timestamp } from '@bufbuild/protobuf/wkt';
import type { ConnectRouter } from '@connectrpc/connect';
import { EventSchema, Event_Kind, Event_Level, type Event } from '../../gen/latchkey/events/v1/event_pb.js';
import { EventService } from '../../gen/latchkey/events/v1/event_service_pb.js';
import { credentialOf } from '../auth/principal.js';
import type { SdkEvents } from '../events/events.js';
import type { EventInput, EventKind, EventLevel, EventRecord } from '../events/model.js';
import { dateOf, ts } from './convert.js';

const KIND_TO_PROTO: Record<EventKind, Event_Kind> = { LOG: Event_Kind.LOG, ERROR_REPORT: Event_Kind.ERROR_REPORT };
const LEVEL_TO_PROTO: Record<EventLevel, Event_Level> = {
  DEBUG: Event_Level.DEBUG,
  INFO: Event_Level.INFO,
  WARN: Event_Level.WARN,
  ERROR: Event_Level.ERROR,
};

/** Enum value → domain spelling: `''` for UNSPECIFIED, the number itself for a value this server does not know. */
function enumName<D extends string>(value: number, table: Record<D, number>): string {
  if (value === 0) return '';
  for (const [name, v] of Object.entries(table) as [D, number][]) if (v === value) return name;
  return String(value);
}

/** A Timestamp as a Date; an out-of-range `nanos` gives an invalid Date, which validation refuses. */
function timeOf(t: Timestamp | undefined): Date | undefined {
  if (!t) return undefined;
  if (!Number.isInteger(t.nanos) || t.nanos < 0 || t.nanos > 999_999_999) return new Date(NaN);
  return dateOf(t);
}

/** Output-only fields (name, credential, client, receive_time, create/update time) are ignored. */
function inputOf(e: Event): EventInput {
  return {
    kind: enumName(e.kind, KIND_TO_PROTO),
    level: enumName(e.level, LEVEL_TO_PROTO),
    message: e.message,
    attributes: e.attributes,
    eventTime: timeOf(e.eventTime),
    sdk: e.sdk,
  };
}

function toProto(r: EventRecord): Event {
  return create(EventSchema, {
    name: `events/${r.id}`,
    kind: KIND_TO_PROTO[r.kind] ?? Event_Kind.UNSPECIFIED,
    level: LEVEL_TO_PROTO[r.level] ?? Event_Level.UNSPECIFIED,
    message: r.message,
    attributes: r.attributes,
    eventTime: ts(r.eventTime),
    credential: r.credential,
    client: r.client,
    receiveTime: ts(r.receiveTime),
    sdk: r.sdk,
    // Events are immutable; stored when received.
    createTime: ts(r.receiveTime),
    updateTime: ts(r.receiveTime),
  });
}

/**
 * EventService (SPEC §2). Who may call which method is decided by METHOD_POLICIES before a
 * handler runs: PublishEvents needs a runtime credential with `logs:write`, ListEvents an API
 * client with `events.list`. The request's client_secret is never read here, stored or echoed.
 */
export function registerEventService(router: ConnectRouter, events: SdkEvents): void {
  router.service(EventService, {
    async publishEvents(req, ctx) {
      const principal = credentialOf(ctx.values);
      const acceptedCount = await events.publish({ credential: principal.name, client: principal.client }, req.events.map(inputOf));
      return { acceptedCount };
    },
    async listEvents(req) {
      const page = await events.list(
        { client: req.filterClient, credential: req.filterCredential, startTime: timeOf(req.startTime), endTime: timeOf(req.endTime) },
        req.pageSize,
        req.pageToken,
      );
      return { events: page.items.map(toProto), nextPageToken: page.nextPageToken };
    },
  });
}
