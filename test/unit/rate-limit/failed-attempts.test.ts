import { createLogger } from '../../../src/logging/logger.js';
import { FailedAttempts, addressKey, apiClientKey } from '../../../src/rate-limit/failed-attempts.js';
import { RateLimits } from '../../../src/rate-limit/rate-limits.js';

describe('FailedAttempts', () => {
  let limits: RateLimits;
  beforeEach(() => {
    limits = RateLimits.create({ redisUrl: undefined, logger: createLogger('silent') });
  });
  afterEach(async () => {
    await limits.close();
  });

  it('blocks a key once its budget is spent, until the window ends, and reports the tightest budget', async () => {
    const failures = new FailedAttempts(limits, { requests: 3, windowMs: 60_000 });
    const now = Date.now();
    expect(failures.none).toBe(true);
    const a = addressKey('203.0.113.1');
    const c = apiClientKey('someone');
    expect((await failures.fail([c, a], now)).state.remaining).toBe(2);
    expect(await failures.fail([a], now)).toMatchObject({ allowed: true, key: a, state: { remaining: 1 } });
    expect(failures.blocked([c, a], now)).toBeUndefined();
    expect(await failures.fail([c, a], now)).toMatchObject({ allowed: true, key: a, state: { remaining: 0 } });
    // The address is blocked; the client id (one point left) is not.
    expect(failures.blocked([c], now)).toBeUndefined();
    const blocked = failures.blocked([c, a], now);
    expect(blocked).toMatchObject({ key: a, state: { limit: 3, remaining: 0 } });
    expect(blocked!.state.retryAfterSeconds).toBeGreaterThanOrEqual(59);
    expect(blocked!.state.retryAfterSeconds).toBeLessThanOrEqual(60);
    // Past the window the block is forgotten.
    expect(failures.blocked([a], now + 61_000)).toBeUndefined();
    expect(failures.none).toBe(true);
  });

  it('answers not allowed for a failure counted past the budget', async () => {
    const failures = new FailedAttempts(limits, { requests: 1, windowMs: 60_000 });
    const now = Date.now();
    expect((await failures.fail(['k'], now)).allowed).toBe(true);
    const over = await failures.fail(['k'], now);
    expect(over.allowed).toBe(false);
    expect(over.state.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    const err = failures.refusal(over.key, over.state);
    expect(err).toMatchObject({ kind: 'resource_exhausted', reason: 'RATE_LIMITED', retryAfterSeconds: over.state.retryAfterSeconds, metadata: { limit: '1', window_seconds: '60' } });
  });

  it('stays bounded: past its size it drops the oldest blocks, and a dropped key is blocked again by its next failure', async () => {
    const failures = new FailedAttempts(limits, { requests: 1, windowMs: 60_000 }, 8);
    const now = Date.now();
    for (let i = 0; i < 20; i++) await failures.fail([addressKey(`10.0.0.${i}`)], now);
    const stillBlocked = Array.from({ length: 20 }, (_, i) => failures.blocked([addressKey(`10.0.0.${i}`)], now) !== undefined);
    expect(stillBlocked.filter(Boolean).length).toBeLessThanOrEqual(8);
    expect(stillBlocked[19]).toBe(true);
    expect(stillBlocked[0]).toBe(false);
    // Its counter still refuses: the next failure is not allowed, and blocks the key again.
    expect((await failures.fail([addressKey('10.0.0.0')], now)).allowed).toBe(false);
    expect(failures.blocked([addressKey('10.0.0.0')], now)).toBeDefined();
  });

  it('keys long client ids by a digest', () => {
    expect(apiClientKey('ci-admin')).toBe('apiClient:ci-admin');
    expect(apiClientKey('x'.repeat(10_000))).toMatch(/^apiClient:#[0-9a-f]{64}$/);
  });
});
