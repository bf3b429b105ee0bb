import { DomainError, type FieldViolation } from '../domain/errors.js';
import { parseName } from '../domain/names.js';
import { pageOf, pageRequest } from '../domain/paging.js';
import { MonotonicIds } from '../domain/monotonic-ids.js';
import { MAX_REPORTED_VIOLATIONS } from './limits.js';
import type { EventInput, EventQuery, EventRecord, EventStore, Publisher } from './model.js';
import { checkBatch } from './validate.js';

/** Problems named in the error message; all of them (up to the cap) are in the field violations. */
const PROBLEMS_IN_MESSAGE = 3;

function batchRefused(violations: FieldViolation[]): DomainError {
  const shown = violations.slice(0, PROBLEMS_IN_MESSAGE).map((v) => `${v.field}: ${v.description}`);
  const more = violations.length - shown.length;
  const count = violations.length === 1 ? '1 problem' : `${violations.length} problems`;
  return new DomainError(
    'invalid_argument',
    'INVALID_ARGUMENT',
    `the batch was refused and nothing was stored (${count}): ${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''}`,
    { fieldViolations: violations.slice(0, MAX_REPORTED_VIOLATIONS), metadata: { violation_count: String(violations.length) } },
  );
}

/** ListEvents filters as the request carries them (`''` / undefined = no filter). */
export interface EventFilters {
  client: string;
  credential: string;
  startTime: Date | undefined;
  endTime: Date | undefined;
}

/** A Date that toDbTime can store (years 0000–9999), so a filter never fails inside the store. */
const storable = (d: Date) => !Number.isNaN(d.getTime()) && d.getUTCFullYear() >= 0 && d.getUTCFullYear() <= 9999;

function queryOf(filters: EventFilters): EventQuery {
  const violations: FieldViolation[] = [];
  const nameFilter = (field: string, value: string, collections: string[]) => {
    if (value === '') return undefined;
    try {
      parseName(value, collections, field);
    } catch (err) {
      if (err instanceof DomainError) violations.push(...err.fieldViolations);
      else throw err;
    }
    return value;
  };
  const client = nameFilter('filter_client', filters.client, ['clients']);
  const credential = nameFilter('filter_credential', filters.credential, ['clients', 'credentials']);
  for (const [field, t] of [['start_time', filters.startTime], ['end_time', filters.endTime]] as const) {
    if (t && !storable(t)) violations.push({ field, description: 'must be a timestamp between years 0000 and 9999' });
  }
  if (violations.length === 0 && filters.startTime && filters.endTime && filters.endTime < filters.startTime) {
    violations.push({ field: 'end_time', description: 'must not be before start_time' });
  }
  if (violations.length > 0) {
    throw new DomainError('invalid_argument', 'INVALID_ARGUMENT', violations.map((v) => `${v.field}: ${v.description}`).join('; '), { fieldViolations: violations });
  }
  return {
    ...(client !== undefined && { client }),
    ...(credential !== undefined && { credential }),
    ...(filters.startTime && { startTime: filters.startTime }),
    ...(filters.endTime && { endTime: filters.endTime }),
  };
}

/**
 * SDK log events and error reports (SPEC §2, EventService): a runtime credential with scope
 * `logs:write` publishes batches; API clients with `events.list` read them back, oldest first.
 */
export class SdkEvents {
  private readonly ids = new MonotonicIds('e');

  constructor(
    private readonly store: EventStore,
    private readonly now: () => Date,
  ) {}

  /** Validates the whole batch, then stores it in one insert; returns how many were stored. */
  async publish(publisher: Publisher, inputs: readonly EventInput[]): Promise<number> {
    const receiveTime = this.now();
    const checked = checkBatch(inputs, receiveTime);
    if (!checked.ok) throw batchRefused(checked.violations);
    const records: EventRecord[] = checked.events.map((e) => ({
      id: this.ids.next(receiveTime),
      ...e,
      receiveTime,
      credential: publisher.credential,
      client: publisher.client,
    }));
    await this.store.insertBatch(records);
    return records.length;
  }

  async list(filters: EventFilters, pageSize: number, pageToken: string) {
    const query = queryOf(filters);
    // The token is bound to the filters, so it cannot be replayed against another query.
    const scope = `events:${JSON.stringify(query)}`;
    const page = pageRequest(pageSize, pageToken, scope);
    const rows = await this.store.list(query, page.after, page.pageSize + 1);
    return pageOf(rows, page, (r) => r.id, scope);
  }
}
