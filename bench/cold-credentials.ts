/**
 * Cold credentials in isolation (issue #14, item 3): the runtime credential check of a secret that
 * is not cached yet, against one that is, on a real SQLite store of 100 000 or 1 000 000
 * credentials, through the real CredentialValidator, CredentialCache and KyselyCredentialStore.
 *
 *   npx tsx --expose-gc bench/cold-credentials.ts [count=100000] [rounds=3]
 *   npx tsx bench/cold-credentials.ts seed <sqlite-path> <count> <secrets-file>
 *   npx tsx bench/cold-credentials.ts serve <sqlite-path> <port>
 *
 * Each round validates every credential once, each a cache miss (`cold`: the cache is emptied
 * first), then the same secrets again (`warm`: every one cached, but a different entry each
 * time), then one secret as many times (`cached`); rounds alternate, and the report gives each
 * mode's validations per second of CPU (process.cpuUsage: the machine is shared, wall time is
 * noisy) and the ratio of cold to cached per round, with their median. The audit trail is off: its
 * cost per validation is the same whichever credential is used, and it is measured elsewhere.
 *
 * `seed` only fills a SQLite file (migrated) with `count` credentials and writes their secrets,
 * one a line, for a server-level run; `serve` runs the real server on that file and prints the
 * event loop's delay (perf_hooks.monitorEventLoopDelay) every 5 s and when it stops (SIGINT or
 * SIGTERM), with the times of any stall over 100 ms, while wrk sends each request with the next
 * secret (bench/rotating-credentials.lua).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startApp } from '../src/app.js';
import { parseConfig } from '../src/config/config.js';
import { join } from 'node:path';
import { AuditLog } from '../src/audit/audit-log.js';
import { CredentialCache } from '../src/client-credentials/credential-cache.js';
import { LastUseTracker } from '../src/client-credentials/last-use.js';
import { CredentialValidator, type PresentedRequest } from '../src/client-credentials/validator.js';
import { parseIpRanges } from '../src/credentials/allow-lists.js';
import { digestSecret, issueSecret } from '../src/credentials/index.js';
import { createLogger } from '../src/logging/logger.js';
import { RateLimits } from '../src/rate-limit/rate-limits.js';
import { KyselyCredentialStore } from '../src/store/credential-store.js';
import { openDatabase, type OpenDatabase } from '../src/store/database.js';
import { migrateToLatest } from '../src/store/migrate.js';
import { seedDefaults } from '../src/store/seed.js';
import { toDbTime } from '../src/store/time.js';

const CLIENT = 'bench';

/** `count` CLIENT_SECRET credentials of one client, inserted with prepared statements in one transaction. */
export async function seedCredentials(database: OpenDatabase, count: number): Promise<string[]> {
  if (database.native.dialect !== 'sqlite') throw new Error('seeding writes SQLite directly');
  const sqlite = database.native.sqlite;
  const now = toDbTime(new Date());
  const secrets: string[] = [];
  const insertClient = sqlite.prepare(
    `insert into clients (id, display_name, description, labels, create_time, update_time, creator, updater, etag)
     values (?, 'bench', '', '{}', ?, ?, null, null, 'e0')`,
  );
  const insertCredential = sqlite.prepare(
    `insert into client_credentials (client_id, id, display_name, class, format, public_id, environments, projects, scopes,
       allowed_origins, allowed_ip_ranges, rate_limit_requests, rate_limit_window_ms, expire_time, state, revoke_time,
       last_use_time, secret_hint, create_time, update_time, creator, updater, etag)
     values (?, ?, '', 'SECRET', 'CLIENT_SECRET', null, '["production"]', '["*"]', '["flags:read"]', '[]', '[]',
       1000000000, 1000, null, 'ACTIVE', null, null, ?, ?, ?, null, null, 'e0')`,
  );
  const insertSecret = sqlite.prepare(
    `insert into credential_secrets (digest, client_id, credential_id, expire_time, create_time) values (?, ?, ?, null, ?)`,
  );
  sqlite.transaction(() => {
    insertClient.run(CLIENT, now, now);
    for (let i = 0; i < count; i++) {
      const { secret, hint } = issueSecret('CLIENT_SECRET', { environments: ['production'], projects: ['*'], live: true });
      const id = `c${i}`;
      insertCredential.run(CLIENT, id, hint, now, now);
      insertSecret.run(digestSecret(secret), CLIENT, id, now);
      secrets.push(secret);
    }
  })();
  return secrets;
}

