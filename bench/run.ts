/**
 * `npm run bench`: resolve throughput of latchkey as a ratio of a bare Connect
 * handler measured in the same run, over gRPC (@grpc/grpc-js) and Connect JSON
 * on HTTP/1.1, with p50/p99 latency and each server's CPU time per call (from
 * /proc, on Linux); then latchkey with the validation audit trail on versus
 * off. Every number is relative to a baseline of this run on this machine,
 * never an absolute target. Results: bench/results/latest.json.
 *
 * The machines this runs on are shared and their speed drifts by tens of
 * percent within a minute, so the two sides of each comparison are measured in
 * alternating short rounds, after both have warmed up, and the ratio reported
 * is the median of the per-round ratios.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, fromJson, toBinary, toJsonString } from '@bufbuild/protobuf';
import { ValueSchema } from '@bufbuild/protobuf/wkt';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { ClientCredentialService } from '../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { ClientCredential_Class, ClientCredential_Format } from '../gen/latchkey/clients/v1/client_credential_pb.js';
import { FlagAdminService } from '../gen/latchkey/flags/admin/v1/flag_admin_service_pb.js';
import { Condition_Operator, Flag_Kind } from '../gen/latchkey/flags/admin/v1/flag_pb.js';
import { FlagResolverService, ResolveFlagsRequestSchema, ResolveFlagsResponseSchema } from '../gen/latchkey/flags/resolver/v1/resolver_service_pb.js';
import { connectJsonLoad, grpcLoad, type LoadResult } from './load.js';
import { cpuTimeOf, type CpuTime } from './process-cpu.js';

const FLAGS = 200;
const RULES_PER_FLAG = 3;
const FLAGS_PER_REQUEST = Number(process.env.BENCH_FLAGS_PER_REQUEST ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
/** Alternating rounds per comparison, and the length of each round. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const ADMIN = { id: 'bench-admin', secret: 'bench-admin-secret-0123456789' };
const ROOT = join(__dirname, '..');

function start(cmd: string[], env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, cmd, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      for (const line of buffered.split('\n')) {
        const m = /"port":(\d+)/.exec(line);
        if (m) {
          child.stdout!.off('data', onData);
          child.stdout!.resume(); // keep draining logs so the child never blocks on a full pipe
          resolve({ child, port: Number(m[1]) });
          return;
        }
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${cmd.join(' ')} exited with ${code} before listening`)));
  });
}

const serverOf = (s: { child: ChildProcess; port: number }): Server => ({ port: s.port, pid: s.child.pid! });

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

function startLatchkey(dbPath: string, auditValidations: boolean) {
  // BENCH_PROFILE_DIR=<dir> writes a V8 CPU profile of each latchkey process there (open it in Chrome DevTools).
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  return start([...profile, join(ROOT, 'bin/latchkey.js'), 'serve'], {
    LATCHKEY_PORT: '0',
    LATCHKEY_HOST: '127.0.0.1',
    LATCHKEY_DATABASE_URL: dbPath,
    // info, as a deployment runs it; the harness also reads the port from the "listening" info line.
    LATCHKEY_LOG_LEVEL: 'info',
    LATCHKEY_BOOTSTRAP_CLIENT_ID: ADMIN.id,
    LATCHKEY_BOOTSTRAP_CLIENT_SECRET: ADMIN.secret,
    LATCHKEY_AUDIT_VALIDATIONS: String(auditValidations),
  });
}

const v = (json: unknown) => fromJson(ValueSchema, json as never);

/** 200 flags of 3 rules each (production, staging, everywhere) and one SECRET credential for production. */
async function seed(port: number): Promise<string> {
  const transport = createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: '1.1' });
  const auth = { authorization: `Basic ${Buffer.from(`${ADMIN.id}:${ADMIN.secret}`).toString('base64')}` };
  const flagsAdmin = createClient(FlagAdminService, transport);
  for (let i = 0; i < FLAGS; i++) {
    await flagsAdmin.createFlag(
      {
        flagId: `flag-${i}`,
        flag: {
          project: 'projects/default',
          kind: Flag_Kind.STRING,
          variants: [
            { name: 'control', value: v('control') },
            { name: 'treatment', value: v('treatment') },
          ],
          defaultVariant: 'control',
          rules: Array.from({ length: RULES_PER_FLAG }, (_, r) => ({
            name: `rule-${r}`,
            enabled: true,
            environments: [['production'], ['staging'], []][r % 3]!,
            conditions: [{ attribute: 'country', operator: Condition_Operator.IN, values: [v('SE'), v('NO'), v('DK')] }],
            allocations: [
              { variant: 'control', weight: 5000 },
              { variant: 'treatment', weight: 5000 },
            ],
          })),
        },
      },
      { headers: auth },
    );
  }
  const clients = createClient(ClientCredentialService, transport);
  await clients.createClient({ clientId: 'bench' }, { headers: auth });
  const { secret } = await clients.createClientCredential(
    {
      parent: 'clients/bench',
      credentialId: 'backend',
      credential: {
        class: ClientCredential_Class.SECRET,
        format: ClientCredential_Format.CLIENT_SECRET,
        environments: ['production'],
        projects: ['*'],
        scopes: ['flags:read'],
        rateLimit: { requests: 1_000_000_000, window: { seconds: 1n, nanos: 0 } },
      },
    },
    { headers: auth },
  );
  return secret;
}

