import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from '../../gen/grpc/health/v1/health_pb.js';
import { messages } from '../support/bootstrap-output.js';
import { spawnLatchkey } from '../support/process.js';

/** `latchkey --help`, exactly (the version comes from package.json). */
const HELP = [
      'latchkey 0.1.0: a self-hosted feature-flag service',
      '',
      'usage: latchkey [command] [flags]',
      '',
      'commands:',
      '  serve                  run the server (the default command)',
      '  migrate                apply the database migrations, create the default project and',
      '                         environments, say what was done, and exit',
      '  admin reset-bootstrap  give apiClients/bootstrap-admin roles/admin and a new secret',
      '                         (creating it if it is missing) and print them once on stderr: the',
      '                         recovery for a lost admin, with access to the database only',
      '  help                   show this help (also -h, --help)',
      '  version                show the version (also --version)',
      '',
      'settings (each flag, as --flag value or --flag=value, overrides its environment variable):',
      '  flag                        environment variable              default',
      '  --port                      LATCHKEY_PORT                     8080',
      '      TCP port for every protocol (gRPC, gRPC-Web, Connect, HTTP); 0 picks a free one',
      '  --host                      LATCHKEY_HOST                     ::',
      '      address to listen on',
      '  --database-url              LATCHKEY_DATABASE_URL             ./data/latchkey.db',
      '      postgres://… for PostgreSQL, otherwise the path of a SQLite file',
      '  --log-level                 LATCHKEY_LOG_LEVEL                info',
      '      fatal, error, warn, info, debug, trace or silent',
      '  --cors-allowed-origins      LATCHKEY_CORS_ALLOWED_ORIGINS     *',
      '      browser origins allowed by CORS, comma-separated; * allows any',
      '  --shutdown-timeout-ms       LATCHKEY_SHUTDOWN_TIMEOUT_MS      10000',
      '      how long SIGTERM waits for in-flight calls, in milliseconds',
      '  --bootstrap-client-id       LATCHKEY_BOOTSTRAP_CLIENT_ID      (none)',
      '      client id of a known admin created on an empty database (with the secret)',
      '  --bootstrap-client-secret   LATCHKEY_BOOTSTRAP_CLIENT_SECRET  (none)',
      '      its secret, at least 16 characters',
      '  --trusted-proxies           LATCHKEY_TRUSTED_PROXIES          (none)',
      '      CIDR ranges of proxies whose X-Forwarded-For is believed, comma-separated',
      '  --default-rate-limit        LATCHKEY_DEFAULT_RATE_LIMIT       6000/1m',
      '      requests per window for credentials without their own limit',
      '  --redis-url                 LATCHKEY_REDIS_URL                (none)',
      '      redis://… to share rate-limit counters between replicas',
      '  --audit-validations         LATCHKEY_AUDIT_VALIDATIONS        true',
      '      whether credential validations are audited (true or false)',
      '  --audit-retention           LATCHKEY_AUDIT_RETENTION          90d',
      '      how long audit records are kept, in hours or days (72h, 90d)',
      '  --first-bytes-timeout-ms    LATCHKEY_FIRST_BYTES_TIMEOUT_MS   10000',
      '      a new connection must send its first bytes within this many ms',
      '  --headers-timeout-ms        LATCHKEY_HEADERS_TIMEOUT_MS       10000',
      '      an HTTP/1.1 request must send its headers within this many ms',
      '  --idle-timeout-ms           LATCHKEY_IDLE_TIMEOUT_MS          65000',
      '      an idle keep-alive connection or HTTP/2 session is closed after this many ms',
      '  --body-timeout-ms           LATCHKEY_BODY_TIMEOUT_MS          30000',
      '      a request body that receives nothing for this many ms is closed',
      '  --max-connections           LATCHKEY_MAX_CONNECTIONS          10000',
      '      open connections accepted at once',
      `  --workers                   LATCHKEY_WORKERS                  ${availableParallelism()}`,
      '      processes serving the port; the default is the number of CPUs; 1 = no cluster',
      '  --credential-cache-size     LATCHKEY_CREDENTIAL_CACHE_SIZE    1000000',
      '      runtime credentials kept in memory per process (about 0.75 KiB each)',
      '',
      'The JSON log goes to stdout; messages for people (errors, an admin secret shown once)',
      'to stderr. Exit codes: 0 done, 1 runtime failure (database unreachable, port taken),',
      '2 bad usage or configuration. SIGTERM or SIGINT drains in-flight calls, then exits 0.',
      'With LATCHKEY_WORKERS above 1, signal the process started (the primary): it stops every',
      'worker and exits once all have.',
].join('\n');

