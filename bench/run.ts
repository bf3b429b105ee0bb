/**
 * `npm run bench`: latchkey's runtime path against the platform's own ceilings, started in the same
 * run on the same machine (SPEC §10, issue #14), each server in its own process:
 * - latchkey (`bin/latchkey.js serve` over SQLite), seeded through its management API and grown
 *   straight in the SQLite file for the big stores (seed-api.ts, seed-sqlite.ts);
 * - a plain `node:http` server answering latchkey's own JSON answers (baseline-http.ts), the ceiling
 *   of the HTTP/1.1 rows (Connect JSON, `/v1/flags:resolve`, OFREP);
 * - an `@grpc/grpc-js` server answering latchkey's own serialized message (baseline-grpc.ts), the
 *   ceiling of the gRPC row.
 * Load comes from wrk (HTTP/1.1, drivers/wrk-post.lua) and h2load (gRPC), or from the Node drivers
 * of load.ts when those are not installed. Every comparison warms both sides up, then alternates
 * rounds (A B, B A, …) and reports the median of the per-round ratios (compare.ts); each side
 * reports requests/s, p50, p99 and the server's CPU per call (all its processes, from /proc).
 *
 * Rows (BENCH_ONLY picks families, comma-separated): json, grpc, confidence, ofrep (10 named flags
 * of 200 ÷ ceiling), resolve-all (every flag of 200 / 2 000 / 10 000 for one context; ÷ a 10-flag
 * call; 10 000 ÷ 200; CPU per flag), flag-change (UpdateFlag → visible in resolves at 10 000
 * flags, idle and under load), cold (a different credential of 100 000 per request ÷ one cached),
 * audit (bytes stored per 1 000 validations), tails (p50/p99/p99.9 open loop at 60 % of max),
 * workers (LATCHKEY_WORKERS=2 ÷ 1).
 *
 * Knobs (environment):
 *   BENCH_ONLY=json,grpc         row families to run (default: all)
 *   BENCH_ROUNDS=5               alternating rounds per comparison
 *   BENCH_SECONDS=2              seconds per round and side (wrk/h2load take whole seconds)
 *   BENCH_WARMUP_SECONDS=2       warm-up per side before the rounds
 *   BENCH_CONCURRENCY=16         HTTP/1.1 connections, or gRPC streams on one HTTP/2 connection
 *   BENCH_WRK_THREADS=1          wrk threads
 *   BENCH_LATCHKEY_WORKERS=1     LATCHKEY_WORKERS of every latchkey but the workers row's
 *   BENCH_STORE_SIZES=200,2000,10000   flag stores of the resolve-all row (the largest also serves flag-change)
 *   BENCH_COLD_CREDENTIALS=100000      credentials stored for the cold row
 *   BENCH_FLAG_CHANGE_TRIALS=5   flag changes timed per condition
 *   BENCH_AUDIT_VALIDATIONS=20000      about how many validations the audit row sends
 *   BENCH_TAIL_SECONDS=15, BENCH_TAIL_LOAD=0.6   open-loop tails run length and share of max rate
 *   BENCH_NODE_DRIVERS=1         use the Node drivers even when wrk and h2load are installed
 *   BENCH_PROFILE_DIR=<dir>      write a V8 CPU profile of each latchkey process there
 *
 * Output: a table of every row with its figure and target, and bench/results/latest.json with
 * every figure, every round, the machine (CPUs, Node version) and the date. The load generator
 * shares the machine with the servers: only ratios of one run mean anything.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectFlags, grpcAnswer, httpAnswer } from './answers.js';
import { startGrpcBaseline, startHttpBaseline } from './baselines.js';
import { CONFIDENCE_PATH, OFREP_BULK_PATH, RESOLVE_PATH, confidenceCall, connectJsonCall, grpcCall, ofrepBulkCall, toPort } from './calls.js';
import { config, type Family } from './config.js';
import { describeTools, tools } from './drivers/index.js';
import { startLatchkey } from './latchkey-process.js';
import { ROOT, stopAll, stopProcess, type Server } from './processes.js';
import { printTable } from './report.js';
import { auditRows } from './rows/audit-size.js';
import { coldCredentialRows } from './rows/cold.js';
import type { RunContext } from './rows/context.js';
import { flagChangeRows } from './rows/flag-change.js';
import { resolveAllRows } from './rows/resolve-all.js';
import { tailRows } from './rows/tails.js';
import { tenFlagRows } from './rows/ten-flags.js';
import { workerRows } from './rows/workers.js';
import { prepareStores } from './stores.js';

const started = Date.now();
const log = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-'));
  try {
    log(describeTools());
    log(`rounds ${config.rounds} × ${config.seconds} s per side after ${config.warmupSeconds} s warm-up, concurrency ${config.concurrency}; rows: ${[...config.only].join(', ')}`);
    const stores = await prepareStores(dir);
    const { backend, ofrepTen } = stores.credentials;
    const latchkey = await startLatchkey('latchkey', stores.flags(200), { workers: config.latchkeyWorkers });

    // One answer of each kind through a real client: checked, and kept for the ceilings to send.
    // A route that fails here (others change the server meanwhile) makes its row "not available".
    const unavailable = new Map<string, string>();
    const json = await httpAnswer(connectJsonCall(latchkey.port, backend));
    expectFlags('Connect JSON ResolveFlags', json.json, 10);
    const bodies: Record<string, string> = { [RESOLVE_PATH]: json.body };
    const attempt = async (family: Family, check: () => Promise<void>) => {
      if (!config.only.has(family)) return;
      try {
        await check();
      } catch (err) {
        unavailable.set(family, String(err).split('\n')[0]!);
        log(`${family}: not available: ${unavailable.get(family)}`);
      }
    };
    await attempt('confidence', async () => {
      const a = await httpAnswer(confidenceCall(latchkey.port, backend));
      expectFlags('/v1/flags:resolve', a.json, 10);
      bodies[CONFIDENCE_PATH] = a.body;
    });
    await attempt('ofrep', async () => {
      const a = await httpAnswer(ofrepBulkCall(latchkey.port, ofrepTen));
      expectFlags('OFREP bulk', a.json, 10);
      bodies[OFREP_BULK_PATH] = a.body;
    });
    await attempt('resolve-all', async () => expectFlags('resolve-all of 200', (await httpAnswer(connectJsonCall(latchkey.port, backend, []))).json, 200));
    // The gRPC ceiling answers latchkey's message; without one it answers the JSON answer's bytes (the row is skipped anyway).
    let grpcMessage: Uint8Array = Buffer.from(json.body);
    await attempt('grpc', async () => {
      grpcMessage = await grpcAnswer(grpcCall(latchkey.port, backend));
    });

    const http = await startHttpBaseline(dir, bodies);
    const grpc = await startGrpcBaseline(dir, RESOLVE_PATH, grpcMessage);
    if ((await httpAnswer(toPort(connectJsonCall(latchkey.port, backend), http.port))).body !== json.body) throw new Error('the node:http ceiling does not answer latchkey\'s bytes');
    if (!(await grpcAnswer(toPort(grpcCall(latchkey.port, backend), grpc.port))).equals(grpcMessage)) throw new Error('the grpc-js ceiling does not answer latchkey\'s bytes');
    log(`answers: ${Object.entries(bodies).map(([p, b]) => `${p} ${b.length} B`).join(', ')}${config.only.has('grpc') && !unavailable.has('grpc') ? `, gRPC ${grpcMessage.length} B` : ''}`);

    const ctx: RunContext = { stores, latchkey, http, grpc, rows: [], measured: {}, unavailable, log };
    await tenFlagRows(ctx);

    const startStore = async (flags: number): Promise<Server> => {
      const t = Date.now();
      const db = stores.flags(flags);
      const server = await startLatchkey(`latchkey (${flags} flags)`, db, { workers: config.latchkeyWorkers });
      expectFlags(`resolve-all of ${flags}`, (await httpAnswer(connectJsonCall(server.port, backend, []))).json, flags);
      log(`store of ${flags} flags grown and served in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      return server;
    };
    // A family that fails (a server that does not start, a route that breaks mid-run) gets a row
    // saying so, and the others still run.
    const family = async (name: Family, run: () => Promise<void>) => {
      if (!config.only.has(name)) return;
      const why = unavailable.get(name);
      if (why === undefined) {
        try {
          return await run();
        } catch (err) {
          log(`${name} failed: ${String((err as Error)?.stack ?? err)}`);
          ctx.rows.push({ family: name, name: `${name} rows`, value: undefined, unit: '', target: '', met: undefined, note: `not available: ${String(err).split('\n')[0]}` });
          return;
        }
      }
      ctx.rows.push({ family: name, name: `${name} rows`, value: undefined, unit: '', target: '', met: undefined, note: `not available: ${why}` });
    };
    if (config.only.has('resolve-all') || config.only.has('flag-change')) {
      const flags = Math.max(...config.storeSizes);
      let big: { flags: number; server: Server } | undefined;
      try {
        await family(config.only.has('resolve-all') ? 'resolve-all' : 'flag-change', async () => {
          big = { flags, server: await startStore(flags) };
        });
        if (big) {
          const b = big;
          await family('resolve-all', () => resolveAllRows(ctx, config.storeSizes, startStore, b));
          await family('flag-change', () => flagChangeRows(ctx, b));
        }
      } finally {
        await stopProcess(big?.server);
      }
    }
    await family('cold', () => coldCredentialRows(ctx));
    await family('audit', () => auditRows(ctx));
    await family('tails', () => tailRows(ctx));
    await family('workers', () => workerRows(ctx));

    console.log(`\n${printTable(ctx.rows)}\n`);
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const out = {
      date: new Date().toISOString(),
      durationSeconds: (Date.now() - started) / 1000,
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, platform: process.platform, loadavgAtEnd: loadavg() },
      tools,
      config: { ...config, only: [...config.only] },
      answerBytes: { ...Object.fromEntries(Object.entries(bodies).map(([p, b]) => [p, b.length])), grpc: grpcMessage.length },
      unavailable: Object.fromEntries(unavailable),
      rows: ctx.rows,
    };
    writeFileSync(join(ROOT, 'bench/results/latest.json'), `${JSON.stringify(out, null, 2)}\n`);
    log('written to bench/results/latest.json');
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch(async (err: unknown) => {
  console.error(err);
  await stopAll();
  process.exit(1);
});