async function openSeeded(path: string, count: number) {
  const database = await openDatabase({ url: path });
  await migrateToLatest(database.db);
  await seedDefaults(database.db, new Date());
  const started = process.hrtime.bigint();
  const secrets = await seedCredentials(database, count);
  const seedSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { database, secrets, seedSeconds };
}

const request = (secret: string): PresentedRequest => ({
  authorization: `Bearer ${secret}`,
  clientIdHeader: undefined,
  clientSecretHeader: undefined,
  publishableKeyQuery: undefined,
  bodySecret: undefined,
  peerAddress: '127.0.0.1',
  forwardedFor: undefined,
  origin: undefined,
  userAgent: 'bench',
  method: '/latchkey.flags.resolver.v1.FlagResolverService/ResolveFlags',
  requestId: '',
  requirement: { scope: 'flags:read', secretOnly: false },
});

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** Validations per CPU second, and µs of CPU per validation, over `secrets` in order. */
async function measure(validator: CredentialValidator, secrets: readonly string[]) {
  const cpu0 = cpuUs();
  const t0 = process.hrtime.bigint();
  for (const s of secrets) await validator.validate(request(s));
  const cpu = cpuUs() - cpu0;
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  return { perCpuSecond: Math.round(secrets.length / (cpu / 1e6)), cpuUsPerCall: +(cpu / secrets.length).toFixed(2), perWallSecond: Math.round(secrets.length / wallS) };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * Writes the last-use times the round gathered (one per credential validated) and reports the
 * longest the event loop went without running a timer meanwhile: what a request arriving during
 * the flush would have waited.
 */
async function measureFlush(lastUse: LastUseTracker) {
  // In wall time, and in CPU time: on a shared machine the process may wait for a core, which
  // wall time counts as a block and CPU time does not.
  let longest = 0;
  let longestCpu = 0;
  let last = performance.now();
  let lastCpu = cpuUs();
  const watch = setInterval(() => {
    const now = performance.now();
    const nowCpu = cpuUs();
    longest = Math.max(longest, now - last);
    longestCpu = Math.max(longestCpu, (nowCpu - lastCpu) / 1000);
    last = now;
    lastCpu = nowCpu;
  }, 1);
  const cpu0 = cpuUs();
  const t0 = performance.now();
  await lastUse.flush();
  const wallMs = performance.now() - t0;
  const cpuMs = (cpuUs() - cpu0) / 1000;
  clearInterval(watch);
  longest = Math.max(longest, performance.now() - last);
  longestCpu = Math.max(longestCpu, (cpuUs() - lastCpu) / 1000);
  return { wallMs: Math.round(wallMs), cpuMs: Math.round(cpuMs), longestBlockMs: { wall: Math.round(longest), cpu: +longestCpu.toFixed(1) } };
}

const gc = () => (globalThis as { gc?: () => void }).gc?.();

async function isolated(count: number, rounds: number) {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-cold-'));
  const logger = createLogger('silent');
  try {
    const { database, secrets, seedSeconds } = await openSeeded(join(dir, 'latchkey.db'), count);
    const store = new KyselyCredentialStore(database.db, database.native);
    const rateLimits = RateLimits.create({ redisUrl: undefined, logger });
    const lastUse = new LastUseTracker(store);
    // The audit trail is off (auditValidations: false): this writer is never called.
    const audit = new AuditLog({} as ConstructorParameters<typeof AuditLog>[0], logger);
    let cache = new CredentialCache(store, count);
    const validatorOf = (c: CredentialCache) =>
      new CredentialValidator({ cache: c, trustedProxies: noProxies, audit, lastUse, limits: rateLimits, defaultLimit: { requests: 1e9, windowMs: 1000 }, now: () => new Date(), auditValidations: false });
    const proxies = parseIpRanges([]);
    if (!proxies.ok) throw new Error('an empty range list parses');
    const noProxies = proxies.ranges;
    const one = Array<string>(count).fill(secrets[0]!);

    // Memory of a full cache: heap before and after loading every credential once.
    gc();
    const heap0 = process.memoryUsage().heapUsed;
    await measure(validatorOf(cache), secrets);
    gc();
    const bytesPerEntry = Math.round((process.memoryUsage().heapUsed - heap0) / count);

    type Measured = Awaited<ReturnType<typeof measure>>;
    const results = { cold: [] as Measured[], warm: [] as Measured[], cached: [] as Measured[] };
    const flushes: Awaited<ReturnType<typeof measureFlush>>[] = [];
    const ratios: number[] = [];
    const warmRatios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      cache = new CredentialCache(store, count);
      const validator = validatorOf(cache);
      gc();
      const cold = await measure(validator, secrets);
      const warm = await measure(validator, secrets);
      const cached = await measure(validator, one);
      results.cold.push(cold);
      results.warm.push(warm);
      results.cached.push(cached);
      ratios.push(cold.perCpuSecond / cached.perCpuSecond);
      warmRatios.push(warm.perCpuSecond / cached.perCpuSecond);
      flushes.push(await measureFlush(lastUse));
    }
    console.log(
      JSON.stringify(
        {
          credentials: count,
          seedSeconds: +seedSeconds.toFixed(1),
          cacheBytesPerEntry: bytesPerEntry,
          rounds: results,
          coldOverCached: { perRound: ratios.map((x) => +x.toFixed(3)), median: +median(ratios).toFixed(3) },
          lastUseFlush: flushes,
          warmOverCached: { perRound: warmRatios.map((x) => +x.toFixed(3)), median: +median(warmRatios).toFixed(3) },
        },
        null,
        2,
      ),
    );
    await rateLimits.close();
    await database.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The real server on a seeded file, reporting its event loop's delay while load runs elsewhere. */
async function serve(path: string, port: number) {
  const app = await startApp(parseConfig({ port: String(port), host: '127.0.0.1', databaseUrl: path, logLevel: 'warn' }));
  const ms = (ns: number) => +(ns / 1e6).toFixed(1);
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  const whole = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  whole.enable();
  // Stalls with their times, to line them up with the background jobs' periods.
  const stalls: string[] = [];
  let last = performance.now();
  const watch = setInterval(() => {
    const now = performance.now();
    if (now - last > 110) stalls.push(`${new Date().toISOString().slice(11, 23)} ${(now - last - 10).toFixed(0)} ms`);
    last = now;
  }, 10);
  const describe = (h: typeof histogram) => ({ p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), p999: ms(h.percentile(99.9)), max: ms(h.max) });
  const report = setInterval(() => {
    console.log(JSON.stringify({ at: new Date().toISOString().slice(11, 19), eventLoopDelayMs: describe(histogram), stalls: stalls.splice(0) }));
    histogram.reset();
  }, 5_000);
  console.log(`serving ${path} on port ${app.port}`);
  const stop = async () => {
    clearInterval(report);
    clearInterval(watch);
    console.log(JSON.stringify({ whole: describe(whole), stalls }));
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

async function main() {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === 'serve') {
    const [path, port] = rest;
    if (!path) throw new Error('usage: cold-credentials.ts serve <sqlite-path> [port]');
    await serve(path, Number(port ?? 8080));
    return;
  }
  if (mode === 'seed') {
    const [path, count, secretsFile] = rest;
    if (!path || !count || !secretsFile) throw new Error('usage: cold-credentials.ts seed <sqlite-path> <count> <secrets-file>');
    const { database, secrets, seedSeconds } = await openSeeded(path, Number(count));
    writeFileSync(secretsFile, secrets.join('\n') + '\n');
    await database.close();
    console.log(`seeded ${secrets.length} credentials in ${seedSeconds.toFixed(1)} s`);
    return;
  }
  await isolated(Number(mode ?? 100_000), Number(rest[0] ?? 3));
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
