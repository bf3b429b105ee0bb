/**
 * Every flag of a store for one context (Connect JSON, empty `flags`): stores of 200, 2 000 and
 * 10 000 flags. CPU per call and per flag; resolve-all(200) ÷ a 10-flag call and resolve-all(10 000)
 * ÷ resolve-all(200) as cost ratios (CPU per call, median of alternating rounds); and the marginal
 * CPU of one more flag, from the 200 and 10 000 stores. The big stores run with fewer connections
 * and longer rounds (BENCH_BIG_STORE_*), and the 200 store with them when compared to the biggest.
 */
import { compare, measure, type Measured } from '../compare.js';
import { connectJsonCall } from '../calls.js';
import { config } from '../config.js';
import { stopProcess, type Server } from '../processes.js';
import { atMost, roundsText, side, type Row } from '../report.js';
import type { RunContext } from './context.js';

/** Unleash 7.5.1 `/api/frontend` with 200 flags, measured on this machine class for issue #14 (not in this run). */
export const UNLEASH_PUBLISHED_RPS = { low: 240, high: 330 };

const cpuPerCall = (m: Measured) => m.cpuUsPerCall?.process;

function storeRow(flags: number, m: Measured, note?: string): Row {
  const perCall = cpuPerCall(m);
  return {
    family: 'resolve-all',
    name: `every flag of ${flags}, Connect JSON: CPU per flag`,
    value: perCall === undefined ? undefined : perCall / flags,
    unit: 'µs',
    target: '',
    met: undefined,
    subject: m,
    note,
    details: { flags, cpuUsPerCall: perCall },
  };
}

/** `big` is latchkey over the largest store, started by the caller (the flag-change row uses it too). */
export async function resolveAllRows(ctx: RunContext, sizes: readonly number[], startStore: (flags: number) => Promise<Server>, big: { flags: number; server: Server }): Promise<void> {
  const { latchkey, stores } = ctx;
  const secret = stores.credentials.backend;
  const all200 = connectJsonCall(latchkey.port, secret, []);
  // Fewer connections and longer rounds for the big stores: CPU per call is what these rows compare.
  const bigStore = { concurrency: config.bigStoreConcurrency, seconds: Math.max(config.seconds, config.bigStoreSeconds) };

  // resolve-all(200) against a 10-flag call, on the same server.
  const vsTen = await compare({ label: 'latchkey, 10 flags', pid: latchkey.pid, call: () => connectJsonCall(latchkey.port, secret) }, { label: 'latchkey, every flag of 200', pid: latchkey.pid, call: () => all200 });
  ctx.measured['resolve-all-200'] = vsTen.subject;
  const costVsTen = vsTen.cpuRatio ?? 1 / vsTen.ratio;
  const unleash = `resolve-all(200) served ${vsTen.subject.rps.toFixed(0)} req/s here; Unleash 7.5.1's /api/frontend served ${UNLEASH_PUBLISHED_RPS.low}–${UNLEASH_PUBLISHED_RPS.high} req/s for 200 flags on this machine class (issue #14; not measured in this run); the target of ≥ 20 × Unleash means ≥ ${20 * UNLEASH_PUBLISHED_RPS.low}–${20 * UNLEASH_PUBLISHED_RPS.high} req/s`;
  ctx.rows.push(storeRow(200, vsTen.subject, unleash));
  ctx.rows.push({
    family: 'resolve-all',
    name: 'every flag of 200 ÷ 10 flags: CPU per call',
    value: costVsTen,
    unit: '×',
    ...atMost(costVsTen, 3),
    subject: vsTen.subject,
    baseline: vsTen.baseline,
    roundRatios: vsTen.cpuRoundRatios ?? vsTen.roundRatios.map((r) => 1 / r),
    details: { throughputRatio: vsTen.ratio, throughputRoundRatios: vsTen.roundRatios },
  });
  ctx.log(`every flag of 200 vs 10 flags\n  10 flags: ${side(vsTen.baseline)}\n  all 200:  ${side(vsTen.subject)}\n  CPU ratio ${costVsTen.toFixed(2)} (rounds ${roundsText(vsTen.cpuRoundRatios)})`);

  for (const n of sizes.filter((s) => s !== 200 && s !== big.flags)) {
    const server = await startStore(n);
    try {
      const m = await measure({ label: `latchkey, every flag of ${n}`, pid: server.pid, call: () => connectJsonCall(server.port, secret, []) }, bigStore);
      ctx.rows.push(storeRow(n, m));
      ctx.log(`every flag of ${n}: ${side(m)}`);
    } finally {
      await stopProcess(server);
    }
  }

  // The largest store against the 200 one, alternating, on two servers.
  const vsBig = await compare(
    { label: 'latchkey, every flag of 200', pid: latchkey.pid, call: () => all200 },
    { label: `latchkey, every flag of ${big.flags}`, pid: big.server.pid, call: () => connectJsonCall(big.server.port, secret, []) },
    bigStore,
  );
  const growth = vsBig.cpuRatio ?? 1 / vsBig.ratio;
  const c200 = cpuPerCall(vsBig.baseline);
  const cBig = cpuPerCall(vsBig.subject);
  const marginal = c200 !== undefined && cBig !== undefined ? (cBig - c200) / (big.flags - 200) : undefined;
  ctx.rows.push(storeRow(big.flags, vsBig.subject));
  ctx.rows.push({
    family: 'resolve-all',
    name: `every flag of ${big.flags} ÷ every flag of 200: CPU per call`,
    value: growth,
    unit: '×',
    ...atMost(growth, 50),
    subject: vsBig.subject,
    baseline: vsBig.baseline,
    roundRatios: vsBig.cpuRoundRatios ?? vsBig.roundRatios.map((r) => 1 / r),
    note: `linear would be ${(big.flags / 200).toFixed(0)} ×`,
    details: { throughputRatio: vsBig.ratio, throughputRoundRatios: vsBig.roundRatios },
  });
  ctx.rows.push({
    family: 'resolve-all',
    name: `CPU of one more flag (${big.flags} vs 200 flags)`,
    value: marginal,
    unit: 'µs',
    ...atMost(marginal, 1),
    note: '(CPU per call at the big store − at 200) ÷ the flags between: the per-flag cost without the per-call cost',
  });
  ctx.log(`every flag of ${big.flags} vs 200\n  200: ${side(vsBig.baseline)}\n  ${big.flags}: ${side(vsBig.subject)}\n  CPU ratio ${growth.toFixed(1)} (rounds ${roundsText(vsBig.cpuRoundRatios)}); marginal ${marginal?.toFixed(2)} µs per flag`);
}
