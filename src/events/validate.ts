import type { FieldViolation } from '../domain/errors.js';
import {
  MAX_AGE_MS,
  MAX_ATTRIBUTE_KEYS,
  MAX_ATTRIBUTES_BYTES,
  MAX_BATCH_EVENTS,
  MAX_FUTURE_MS,
  MAX_MESSAGE_CHARS,
  MAX_SDK_CHARS,
} from './limits.js';
import { EVENT_KINDS, EVENT_LEVELS, type EventInput, type EventKind, type EventLevel, type JsonMap } from './model.js';

/** An event that passed every check, with the defaults applied. */
export interface ValidEvent {
  kind: EventKind;
  level: EventLevel;
  message: string;
  attributes: JsonMap;
  eventTime: Date;
  sdk: string;
}

export type BatchCheck = { ok: true; events: ValidEvent[] } | { ok: false; violations: FieldViolation[] };

const KIND_CHOICES = 'KIND_LOG or KIND_ERROR_REPORT';
const LEVEL_CHOICES = 'LEVEL_DEBUG, LEVEL_INFO, LEVEL_WARN or LEVEL_ERROR';

const isKind = (k: string): k is EventKind => (EVENT_KINDS as readonly string[]).includes(k);
const isLevel = (l: string): l is EventLevel => (EVENT_LEVELS as readonly string[]).includes(l);

/** Unicode code points; cheap for strings whose UTF-16 length is already within `max`. */
function charCount(s: string, max: number): number {
  if (s.length <= max) return s.length;
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function checkEvent(e: EventInput, at: string, now: Date, out: FieldViolation[]): ValidEvent | undefined {
  const before = out.length;
  const f = (field: string, description: string) => out.push({ field: `${at}.${field}`, description });

  if (e.kind === '') f('kind', `required: ${KIND_CHOICES}`);
  else if (!isKind(e.kind)) f('kind', `unknown kind ${e.kind}; use ${KIND_CHOICES}`);

  if (e.level === '') f('level', `required: ${LEVEL_CHOICES}`);
  else if (!isLevel(e.level)) f('level', `unknown level ${e.level}; use ${LEVEL_CHOICES}`);

  const messageChars = charCount(e.message, MAX_MESSAGE_CHARS);
  if (messageChars > MAX_MESSAGE_CHARS) f('message', `must be at most ${MAX_MESSAGE_CHARS} characters; got ${messageChars}`);

  const attributes = e.attributes ?? {};
  const keys = Object.keys(attributes).length;
  if (keys > MAX_ATTRIBUTE_KEYS) f('attributes', `must have at most ${MAX_ATTRIBUTE_KEYS} top-level keys; got ${keys}`);
  let bytes: number | undefined;
  try {
    bytes = Buffer.byteLength(JSON.stringify(attributes), 'utf8');
  } catch {
    // Only nesting deep enough to exhaust the stack gets here; it is far over the size limit anyway.
    f('attributes', `must be at most ${MAX_ATTRIBUTES_BYTES} bytes as JSON; nested too deeply to measure`);
  }
  if (bytes !== undefined && bytes > MAX_ATTRIBUTES_BYTES) f('attributes', `must be at most ${MAX_ATTRIBUTES_BYTES} bytes as JSON; got ${bytes}`);

  const eventTime = e.eventTime ?? now;
  const t = eventTime.getTime();
  if (Number.isNaN(t)) f('event_time', 'not a valid timestamp');
  else if (t - now.getTime() > MAX_FUTURE_MS) f('event_time', `must not be more than 5 minutes ahead of the server clock (${now.toISOString()})`);
  else if (now.getTime() - t > MAX_AGE_MS) f('event_time', `must not be more than 7 days before the server clock (${now.toISOString()})`);

  const sdkChars = charCount(e.sdk, MAX_SDK_CHARS);
  if (sdkChars > MAX_SDK_CHARS) f('sdk', `must be at most ${MAX_SDK_CHARS} characters; got ${sdkChars}`);

  if (out.length > before || !isKind(e.kind) || !isLevel(e.level)) return undefined;
  return { kind: e.kind, level: e.level, message: e.message, attributes, eventTime, sdk: e.sdk };
}

/**
 * Checks a PublishEvents batch against the limits in ./limits.ts. Either every event is valid,
 * or the batch is refused with every problem found (field paths as the request spells them).
 */
export function checkBatch(events: readonly EventInput[], now: Date): BatchCheck {
  if (events.length === 0) return { ok: false, violations: [{ field: 'events', description: 'at least one event is required' }] };
  if (events.length > MAX_BATCH_EVENTS) {
    return { ok: false, violations: [{ field: 'events', description: `at most ${MAX_BATCH_EVENTS} events per batch; got ${events.length} (split the batch)` }] };
  }
  const violations: FieldViolation[] = [];
  const valid: ValidEvent[] = [];
  events.forEach((e, i) => {
    const ok = checkEvent(e, `events[${i}]`, now, violations);
    if (ok) valid.push(ok);
  });
  return violations.length > 0 ? { ok: false, violations } : { ok: true, events: valid };
}
