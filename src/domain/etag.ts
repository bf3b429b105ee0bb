import { randomBytes } from 'node:crypto';
import { DomainError } from './errors.js';

/**
 * AIP-154 etags and the optimistic writes they guard.
 *
 * Every mutable resource carries an etag that each write replaces. A write is a compare-and-swap:
 * it reads the resource, computes the new state from what it read, and stores it only if the etag
 * is still the one it read (the store puts the etag in the UPDATE's WHERE clause). So no write
 * ever lands on top of a state it did not see: two writes to different fields both survive, and a
 * concurrent Update cannot undo a Revoke or an archive, on SQLite and on PostgreSQL alike, with
 * any number of replicas.
 */

/** A fresh etag: 64 random bits as 16 hex characters. */
export function newEtag(): string {
  return randomBytes(8).toString('hex');
}

export function etagMismatch(name: string): DomainError {
  return new DomainError('aborted', 'ETAG_MISMATCH', `${name} changed since it was read (its etag no longer matches); read it again and retry`, {
    metadata: { resource: name },
  });
}

/** Refuses the write when the caller sent an etag (`''` = none) that is no longer the current one. */
export function checkEtag(name: string, given: string | undefined, current: string): void {
  if (given !== undefined && given !== '' && given !== current) throw etagMismatch(name);
}

/** What an attempt returns when its compare-and-swap lost to a concurrent write. */
export const CONFLICT: unique symbol = Symbol('conflict');
export type Attempt<T> = T | typeof CONFLICT;

/**
 * Enough for any realistic contention on one resource; past it the caller gets ABORTED, which
 * AIP-154 clients retry, rather than a write that waits forever.
 */
const MAX_ATTEMPTS = 25;

/**
 * Runs a read-compute-swap attempt until its swap lands. Each attempt re-reads the resource, so a
 * caller's etag is checked against the newest state (a mismatch ends the loop with ETAG_MISMATCH).
 */
export async function untilSwapped<T>(name: string, attempt: () => Promise<Attempt<T>>): Promise<T> {
  for (let i = 0; i < MAX_ATTEMPTS; i++) {
    const result = await attempt();
    if (result !== CONFLICT) return result;
  }
  throw new DomainError('aborted', 'CONCURRENT_MODIFICATION', `${name} kept changing while this write was being applied; retry`, {
    metadata: { resource: name },
  });
}
