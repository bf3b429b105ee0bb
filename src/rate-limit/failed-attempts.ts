import { createHash } from 'node:crypto';
import { DomainError } from '../domain/errors.js';
import type { Limit, RateLimits, RateState } from './rate-limits.js';

/** Blocked keys remembered at most; far more than the distinct guessers of one window in practice. */
const DEFAULT_MAX_BLOCKED = 100_000;
/** Client ids longer than this are keyed by a digest, so a 16 KB id cannot bloat the counters. */
const MAX_PLAIN_ID = 128;

/** The failure budget of a client address (runtime, token endpoint and management API share it). */
export const addressKey = (address: string): string => `address:${address}`;

/** The failure budget of an API client id, whether or not such a client exists. */
export function apiClientKey(clientId: string): string {
  return clientId.length <= MAX_PLAIN_ID ? `apiClient:${clientId}` : `apiClient:#${createHash('sha256').update(clientId).digest('hex')}`;
}

/** `from 203.0.113.7`, `for client_id "ci-admin"`: what a refusal names (never a secret). */
function describeKey(key: string): string {
  if (key.startsWith('address:')) return `from ${key.slice('address:'.length) || 'this address'}`;
  if (key.startsWith('apiClient:#')) return 'for this client_id';
  if (key.startsWith('apiClient:')) return `for client_id ${JSON.stringify(key.slice('apiClient:'.length))}`;
  return `for ${key}`;
}

/**
 * Failed attempts (SPEC §3, "Failed attempts are throttled"): a request whose
 * credential is missing, malformed or unknown, and a wrong client id or secret
 * on the token endpoint or in HTTP Basic, spends one point of the budget of
 * each key it names (its client address, its client id) in the server's
 * default limit. Once a key's budget is spent the key is blocked until the
 * window ends, and every request naming it is refused with RATE_LIMITED
 * before any lookup.
 *
 * The counters are the ordinary RateLimits (in memory, or shared through
 * Redis by every replica). Whether a key is blocked is answered synchronously
 * from this replica's memory, so the request path of an address that is not
 * blocked makes no extra await; a replica learns of a block the first time it
 * counts a failure of its own for that key (that attempt is answered 429 too,
 * so a budget spent elsewhere costs at most one lookup per replica and window).
 * Worker processes of one server learn of each other's blocks at once (`onBlock`, `noteBlock`).
 */
export class FailedAttempts {
  /** Blocked key → the time (ms) its window ends; insertion order = oldest first. */
  private readonly blockedUntil = new Map<string, number>();
  /**
   * Told of each block this process finds (not of those passed to `noteBlock`): cluster workers
   * hand it to the others, so a block holds on every worker from the next request on, the
   * requests with a valid credential included, and not only from each worker's next failure.
   */
  onBlock: ((key: string, untilMs: number) => void) | undefined;

  constructor(
    private readonly limits: RateLimits,
    /** The budget of every key: the server default (LATCHKEY_DEFAULT_RATE_LIMIT). */
    readonly limit: Limit,
    private readonly maxBlocked = DEFAULT_MAX_BLOCKED,
  ) {}

  /** True when nothing is blocked: the request path can skip the lookup in the map (and the clock). */
  get none(): boolean {
    return this.blockedUntil.size === 0;
  }

  /**
   * When one of `keys` is blocked: that key (the one blocked longest) and the refusal state
   * (remaining 0, Retry-After); else undefined. Synchronous: no counter is read or spent.
   */
  blocked(keys: readonly string[], nowMs: number): { key: string; state: RateState } | undefined {
    if (this.blockedUntil.size === 0) return undefined;
    let until = 0;
    let blockedKey = '';
    for (const key of keys) {
      const u = this.blockedUntil.get(key);
      if (u === undefined) continue;
      if (u <= nowMs) this.blockedUntil.delete(key);
      else if (u > until) {
        until = u;
        blockedKey = key;
      }
    }
    return until === 0 ? undefined : { key: blockedKey, state: this.refusalState(until, nowMs) };
  }

