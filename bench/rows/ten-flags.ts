/**
 * 10 named flags of a 200-flag store, latchkey ÷ the platform's ceiling: Connect JSON, gRPC, the
 * Confidence route `/v1/flags:resolve` and OFREP bulk (over a credential limited to project `ten`)
 * against `node:http`, gRPC against grpc-js.
 */
import { compare } from '../compare.js';
import { config, type Family } from '../config.js';
import { confidenceCall, connectJsonCall, grpcCall, ofrepBulkCall, toPort } from '../calls.js';
import type { Call } from '../load-result.js';
import { roundsText, side, throughputRow } from '../report.js';
import type { RunContext } from './context.js';

export async function tenFlagRows(ctx: RunContext): Promise<void> {
  const { latchkey, http, grpc, stores } = ctx;
  const { backend, ofrepTen } = stores.credentials;
  const rows: { family: Family; name: string; call: Call; ceiling: typeof http; target: number }[] = [
    { family: 'json', name: '10 flags, Connect JSON ÷ node:http', call: connectJsonCall(latchkey.port, backend), ceiling: http, target: 0.35 },
    { family: 'grpc', name: '10 flags, gRPC ÷ grpc-js', call: grpcCall(latchkey.port, backend), ceiling: grpc, target: 0.35 },
    { family: 'confidence', name: '10 flags, /v1/flags:resolve ÷ node:http', call: confidenceCall(latchkey.port, backend), ceiling: http, target: 0.4 },
    { family: 'ofrep', name: '10 flags, OFREP bulk ÷ node:http', call: ofrepBulkCall(latchkey.port, ofrepTen), ceiling: http, target: 0.4 },
  ];
  for (const r of rows) {
    if (!config.only.has(r.family)) continue;
    const why = ctx.unavailable.get(r.family);
    if (why) {
      ctx.rows.push({ family: r.family, name: r.name, value: undefined, unit: '×', target: `≥ ${r.target}`, met: undefined, note: `not available: ${why}` });
      continue;
    }
    const c = await compare(
      { label: r.ceiling.name, pid: r.ceiling.pid, call: () => toPort(r.call, r.ceiling.port) },
      { label: 'latchkey', pid: latchkey.pid, call: () => r.call },
    );
    ctx.measured[r.family] = c.subject;
    ctx.rows.push(throughputRow(r.family, r.name, c, r.target));
    ctx.log(`${r.name}\n  ${r.ceiling.name}: ${side(c.baseline)}\n  latchkey: ${side(c.subject)}\n  ratio ${c.ratio.toFixed(3)} (rounds ${roundsText(c.roundRatios)}); CPU per call ratio ${c.cpuRatio?.toFixed(1) ?? '–'}`);
  }
}