/** A server under test: where to send load, and which process to read CPU time from. */
interface Server {
  port: number;
  pid: number;
}

/** One round against one server: the client's view, and the CPU the server used meanwhile (undefined off Linux). */
interface Round extends LoadResult {
  cpu: CpuTime | undefined;
}

/** Several rounds together, with the server's CPU time per call. */
interface Measured extends LoadResult {
  cpuUsPerCall: { process: number; mainThread: number } | undefined;
}

interface Comparison {
  /** All rounds of each side together. */
  baseline: Measured;
  subject: Measured;
  /** subject ÷ baseline requests/s of each round, and their median. */
  roundRatios: number[];
  ratio: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Latencies of several rounds together: requests, time and CPU add up; percentiles are weighted by requests. */
function combine(results: Round[]): Measured {
  const requests = results.reduce((n, r) => n + r.requests, 0);
  const cpu = results.every((r) => r.cpu !== undefined)
    ? {
        process: results.reduce((n, r) => n + r.cpu!.processUs, 0) / Math.max(1, requests),
        mainThread: results.reduce((n, r) => n + r.cpu!.mainThreadUs, 0) / Math.max(1, requests),
      }
    : undefined;
  const seconds = results.reduce((n, r) => n + r.seconds, 0);
  const weighted = (pick: (r: LoadResult) => number) => results.reduce((n, r) => n + pick(r) * r.requests, 0) / Math.max(1, requests);
  return {
    requests,
    errors: results.reduce((n, r) => n + r.errors, 0),
    seconds,
    rps: requests / seconds,
    p50ms: weighted((r) => r.p50ms),
    p99ms: weighted((r) => r.p99ms),
    cpuUsPerCall: cpu,
  };
}

type Run = (port: number, seconds: number) => Promise<LoadResult>;

/** One round of load against one server, with the CPU time the server used during it. */
async function round(run: Run, server: Server, seconds: number): Promise<Round> {
  const before = cpuTimeOf(server.pid);
  const result = await run(server.port, seconds);
  const after = cpuTimeOf(server.pid);
  const cpu = before && after ? { processUs: after.processUs - before.processUs, mainThreadUs: after.mainThreadUs - before.mainThreadUs } : undefined;
  return { ...result, cpu };
}

/**
 * Warms both servers up, then measures them in alternating rounds. The order flips every round
 * (baseline first, then subject first), so that neither side always runs right after the other.
 */
async function compare(run: Run, baselineServer: Server, subjectServer: Server): Promise<Comparison> {
  await run(baselineServer.port, WARMUP);
  await run(subjectServer.port, WARMUP);
  const baseline: Round[] = [];
  const subject: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    if (i % 2 === 0) {
      baseline.push(await round(run, baselineServer, SECONDS));
      subject.push(await round(run, subjectServer, SECONDS));
    } else {
      subject.push(await round(run, subjectServer, SECONDS));
      baseline.push(await round(run, baselineServer, SECONDS));
    }
  }
  const roundRatios = subject.map((r, i) => r.rps / baseline[i]!.rps);
  return { baseline: combine(baseline), subject: combine(subject), roundRatios, ratio: median(roundRatios) };
}

const fmt = (r: Measured) =>
  `${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50ms.toFixed(2).padStart(6)} ms  p99 ${r.p99ms.toFixed(2).padStart(6)} ms` +
  (r.cpuUsPerCall ? `  CPU ${r.cpuUsPerCall.process.toFixed(0).padStart(4)} µs/call (serving thread ${r.cpuUsPerCall.mainThread.toFixed(0)})` : '') +
  (r.errors ? `  (${r.errors} errors)` : '');
