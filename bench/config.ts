/**
 * The knobs of `npm run bench` (environment variables; see run.ts's header for the list).
 */
const num = (name: string, fallback: number) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return n;
};

/** Row families, in the order they run. */
export const FAMILIES = ['json', 'grpc', 'confidence', 'ofrep', 'resolve-all', 'flag-change', 'cold', 'audit', 'tails', 'workers'] as const;
export type Family = (typeof FAMILIES)[number];

function only(): Set<Family> {
  const raw = process.env.BENCH_ONLY;
  if (!raw) return new Set(FAMILIES);
  const picked = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = picked.filter((p) => !(FAMILIES as readonly string[]).includes(p));
  if (unknown.length) throw new Error(`BENCH_ONLY: unknown row families ${unknown.join(', ')} (known: ${FAMILIES.join(', ')})`);
  return new Set(picked as Family[]);
}

export const config = {
  rounds: num('BENCH_ROUNDS', 5),
  seconds: num('BENCH_SECONDS', 2),
  warmupSeconds: num('BENCH_WARMUP_SECONDS', 2),
  /** HTTP/1.1 connections (wrk -c) and gRPC streams on one connection (h2load -m). */
  concurrency: num('BENCH_CONCURRENCY', 16),
  /** wrk threads: one leaves the other core to the server. */
  wrkThreads: num('BENCH_WRK_THREADS', 1),
  /** LATCHKEY_WORKERS for every row but `workers` (1: like for like with the one-process ceilings). */
  latchkeyWorkers: num('BENCH_LATCHKEY_WORKERS', 1),
  /**
   * Resolve-all of the big stores: connections, and seconds per round. One call of 10 000 flags
   * can take a good part of a second; 16 of them queued behind each other would outlast a round.
   */
  bigStoreConcurrency: num('BENCH_BIG_STORE_CONCURRENCY', 2),
  bigStoreSeconds: num('BENCH_BIG_STORE_SECONDS', 4),
  coldCredentials: num('BENCH_COLD_CREDENTIALS', 100_000),
  storeSizes: (process.env.BENCH_STORE_SIZES ?? '200,2000,10000').split(',').map(Number),
  /** Flag-change trials per condition (idle, under load). */
  flagChangeTrials: num('BENCH_FLAG_CHANGE_TRIALS', 5),
  /** Validations the audit row sends. */
  auditValidations: num('BENCH_AUDIT_VALIDATIONS', 20_000),
  /** Length of each open-loop tails run, and the share of the measured max rate it runs at. */
  tailSeconds: num('BENCH_TAIL_SECONDS', 15),
  tailLoad: num('BENCH_TAIL_LOAD', 0.6),
  /** Force the Node drivers even when wrk and h2load are installed. */
  nodeDrivers: process.env.BENCH_NODE_DRIVERS === '1',
  only: only(),
};

export type BenchConfig = typeof config;
