/**
 * Alternating rounds (ABBA) and medians of per-round ratios. The machines this runs on are shared
 * and their speed drifts by tens of percent within a minute, so two sides are never measured far
 * apart: both warm up, then rounds alternate, the order flipping every round, and what is reported
 * is the median of the per-round ratios (the rounds are kept too).
 */
import { config } from './config.js';
import { load } from './drivers/index.js';
import type { Call, LoadResult } from './load-result.js';
import { cpuDelta, cpuTimeOf, type CpuTime } from './process-cpu.js';
import { median } from './stats.js';

/** One side of a comparison: a server process tree and the call sent to it (which may change per round). */
export interface Side {
  label: string;
  pid: number;
  call: (round: number) => Call;
  /** Told each round's result (e.g. to move a credential cursor on). */
  afterRound?: (result: LoadResult) => void;
}

/** One round against one server: the client's view, and the CPU the server tree used meanwhile. */
export interface Round extends LoadResult {
  cpu: CpuTime | undefined;
}

/**
 * Several rounds of one side together: the rounds' requests, errors, seconds and rate summed,
 * their percentiles averaged weighted by their requests, and the driver that measured them.
 */
export interface Measured extends LoadResult {
  label: string;
  /** Server CPU per answered call, µs: the whole process tree, and its main threads alone. */
  cpuUsPerCall: { process: number; mainThread: number } | undefined;
  processes: number | undefined;
  rounds: Round[];
}

export interface Comparison {
  baseline: Measured;
  subject: Measured;
  /** subject ÷ baseline requests/s, per round, and their median. */
  roundRatios: number[];
  ratio: number;
  /** subject ÷ baseline CPU per call, per round, and their median (undefined off Linux). */
  cpuRoundRatios: number[] | undefined;
  cpuRatio: number | undefined;
}

/** How a comparison runs: defaults from the BENCH_* knobs. */
export interface RoundOptions {
  rounds?: number;
  seconds?: number;
  warmupSeconds?: number;
  concurrency?: number;
}

export async function measureRound(side: Side, round: number, seconds: number, concurrency = config.concurrency): Promise<Round> {
  const before = cpuTimeOf(side.pid);
  const result = await load(side.call(round), seconds, concurrency);
  const after = cpuTimeOf(side.pid);
  side.afterRound?.(result);
  return { ...result, cpu: cpuDelta(before, after) };
}

const perCall = (r: Round) => (r.cpu && r.requests ? r.cpu.processUs / r.requests : NaN);

export function combine(label: string, rounds: Round[]): Measured {
  const requests = rounds.reduce((n, r) => n + r.requests, 0);
  const seconds = rounds.reduce((n, r) => n + r.seconds, 0);
  const weighted = (pick: (r: Round) => number) => rounds.reduce((n, r) => n + (r.requests ? pick(r) * r.requests : 0), 0) / Math.max(1, requests);
  const withCpu = rounds.every((r) => r.cpu !== undefined);
  return {
    label,
    requests,
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    seconds,
    rps: requests / seconds,
    p50ms: weighted((r) => r.p50ms),
    p99ms: weighted((r) => r.p99ms),
    p999ms: weighted((r) => r.p999ms),
    cpuUsPerCall: withCpu
      ? {
          process: rounds.reduce((n, r) => n + r.cpu!.processUs, 0) / Math.max(1, requests),
          mainThread: rounds.reduce((n, r) => n + r.cpu!.mainThreadUs, 0) / Math.max(1, requests),
        }
      : undefined,
    processes: withCpu ? Math.max(...rounds.map((r) => r.cpu!.processes)) : undefined,
    tool: rounds[0]?.tool ?? '',
    rounds,
  };
}

/** Both sides warm up, then `rounds` alternating rounds: A B, B A, A B … */
export async function compare(baseline: Side, subject: Side, o: RoundOptions = {}): Promise<Comparison> {
  const rounds = o.rounds ?? config.rounds;
  const seconds = o.seconds ?? config.seconds;
  const warmup = o.warmupSeconds ?? config.warmupSeconds;
  const c = o.concurrency ?? config.concurrency;
  await load(baseline.call(-1), warmup, c).then((r) => baseline.afterRound?.(r));
  await load(subject.call(-1), warmup, c).then((r) => subject.afterRound?.(r));
  const a: Round[] = [];
  const b: Round[] = [];
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      a.push(await measureRound(baseline, i, seconds, c));
      b.push(await measureRound(subject, i, seconds, c));
    } else {
      b.push(await measureRound(subject, i, seconds, c));
      a.push(await measureRound(baseline, i, seconds, c));
    }
  }
  const roundRatios = b.map((r, i) => r.rps / a[i]!.rps);
  const cpuRoundRatios = a.every((r) => r.cpu) && b.every((r) => r.cpu) ? b.map((r, i) => perCall(r) / perCall(a[i]!)) : undefined;
  return {
    baseline: combine(baseline.label, a),
    subject: combine(subject.label, b),
    roundRatios,
    ratio: median(roundRatios),
    cpuRoundRatios,
    cpuRatio: cpuRoundRatios ? median(cpuRoundRatios) : undefined,
  };
}

/** One side alone, for rows without a counterpart (warm-up, then `rounds` rounds). */
export async function measure(side: Side, o: RoundOptions = {}): Promise<Measured> {
  const rounds = o.rounds ?? config.rounds;
  const c = o.concurrency ?? config.concurrency;
  await load(side.call(-1), o.warmupSeconds ?? config.warmupSeconds, c).then((r) => side.afterRound?.(r));
  const out: Round[] = [];
  for (let i = 0; i < rounds; i++) out.push(await measureRound(side, i, o.seconds ?? config.seconds, c));
  return combine(side.label, out);
}