const SHORT_USAGE = 'usage: latchkey [serve | migrate | admin reset-bootstrap | help | version] [flags]\nRun `latchkey --help` for every command and setting.\n';


describe('the latchkey command', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['--help', '-h', 'help', 'serve --help', 'help migrate'])(
    '`latchkey %s` shows every command and setting with its flag, variable and default',
    async (args) => {
      const run = spawnLatchkey(args.split(' '), {});
      expect(await run.exited).toBe(0);
      expect(run.stdout()).toBe(`${HELP}\n`);
      expect(run.stderr()).toBe('');
    },
  );

  it.each([['--version'], ['version']])('`latchkey %s` shows the version from package.json', async (arg) => {
    const run = spawnLatchkey([arg], {});
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toBe('latchkey 0.1.0\n');
    expect(run.stderr()).toBe('');
  });

  it('refuses a port that is not a number, naming the variable, with exit code 2', async () => {
    const run = spawnLatchkey(['serve'], { LATCHKEY_PORT: 'eighty', LATCHKEY_DATABASE_URL: join(dir, 'db.sqlite') });
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toBe(
      'latchkey: invalid configuration:\n  - LATCHKEY_PORT="eighty": must be a whole number between 0 and 65535\n',
    );
  });

  it('names the flag when the bad value came from a flag, and reports every bad value at once', async () => {
    const run = spawnLatchkey(['serve', '--port', '70000', '--log-level', 'loud'], { LATCHKEY_DATABASE_URL: join(dir, 'db.sqlite') });
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toContain('  - --port="70000": must be a whole number between 0 and 65535\n');
    expect(run.stderr()).toContain('  - --log-level="loud": Invalid enum value.');
  });

  it('refuses an unknown flag, an unknown command and a bare `admin` with a short usage', async () => {
    const flag = spawnLatchkey(['serve', '--prot', '1'], {});
    expect(await flag.exited).toBe(2);
    expect(flag.stderr()).toBe(`latchkey: Unknown option '--prot'\n${SHORT_USAGE}`);
    const cmd = spawnLatchkey(['frobnicate'], {});
    expect(await cmd.exited).toBe(2);
    expect(cmd.stderr()).toBe(`latchkey: unknown command "frobnicate"\n${SHORT_USAGE}`);
    const admin = spawnLatchkey(['admin'], {});
    expect(await admin.exited).toBe(2);
    expect(admin.stderr()).toBe(`latchkey: the admin command needs a subcommand: reset-bootstrap\n${SHORT_USAGE}`);
    const sub = spawnLatchkey(['admin', 'reset-everything'], {});
    expect(await sub.exited).toBe(2);
    expect(sub.stderr()).toBe(`latchkey: unknown command "admin reset-everything"\n${SHORT_USAGE}`);
    expect(flag.stdout() + cmd.stdout() + admin.stdout() + sub.stdout()).toBe('');
  });

  it('fails the start with exit code 1 when PostgreSQL is unreachable, without printing the password', async () => {
    const run = spawnLatchkey(['serve'], { LATCHKEY_PORT: '0', LATCHKEY_DATABASE_URL: 'postgres://latchkey:hunter2hunter2@127.0.0.1:1/latchkey' });
    expect(await run.exited).toBe(1);
    expect(run.stderr()).toMatch(/^latchkey: cannot connect to PostgreSQL at 127\.0\.0\.1:1\/latchkey: .*ECONNREFUSED/);
    expect(run.stderr() + run.stdout()).not.toContain('hunter2');
  });

  it('refuses a database URL of another kind', async () => {
    const run = spawnLatchkey(['serve'], { LATCHKEY_DATABASE_URL: 'mysql://root@127.0.0.1/x' });
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toContain('LATCHKEY_DATABASE_URL="mysql://root@127.0.0.1/x": must be a postgres:// URL or a SQLite file path');
  });

  it('refuses a SQLite path whose directory does not exist, instead of creating it', async () => {
    const path = join(dir, 'no-such-dir', 'db.sqlite');
    const run = spawnLatchkey(['migrate'], { LATCHKEY_DATABASE_URL: path });
    expect(await run.exited).toBe(1);
    expect(run.stderr()).toBe(
      `latchkey: cannot open SQLite database at ${path}: the directory ${join(dir, 'no-such-dir')} does not exist (create it, or correct LATCHKEY_DATABASE_URL)\n`,
    );
    expect(existsSync(join(dir, 'no-such-dir'))).toBe(false);
  });

  it('migrates a new SQLite file, saying what it applied and created, then finds it up to date', async () => {
    const path = join(dir, 'db.sqlite');
    const first = spawnLatchkey(['migrate'], { LATCHKEY_DATABASE_URL: path });
    expect(await first.exited).toBe(0);
    expect(first.stderr()).toBe(
      [
        `latchkey: migrated the SQLite database ${path}`,
        '  applied migrations:   0001-initial, 0002-integrity, 0003-audit-aggregation',
        '  created tables:       access_tokens, api_clients, audit_count_writers, audit_events, audit_validation_counts, change_log, client_credentials, clients, credential_secrets, credential_sightings, environments, flag_applies, flags, projects, sdk_events, server_keys',
        '  created projects:     projects/default',
        '  created environments: environments/development, environments/staging, environments/production',
        '',
      ].join('\n'),
    );
    const logged = first
      .stdout()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged.map(({ msg, migrations, projects, environments }) => ({ msg, migrations, projects, environments }))).toEqual([
      { msg: 'applied migrations', migrations: ['0001-initial', '0002-integrity', '0003-audit-aggregation'], projects: undefined, environments: undefined },
      { msg: 'created default project and environments', migrations: undefined, projects: ['default'], environments: ['development', 'staging', 'production'] },
    ]);

    const second = spawnLatchkey(['migrate', '--database-url', path], {});
    expect(await second.exited).toBe(0);
    expect(second.stderr()).toBe(`latchkey: the SQLite database ${path} is up to date; nothing to apply or create\n`);
    expect(second.stdout()).toContain('"migrations":[],"tables":[],"msg":"database is up to date"');
  });

  it('on SIGTERM stops accepting, lets an in-flight call finish, survives a second signal, and exits 0', async () => {
    const run = spawnLatchkey(['serve'], { LATCHKEY_PORT: '0', LATCHKEY_HOST: '127.0.0.1', LATCHKEY_DATABASE_URL: join(dir, 'db.sqlite') });
    const listening = await run.waitForLog(/is listening/);
    const port = listening.port as number;

    // An HTTP/1.1 Connect call whose body is still arriving when SIGTERM lands.
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, method: 'POST', path: '/grpc.health.v1.Health/Check', headers: { 'content-type': 'application/json' } },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.write('{"serv');
      setTimeout(() => {
        run.child.kill('SIGTERM');
        // The same signal again while draining (npm start forwards a terminal's SIGINT that the
        // whole process group already got) must not kill the server.
        setTimeout(() => run.child.kill('SIGTERM'), 100);
        setTimeout(() => req.end('ice":""}'), 300);
      }, 200);
    });

    await expect(response).resolves.toEqual({ status: 200, body: '{"status":"NOT_SERVING"}' });
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toContain('"signal":"SIGTERM","msg":"shutting down: draining in-flight calls"');
    expect(messages(run.stdout()).slice(-3)).toEqual(['shutting down: draining in-flight calls', 'already shutting down', 'latchkey stopped']);
  });

  it('ends an open Health Watch stream with NOT_SERVING on SIGTERM instead of holding the shutdown', async () => {
    // A Watch that held the drain would last until the drain's timeout destroys its connection:
    // the stream would fail instead of ending OK, after the halfway mark below.
    const run = spawnLatchkey(['serve'], {
      LATCHKEY_PORT: '0',
      LATCHKEY_HOST: '127.0.0.1',
      LATCHKEY_DATABASE_URL: join(dir, 'db.sqlite'),
      LATCHKEY_SHUTDOWN_TIMEOUT_MS: '20000',
    });
    const port = (await run.waitForLog(/is listening/)).port as number;
    const events: string[] = [];
    let halfway: NodeJS.Timeout | undefined;
    const exited = run.exited.then((code) => {
      clearTimeout(halfway);
      events.push(`process exited ${code}`);
    });
    const health = createClient(Health, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
    const watched = (async () => {
      try {
        for await (const res of health.watch({ service: '' })) {
          events.push(`watch: ${ServingStatus[res.status]}`);
          if (res.status === ServingStatus.SERVING) {
            events.push('SIGTERM');
            run.child.kill('SIGTERM');
            halfway = setTimeout(() => events.push('half the shutdown timeout passed'), 10_000);
          }
        }
        events.push('watch ended OK');
      } catch (err) {
        events.push(`watch failed: ${String(err)}`);
      }
    })();
    await watched;
    await exited;
    expect(events).toEqual(['watch: SERVING', 'SIGTERM', 'watch: NOT_SERVING', 'watch ended OK', 'process exited 0']);
    expect(messages(run.stdout()).slice(-2)).toEqual(['shutting down: draining in-flight calls', 'latchkey stopped']);
  });
});
