/**
 * Cold credentials: 10 named flags over Connect JSON, each request carrying a different credential
 * of BENCH_COLD_CREDENTIALS (100 000) stored ones, ÷ the same with one credential (cached), on the
 * same server, alternating. A cursor runs through the secrets across rounds, so no credential is
 * sent twice until the file has been used up (the row says when it wrapped around).
 */
import { compare } from '../compare.js';
import { connectJsonCall } from '../calls.js';
import { config } from '../config.js';
import { httpAnswer, expectFlags } from '../answers.js';
import { startLatchkey } from '../latchkey-process.js';
import { stopProcess } from '../processes.js';
import { atLeast, roundsText, side } from '../report.js';
import { readFileSync } from 'node:fs';
import type { RunContext } from './context.js';

export async function coldCredentialRows(ctx: RunContext): Promise<void> {
  const count = config.coldCredentials;
  const t = performance.now();
  const { db, secretsFile } = ctx.stores.cold(count);
  ctx.log(`cold credentials: ${count} stored in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const server = await startLatchkey('latchkey (cold credentials)', db, { workers: config.latchkeyWorkers });
  try {
    // A few of the grown credentials through a real client first: they must resolve like the seeded one.
    const secrets = readFileSync(secretsFile, 'utf8').split('\n').filter(Boolean);
    for (const s of [secrets[0]!, secrets[Math.floor(secrets.length / 2)]!, secrets[secrets.length - 1]!]) {
      expectFlags('a grown credential', (await httpAnswer(connectJsonCall(server.port, s))).json, 10);
    }
    let cursor = 3; // the three above are warm now
    const base = connectJsonCall(server.port, ctx.stores.credentials.backend);
    const { Authorization: _auth, ...headers } = base.headers;
    const c = await compare(
      { label: 'latchkey, one credential', pid: server.pid, call: () => base },
      {
        label: `latchkey, a different credential of ${count} per request`,
        pid: server.pid,
        call: () => ({ ...base, headers, rotate: { file: secretsFile, count, offset: cursor } }),
        afterRound: (r) => {
          cursor += r.requests + r.errors + config.concurrency;
        },
      },
    );
    const wrapped = cursor > count;
    ctx.rows.push({
      family: 'cold',
      name: `cold credentials (1 of ${count} per request) ÷ one cached credential`,
      value: c.ratio,
      unit: '×',
      ...atLeast(c.ratio, 0.8),
      subject: c.subject,
      baseline: c.baseline,
      roundRatios: c.roundRatios,
      note: `${cursor} credentials sent${wrapped ? `: more than the ${count} stored, so later rounds met credentials seen before (cached unless evicted); raise BENCH_COLD_CREDENTIALS or lower BENCH_ROUNDS/BENCH_SECONDS for a colder read` : ', every one for the first time'}; the issue's target is stated for 1M stored`,
      details: { credentialsSent: cursor, wrapped, cpuRatio: c.cpuRatio },
    });
    ctx.log(`cold credentials\n  cached: ${side(c.baseline)}\n  cold:   ${side(c.subject)}\n  ratio ${c.ratio.toFixed(2)} (rounds ${roundsText(c.roundRatios)})`);
  } finally {
    await stopProcess(server);
  }
}