/** The subject's serving-thread CPU per call minus the baseline's, when both were read. */
const cpuAdded = (c: Comparison) => {
  if (!c.subject.cpuUsPerCall || !c.baseline.cpuUsPerCall) return '';
  const added = c.subject.cpuUsPerCall.mainThread - c.baseline.cpuUsPerCall.mainThread;
  return `\n  serving-thread CPU per call: ${added >= 0 ? '+' : '−'}${Math.abs(added).toFixed(0)} µs`;
};
const rounds = (c: Comparison) => c.roundRatios.map((r) => r.toFixed(2)).join(' ');

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-'));
  const children: ChildProcess[] = [];
  try {
    const lk = await startLatchkey(join(dir, 'bench.db'), true);
    children.push(lk.child);
    const secret = await seed(lk.port);
    const request = create(ResolveFlagsRequestSchema, {
      flags: Array.from({ length: FLAGS_PER_REQUEST }, (_, i) => `flags/flag-${i * Math.floor(FLAGS / FLAGS_PER_REQUEST)}`),
      evaluationContext: { targeting_key: 'user-42', country: 'SE' },
    });
    const resolver = createClient(FlagResolverService, createConnectTransport({ baseUrl: `http://127.0.0.1:${lk.port}`, httpVersion: '1.1' }));
    const sample = await resolver.resolveFlags(request, { headers: { authorization: `Bearer ${secret}` } });
    if (sample.resolvedFlags.length !== FLAGS_PER_REQUEST) throw new Error(`expected ${FLAGS_PER_REQUEST} resolved flags, got ${sample.resolvedFlags.length}`);
    const responseFile = join(dir, 'response.json');
    writeFileSync(responseFile, toJsonString(ResolveFlagsResponseSchema, sample));
    const bare = await start(['--import', 'tsx', join(ROOT, 'bench/bare-server.ts')], { BARE_RESPONSE_FILE: responseFile });
    children.push(bare.child);
    // A copy of the seeded store for the audit comparison (made while no process writes it).
    await stop(lk.child);
    copyFileSync(join(dir, 'bench.db'), join(dir, 'bench-audit-off.db'));
    const on = await startLatchkey(join(dir, 'bench.db'), true);
    children.push(on.child);

    const path = '/latchkey.flags.resolver.v1.FlagResolverService/ResolveFlags';
    const binary = toBinary(ResolveFlagsRequestSchema, request);
    const json = toJsonString(ResolveFlagsRequestSchema, request);
    const meta = { authorization: `Bearer ${secret}` };
    const runs: Record<string, Run> = {
      grpc: (port, seconds) => grpcLoad(port, path, binary, meta, CONCURRENCY, seconds),
      'connect-json/http1.1': (port, seconds) => connectJsonLoad(port, path, json, meta, CONCURRENCY, seconds),
    };

    console.log(
      `latchkey bench: ${FLAGS} flags × ${RULES_PER_FLAG} rules, ${FLAGS_PER_REQUEST} flags per ResolveFlags, concurrency ${CONCURRENCY}, ` +
        `${WARMUP} s warm-up then ${ROUNDS} alternating rounds of ${SECONDS} s per side`,
    );
    const resolve: Record<string, Comparison> = {};
    for (const [protocol, run] of Object.entries(runs)) {
      const c = await compare(run, serverOf(bare), serverOf(on));
      resolve[protocol] = c;
      console.log(
        `\n${protocol}\n  bare Connect handler ${fmt(c.baseline)}\n  latchkey             ${fmt(c.subject)}\n` +
          `  ratio latchkey ÷ bare: ${c.ratio.toFixed(2)} (target ≥ 0.70; rounds ${rounds(c)})${cpuAdded(c)}`,
      );
    }

    // Audit trail on versus off: two latchkey processes started together over equal stores, so
    // both have the same history (a process that has served load for a minute has a grown young
    // generation and finished JIT tiering, and runs faster than a fresh one).
    await stop(on.child);
    const [auditOn, auditOff] = await Promise.all([startLatchkey(join(dir, 'bench.db'), true), startLatchkey(join(dir, 'bench-audit-off.db'), false)]);
    children.push(auditOn.child, auditOff.child);
    const audit = await compare(runs.grpc!, serverOf(auditOff), serverOf(auditOn));
    console.log(
      `\naudit trail (gRPC)\n  audit off ${fmt(audit.baseline)}\n  audit on  ${fmt(audit.subject)}\n` +
        `  ratio on ÷ off: ${audit.ratio.toFixed(2)} (target ≥ 0.90; rounds ${rounds(audit)})${cpuAdded(audit)}`,
    );

    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const out = {
      time: new Date().toISOString(),
      node: process.version,
      config: { flags: FLAGS, rulesPerFlag: RULES_PER_FLAG, flagsPerRequest: FLAGS_PER_REQUEST, concurrency: CONCURRENCY, warmupSeconds: WARMUP, rounds: ROUNDS, secondsPerRound: SECONDS },
      resolve: Object.entries(resolve).map(([protocol, c]) => ({ protocol, baseline: c.baseline, latchkey: c.subject, roundRatios: c.roundRatios, ratio: c.ratio })),
      audit: { off: audit.baseline, on: audit.subject, roundRatios: audit.roundRatios, ratio: audit.ratio },
    };
    writeFileSync(join(ROOT, 'bench/results/latest.json'), `${JSON.stringify(out, null, 2)}\n`);
    console.log('\nwritten to bench/results/latest.json');
  } finally {
    await Promise.all(children.map(stop));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
