/**
 * Tail latencies at a fixed share (60 %) of the maximum rate of the 10-flag Connect JSON call,
 * open loop (drivers/open-loop.ts), on latchkey and, at the same rate, on the node:http ceiling for
 * reference. The maximum is measured right before (closed loop, two rounds): the machine's speed
 * drifts too much to reuse a figure from minutes earlier. The figure is latchkey's p99.9 ÷ p50.
 *
 * An open-loop run above what the server can serve just now builds a queue, and every percentile
 * then measures the queue (p50 of seconds, and a small p99.9 ÷ p50 that means nothing). Such a run
 * is recognised (its p50 above the closed-loop p50 at full load, or fewer answers per second than
 * were sent) and repeated at half the rate, twice at most; the row says which rate it kept.
 */
import { connectJsonCall, toPort } from '../calls.js';
import { measure } from '../compare.js';
import { config } from '../config.js';
import { openLoopLoad } from '../drivers/open-loop.js';
import { atMost } from '../report.js';
import type { RunContext } from './context.js';

type OpenLoop = Awaited<ReturnType<typeof openLoopLoad>>;

export async function tailRows(ctx: RunContext): Promise<void> {
  const { latchkey, http } = ctx;
  const call = connectJsonCall(latchkey.port, ctx.stores.credentials.backend);
  const closed = await measure({ label: 'latchkey', pid: latchkey.pid, call: () => call }, { rounds: 2 });
  const overloaded = (r: OpenLoop) => r.p50ms > closed.p50ms || r.requests < 0.9 * r.rate * config.tailSeconds;
  const text = (r: OpenLoop) => `p50 ${r.p50ms.toFixed(2)} ms, p99 ${r.p99ms.toFixed(2)} ms, p99.9 ${r.p999ms.toFixed(2)} ms (${r.requests} answered, ${r.errors} lost, ${r.late} sent late)`;
  const attempts: OpenLoop[] = [];
  let rate = Math.max(10, Math.round(closed.rps * config.tailLoad));
  let lk: OpenLoop;
  for (;;) {
    lk = await openLoopLoad(call, rate, config.tailSeconds, config.concurrency);
    attempts.push(lk);
    if (!overloaded(lk) || attempts.length === 3) break;
    ctx.log(`tails: ${rate} req/s was more than latchkey served just now (${text(lk)}); again at half the rate`);
    rate = Math.max(10, Math.round(rate / 2));
  }
  const valid = !overloaded(lk);
  const ceiling = await openLoopLoad(toPort(call, http.port), rate, config.tailSeconds, config.concurrency);
  const ratio = valid ? lk.p999ms / lk.p50ms : undefined;
  const share = Math.round((rate / closed.rps) * 100);
  ctx.rows.push({
    family: 'tails',
    name: `tails at ${share} % of max (${rate} req/s, Connect JSON): p99.9 ÷ p50`,
    value: ratio,
    unit: '×',
    ...atMost(ratio, 5),
    note:
      `${valid ? '' : 'not valid: the server did not keep up even at a quarter of the rate; '}` +
      `node:http's own p99.9 ÷ p50 at the same rate: ${(ceiling.p999ms / ceiling.p50ms).toFixed(1)}; ` +
      `max ${closed.rps.toFixed(0)} req/s closed loop (p50 ${closed.p50ms.toFixed(2)} ms); latchkey ${text(lk)}; node:http at the same rate ${text(ceiling)}; open loop, ${config.tailSeconds} s each` +
      (attempts.length > 1 ? `; ${attempts.length - 1} run(s) at higher rates were overloaded` : ''),
    details: { rate, ceilingRatio: ceiling.p999ms / ceiling.p50ms, maxRps: closed.rps, closedLoopP50ms: closed.p50ms, latchkey: lk, ceiling, attempts },
  });
  ctx.log(`tails at ${rate} req/s (${share} % of ${closed.rps.toFixed(0)})\n  latchkey: ${text(lk)}\n  node:http: ${text(ceiling)}`);
}
