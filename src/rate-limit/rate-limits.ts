import Redis from 'ioredis';
import {
  RateLimiterCluster,
  RateLimiterClusterMaster,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { Logger } from '../logging/logger.js';

/**
 * How long a worker waits for the primary to answer a count. The primary answers from memory in
 * microseconds; no answer means it is gone, and the worker is shutting down (it follows the
 * primary's IPC channel), so the request fails rather than passing uncounted.
 */
const PRIMARY_ANSWER_MS = 5_000;

export interface Limit {
  requests: number;
  windowMs: number;
}

/** What the rate-limit headers report (SPEC §3): limit, remaining, reset as unix seconds. */
export interface RateState {
  limit: number;
  remaining: number;
  resetUnixSeconds: number;
  /** Set when this request was refused: seconds until a retry may pass. */
  retryAfterSeconds?: number;
}

/**
 * Per-credential request budgets (step 8 of SPEC §3), fixed windows from
 * rate-limiter-flexible. In memory by default; with Redis, counters are shared
 * by every replica, and if Redis is unreachable each replica falls back to its
 * own in-memory counters (the insurance limiter) and keeps answering.
 *
 * In a worker process (LATCHKEY_WORKERS > 1) "in memory" is the primary's memory: each count is
 * asked of the primary over the cluster IPC channel (RateLimiterCluster), so the workers share
 * one exact budget, as replicas do through Redis; with Redis, the primary's counters are the
 * insurance. Each distinct limit is its own limiter whose keyPrefix names its points and window,
 * which is the key the primary creates its counters under: a credential's own `rate_limit` and
 * the server default never share counters, and every worker asking for `100/60` gets the same ones.
 */
export class RateLimits {
  private readonly limiters = new Map<string, RateLimiterAbstract>();
  private redisDown = false;

  private constructor(
    private readonly redis: Redis | undefined,
    private readonly logger: Logger,
    private readonly keyPrefix: string,
    private readonly countedByPrimary: boolean,
  ) {}

  /** `countedByPrimary`: this is a cluster worker, and the primary called `countForWorkers()` before forking it. */
  static create(options: { redisUrl: string | undefined; logger: Logger; keyPrefix?: string; countedByPrimary?: boolean }): RateLimits {
    const redis = options.redisUrl
      ? new Redis(options.redisUrl, {
          // Fail fast instead of queueing while disconnected: the insurance limiter answers meanwhile.
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          connectTimeout: 2_000,
          retryStrategy: (attempt) => Math.min(attempt * 500, 5_000),
        })
      : undefined;
    const limits = new RateLimits(redis, options.logger, options.keyPrefix ?? 'latchkey:rl', options.countedByPrimary ?? false);
    redis?.on('error', (err: Error) => limits.reportRedisDown(err));
    redis?.on('ready', () => limits.reportRedisUp());
    return limits;
  }

  /**
   * Counts one request against `key`'s budget; `allowed` false when the budget is spent.
   * `resetAtMs` is when the window ends, to the millisecond (the state has whole seconds).
   */
  async consume(key: string, limit: Limit, nowMs: number): Promise<{ allowed: boolean; state: RateState; resetAtMs: number }> {
    const limiter = this.limiterFor(limit);
    let res: RateLimiterRes;
    let allowed = true;
    try {
      res = await limiter.consume(key, 1);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      res = rejection;
      allowed = false;
    }
    const state: RateState = {
      limit: limit.requests,
      remaining: Math.max(0, res.remainingPoints),
      resetUnixSeconds: Math.ceil((nowMs + res.msBeforeNext) / 1000),
    };
    if (!allowed) state.retryAfterSeconds = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
    return { allowed, state, resetAtMs: nowMs + res.msBeforeNext };
  }

  /** The budget of `key` without spending from it (for requests refused before step 8). */
  async peek(key: string, limit: Limit, nowMs: number): Promise<RateState> {
    let res: RateLimiterRes | null = null;
    try {
      res = await this.limiterFor(limit).get(key);
    } catch {
      res = null; // store unreachable: report the full budget rather than fail the answer
    }
    return {
      limit: limit.requests,
      remaining: res ? Math.max(0, res.remainingPoints) : limit.requests,
      resetUnixSeconds: Math.ceil((nowMs + (res ? res.msBeforeNext : limit.windowMs)) / 1000),
    };
  }

  private limiterFor(limit: Limit): RateLimiterAbstract {
    const durationSeconds = Math.max(1, Math.round(limit.windowMs / 1000));
    const id = `${limit.requests}/${durationSeconds}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      const opts = { points: limit.requests, duration: durationSeconds, keyPrefix: `${this.keyPrefix}:${id}` };
      const local = this.countedByPrimary ? new RateLimiterCluster({ ...opts, timeoutMs: PRIMARY_ANSWER_MS }) : new RateLimiterMemory(opts);
      limiter = this.redis
        ? new RateLimiterRedis({ ...opts, storeClient: this.redis, rejectIfRedisNotReady: true, insuranceLimiter: local })
        : local;
      this.limiters.set(id, limiter);
    }
    return limiter;
  }

  private reportRedisDown(err: Error): void {
    if (this.redisDown) return;
    this.redisDown = true;
    const fallback = this.countedByPrimary ? "this replica's counters (kept by its primary for all its workers)" : "this replica's own counters";
    this.logger.warn({ err: { message: err.message } }, `Redis is unreachable: rate limits fall back to ${fallback} until it returns`);
  }

  private reportRedisUp(): void {
    if (!this.redisDown) return;
    this.redisDown = false;
    this.logger.info('Redis is reachable again: rate limits are shared by every replica');
  }

  async close(): Promise<void> {
    this.redis?.disconnect();
  }
}

/**
 * In the cluster primary, before any worker is forked: keeps the counters every worker's
 * RateLimits asks for (one RateLimiterMemory per limit, created on a worker's first use of it).
 * rate-limiter-flexible makes this a process-wide singleton, so calling it twice is harmless.
 */
export function countForWorkers(): void {
  new RateLimiterClusterMaster();
}

/** `<requests>/<window>` with the window in s, m or h, e.g. `6000/1m`. */
export function parseLimit(text: string): Limit | undefined {
  const m = /^(\d+)\/(\d+)(s|m|h)$/.exec(text.trim());
  if (!m) return undefined;
  const requests = Number(m[1]);
  const windowMs = Number(m[2]) * { s: 1000, m: 60_000, h: 3_600_000 }[m[3] as 's' | 'm' | 'h'];
  if (requests < 1 || windowMs < 1000 || windowMs > 86_400_000) return undefined;
  return { requests, windowMs };
}
