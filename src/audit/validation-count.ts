import { createHash } from 'node:crypto';
import type { AuditRecord } from './model.js';

/** One minute, the period a count record covers. */
export const COUNT_PERIOD_MS = 60_000;

/**
 * Repeated successful validations (SPEC §7): one record per credential, outcome, method, client
 * address, origin and user agent per minute, with how many there were and when the first and the
 * last happened. Every process and replica computes the same `id` for the same tuple and minute,
 * so their contributions are added up in one stored row.
 */
export interface ValidationCount {
  /** `v` + the minute's start (13-digit unix ms) + 26 hex characters of a digest of the tuple. */
  id: string;
  /** Start of the minute counted. */
  minute: Date;
  firstTime: Date;
  lastTime: Date;
  count: number;
  credential: string;
  client: string | null;
  outcome: string;
  method: string;
  clientAddress: string | null;
  origin: string | null;
  userAgent: string | null;
}

/** What `ListAuditEvents` pages through: individual records and count records, in one order. */
export type AuditEntry = AuditRecord | ValidationCount;

export function isValidationCount(entry: AuditEntry): entry is ValidationCount {
  return (entry as ValidationCount).count !== undefined;
}

/**
 * The order of merged listings: an id without its one-letter prefix (`a` individual, `v` counted)
 * is `<13-digit ms><suffix>`, so string order is time order across both kinds. A count record
 * sorts at the start of its minute.
 */
export function sortKeyOf(id: string): string {
  return id.slice(1);
}

export const INDIVIDUAL_ID_PREFIX = 'a';
export const COUNT_ID_PREFIX = 'v';

/**
 * The tuple a validation is counted under, as one string. Header values cannot hold `\n` or `\0`
 * (Node refuses them), so `\n` separates the parts and `\0` stands for an absent one.
 */
export function countTupleOf(r: Pick<AuditRecord, 'credential' | 'outcome' | 'method' | 'clientAddress' | 'origin' | 'userAgent'>): string {
  return `${r.credential ?? '\0'}\n${r.outcome}\n${r.method}\n${r.clientAddress ?? '\0'}\n${r.origin ?? '\0'}\n${r.userAgent ?? '\0'}`;
}

export function minuteOf(time: Date): number {
  return Math.floor(time.getTime() / COUNT_PERIOD_MS) * COUNT_PERIOD_MS;
}

/** The count record id of a tuple and minute (deterministic, so every process agrees on it). */
export function countIdOf(minuteMs: number, tuple: string): string {
  // 104 bits of SHA-256: two different tuples of one minute sharing a row is out of reach.
  const digest = createHash('sha256').update(tuple).digest('hex').slice(0, 26);
  return COUNT_ID_PREFIX + String(minuteMs).padStart(13, '0') + digest;
}

/** A new count of one validation. */
export function countOf(record: Omit<AuditRecord, 'id'>, minuteMs: number, id: string): ValidationCount {
  return {
    id,
    minute: new Date(minuteMs),
    firstTime: record.time,
    lastTime: record.time,
    count: 1,
    credential: record.credential!,
    client: record.client,
    outcome: record.outcome,
    method: record.method,
    clientAddress: record.clientAddress,
    origin: record.origin,
    userAgent: record.userAgent,
  };
}

/** Adds one more validation (at `time`) to a count. */
export function addTo(count: ValidationCount, time: Date): void {
  count.count++;
  if (time < count.firstTime) count.firstTime = time;
  if (time > count.lastTime) count.lastTime = time;
}

/** Adds `other` (same id) into `into`. */
export function mergeInto(into: ValidationCount, other: ValidationCount): void {
  into.count += other.count;
  if (other.firstTime < into.firstTime) into.firstTime = other.firstTime;
  if (other.lastTime > into.lastTime) into.lastTime = other.lastTime;
}

/**
 * What a successful validation may reveal for the first time: its credential used from an address,
 * or from an origin. Absent parts reveal nothing.
 */
export interface Sighting {
  credential: string;
  kind: 'address' | 'origin';
  value: string;
}

export function sightingsOf(record: Pick<AuditRecord, 'credential' | 'clientAddress' | 'origin'>): Sighting[] {
  const out: Sighting[] = [];
  if (record.credential === null) return out;
  if (record.clientAddress) out.push({ credential: record.credential, kind: 'address', value: record.clientAddress });
  if (record.origin) out.push({ credential: record.credential, kind: 'origin', value: record.origin });
  return out;
}

/** One string per sighting (for sets and maps). */
export function sightingKeyOf(s: Sighting): string {
  return `${s.credential}\n${s.kind}\n${s.value}`;
}

/**
 * A batch of counts and first-use candidates, written atomically and at most once: `writer` is
 * unique to one AuditLog, `seq` grows by one per batch, and a batch is sent only after the one
 * before it was acknowledged. The store applies a batch only when `seq` is above the last one it
 * applied for `writer`, so a batch sent again after its acknowledgement was lost adds nothing.
 */
export interface CountBatch {
  writer: string;
  seq: number;
  counts: ValidationCount[];
  /**
   * Successful validations that may be a first use from their address or origin. The store keeps
   * each one individually if it is (its sighting was new), and adds it to its count otherwise.
   */
  firstUses: AuditRecord[];
}