  /**
   * Counts one failed attempt against each key. `allowed` is false when a budget was already
   * spent before this attempt (the caller answers RATE_LIMITED rather than the failure); `state`
   * is the tightest of the keys' budgets, for the rate-limit headers. A key whose budget this
   * attempt used up is blocked from now on.
   */
  async fail(keys: readonly string[], nowMs: number): Promise<{ allowed: boolean; key: string; state: RateState }> {
    const results = await Promise.all(keys.map((key) => this.limits.consume(key, this.limit, nowMs)));
    let allowed = true;
    let tightest = -1;
    results.forEach(({ allowed: ok, state, resetAtMs }, i) => {
      if (!ok) allowed = false;
      if (state.remaining === 0) this.block(keys[i]!, resetAtMs, nowMs);
      const best = tightest >= 0 ? results[tightest]!.state : undefined;
      // A refused budget first (the longest wait), then the fewest points left.
      const wait = state.retryAfterSeconds ?? 0;
      const bestWait = best?.retryAfterSeconds ?? 0;
      if (best === undefined || wait > bestWait || (wait === bestWait && state.remaining < best.remaining)) tightest = i;
    });
    if (tightest < 0) throw new Error('FailedAttempts.fail needs at least one key');
    return { allowed, key: keys[tightest]!, state: results[tightest]!.state };
  }

  /**
   * The refusal for a blocked (or spent) budget, step 8's answer: RESOURCE_EXHAUSTED / HTTP 429,
   * reason RATE_LIMITED, RetryInfo with the state's Retry-After.
   */
  refusal(key: string, state: RateState): DomainError {
    const wait = state.retryAfterSeconds ?? 1;
    const windowSeconds = this.limit.windowMs / 1000;
    return new DomainError(
      'resource_exhausted',
      'RATE_LIMITED',
      `too many failed authentication attempts ${describeKey(key)}: ${this.limit.requests} per ${windowSeconds} s; retry in ${wait} s`,
      { retryAfterSeconds: wait, metadata: { limit: String(this.limit.requests), window_seconds: String(windowSeconds) } },
    );
  }

  private refusalState(until: number, nowMs: number): RateState {
    return {
      limit: this.limit.requests,
      remaining: 0,
      resetUnixSeconds: Math.ceil(until / 1000),
      retryAfterSeconds: Math.max(1, Math.ceil((until - nowMs) / 1000)),
    };
  }

  /** A block another worker found (see `onBlock`): refused here too until `untilMs`. */
  noteBlock(key: string, untilMs: number, nowMs: number): void {
    this.record(key, untilMs, nowMs);
  }

  private block(key: string, until: number, nowMs: number): void {
    // Each refused attempt reports the window's end again; the others are told of a new block only.
    const known = this.blockedUntil.get(key);
    if (this.record(key, until, nowMs) && (known === undefined || known <= nowMs)) this.onBlock?.(key, until);
  }

  /** Whether the block was recorded (false: its window has already ended). */
  private record(key: string, until: number, nowMs: number): boolean {
    if (until <= nowMs) return false;
    if (!this.blockedUntil.has(key) && this.blockedUntil.size >= this.maxBlocked) this.prune(nowMs);
    // Re-inserting keeps the map ordered by when each block began, so pruning drops the oldest.
    this.blockedUntil.delete(key);
    this.blockedUntil.set(key, until);
    return true;
  }

  /**
   * Drops ended blocks, and if the map is still full the oldest quarter. A dropped key is not
   * freed: its counter still refuses, so its next failure is answered 429 and blocks it again;
   * it only costs that request a lookup.
   */
  private prune(nowMs: number): void {
    for (const [key, until] of this.blockedUntil) if (until <= nowMs) this.blockedUntil.delete(key);
    if (this.blockedUntil.size < this.maxBlocked) return;
    let drop = Math.ceil(this.maxBlocked / 4);
    for (const key of this.blockedUntil.keys()) {
      if (drop-- <= 0) break;
      this.blockedUntil.delete(key);
    }
  }
}
