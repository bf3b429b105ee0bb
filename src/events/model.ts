/**
 * SDK events (log lines and error reports published with EventService.PublishEvents) as the
 * events domain sees them, and the storage it needs (implemented over Kysely in
 * src/store/event-store.ts). No protobuf or Kysely types here.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonMap = { [key: string]: JsonValue };

export const EVENT_KINDS = ['LOG', 'ERROR_REPORT'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export const EVENT_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
export type EventLevel = (typeof EVENT_LEVELS)[number];

/** One event as a caller sent it, before validation. */
export interface EventInput {
  /** `LOG` or `ERROR_REPORT`; `''` when not set; anything else is a value the server does not know (as the wire spelled it). */
  kind: string;
  /** `DEBUG` … `ERROR`; `''` when not set; anything else is unknown. */
  level: string;
  message: string;
  /** Absent attributes are stored as `{}`. */
  attributes: JsonMap | undefined;
  /** By the sender's clock; absent = the receive time. An invalid timestamp is an invalid Date. */
  eventTime: Date | undefined;
  /** `<id>/<version>`, free text; `''` when not sent. */
  sdk: string;
}

/** Who published a batch: the runtime credential that passed validation. */
export interface Publisher {
  /** `clients/{client}/credentials/{credential}` */
  credential: string;
  /** `clients/{client}` */
  client: string;
}

/** A stored event. Immutable: its create and update times are its receive time. */
export interface EventRecord {
  /** Monotonic sortable id (src/domain/monotonic-ids.ts): id order is receive order. */
  id: string;
  kind: EventKind;
  level: EventLevel;
  message: string;
  attributes: JsonMap;
  eventTime: Date;
  receiveTime: Date;
  credential: string;
  client: string;
  /** `''` when the sender did not say. */
  sdk: string;
}

/** ListEvents filters; every one optional. Times bound `receive_time`: start inclusive, end exclusive. */
export interface EventQuery {
  client?: string;
  credential?: string;
  startTime?: Date;
  endTime?: Date;
}

export interface EventStore {
  /** Stores every record in one statement, or none. */
  insertBatch(records: readonly EventRecord[]): Promise<void>;
  /** Ordered by id (= receive order), after `after`, at most `limit`. */
  list(query: EventQuery, after: string | undefined, limit: number): Promise<EventRecord[]>;
}
