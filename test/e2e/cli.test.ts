import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnLatchkey } from '../support/process.js';

describe('the latchkey command', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

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

  it('refuses an unknown flag and an unknown command with usage', async () => {
    const flag = spawnLatchkey(['serve', '--prot', '1'], {});
    expect(await flag.exited).toBe(2);
    expect(flag.stderr()).toContain("latchkey: Unknown option '--prot'");
    const cmd = spawnLatchkey(['frobnicate'], {});
    expect(await cmd.exited).toBe(2);
    expect(cmd.stderr()).toContain('latchkey: unknown command "frobnicate"');
    expect(cmd.stderr()).toContain('usage: latchkey <command> [flags]');
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

  it('migrates a new SQLite file, then finds it up to date', async () => {
    const env = { LATCHKEY_DATABASE_URL: join(dir, 'nested', 'db.sqlite') };
    const first = spawnLatchkey(['migrate'], env);
    expect(await first.exited).toBe(0);
    expect(first.stdout()).toContain('"migrations":["0001-initial","0002-integrity"],"msg":"applied migrations"');
    const second = spawnLatchkey(['migrate'], env);
    expect(await second.exited).toBe(0);
    expect(second.stdout()).toContain('"migrations":[],"msg":"database is up to date"');
  });

  it('on SIGTERM stops accepting, lets an in-flight call finish, and exits 0', async () => {
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
        setTimeout(() => req.end('ice":""}'), 300);
      }, 200);
    });

    await expect(response).resolves.toEqual({ status: 200, body: '{"status":"NOT_SERVING"}' });
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toContain('"signal":"SIGTERM","msg":"shutting down: draining in-flight calls"');
    expect(run.stdout()).toContain('"msg":"latchkey stopped"');
  });
});
