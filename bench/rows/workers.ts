/**
 * LATCHKEY_WORKERS=2 ÷ LATCHKEY_WORKERS=1: 10 named flags over Connect JSON, two servers over copies
 * of the same store, alternating. On this machine the load generator shares the two cores with the
 * servers, so two workers cannot double anything; the target (≥ 1.5) is for a load generator
 * elsewhere. When the server does not run workers for the setting (it refuses it, or starts one
 * process anyway), the row says "not available".
 */
import { readlinkSync } from 'node:fs';
import { connectJsonCall } from '../calls.js';
import { compare } from '../compare.js';
import { startLatchkey } from '../latchkey-process.js';
import { descendantsOf } from '../process-cpu.js';
import { stopProcess, type Server } from '../processes.js';
import { atLeast, roundsText, side } from '../report.js';
import type { RunContext } from './context.js';

const NAME = 'LATCHKEY_WORKERS=2 ÷ 1, 10 flags, Connect JSON';

/** Node processes in a server's tree (the server and its cluster workers). */
function nodeProcesses(pid: number): number {
  const exe = readlinkSync(`/proc/${pid}/exe`);
  return [pid, ...descendantsOf(pid)].filter((p) => {
    try {
      return readlinkSync(`/proc/${p}/exe`) === exe;
    } catch {
      return false;
    }
  }).length;
}

export async function workerRows(ctx: RunContext): Promise<void> {
  const base = ctx.stores.flags(200);
  let one: Server | undefined;
  let two: Server | undefined;
  try {
    try {
      [one, two] = await Promise.all([startLatchkey('latchkey (1 worker)', ctx.stores.copy(base, 'workers-1'), { workers: 1 }), startLatchkey('latchkey (2 workers)', ctx.stores.copy(base, 'workers-2'), { workers: 2 })]);
    } catch (err) {
      ctx.rows.push({ family: 'workers', name: NAME, value: undefined, unit: '×', target: '≥ 1.5', met: undefined, note: `not available: the server did not start with LATCHKEY_WORKERS (${String(err).split('\n')[0]})` });
      return;
    }
    // Workers may fork after the primary listens; give them a moment before counting.
    await new Promise((r) => setTimeout(r, 2000));
    const processes = { one: nodeProcesses(one.pid), two: nodeProcesses(two.pid) };
    if (processes.two <= processes.one) {
      ctx.rows.push({ family: 'workers', name: NAME, value: undefined, unit: '×', target: '≥ 1.5', met: undefined, note: `not available: with LATCHKEY_WORKERS=2 the server runs ${processes.two} Node process(es), as many as with 1 (the setting is not implemented)` });
      return;
    }
    const secret = ctx.stores.credentials.backend;
    const c = await compare({ label: 'latchkey, 1 worker', pid: one.pid, call: () => connectJsonCall(one!.port, secret) }, { label: 'latchkey, 2 workers', pid: two.pid, call: () => connectJsonCall(two!.port, secret) });
    ctx.rows.push({
      family: 'workers',
      name: NAME,
      value: c.ratio,
      unit: '×',
      ...atLeast(c.ratio, 1.5),
      subject: c.subject,
      baseline: c.baseline,
      roundRatios: c.roundRatios,
      note: `the load generator shares this machine's cores with the workers; the target is for a load generator elsewhere (processes: ${processes.one} vs ${processes.two})`,
      details: { processes, cpuRatio: c.cpuRatio },
    });
    // Where the two-worker server spent its CPU in its last round: the primary (pid ${two.pid}) and each worker.
    const last = c.subject.rounds.at(-1);
    const split = last?.cpu ? Object.entries(last.cpu.byProcess).map(([pid, us]) => `${Number(pid) === two!.pid ? 'primary' : `worker ${pid}`} ${((us / Math.max(1, last.requests)) | 0)} µs/call`).join(', ') : 'not read';
    ctx.rows.at(-1)!.details!.twoWorkerCpuSplitLastRound = split;
    ctx.log(`workers\n  1: ${side(c.baseline)}\n  2: ${side(c.subject)} (last round: ${split})\n  ratio ${c.ratio.toFixed(2)} (rounds ${roundsText(c.roundRatios)})`);
  } finally {
    await Promise.all([stopProcess(one), stopProcess(two)]);
  }
}
