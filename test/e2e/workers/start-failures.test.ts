/**
 * SPEC §8: a start that fails leaves no admin whose secret nobody saw, with workers too. The
 * primary creates the bootstrap admin only once every worker listens; a worker that cannot start
 * makes the primary exit 1 with that worker's message, shown once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { spawnLatchkey } from '../../support/process.js';
import { parseLines } from './cluster.js';

jest.setTimeout(120_000);

describe('a cluster that cannot start', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-workers-start-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 1 with the message of the workers that cannot listen, once, and creates no admin', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    const path = join(dir, 'latchkey.db');
    try {
      const run = spawnLatchkey(['serve'], { LATCHKEY_PORT: String(port), LATCHKEY_HOST: '127.0.0.1', LATCHKEY_DATABASE_URL: path, LATCHKEY_WORKERS: '2' });
      expect(await run.exited).toBe(1);
      expect(run.stderr()).toBe(`latchkey: cannot listen on 127.0.0.1:${port}: bind EADDRINUSE 127.0.0.1:${port}\n`);
      const lines = parseLines(run.stdout());
      expect(lines.filter((l) => l.worker === undefined).map((l) => l.msg)).toEqual([
        'applied migrations',
        'created default project and environments',
        'cannot start',
      ]);
      expect(lines.some((l) => l.msg === 'latchkey is listening (gRPC, gRPC-Web, Connect; HTTP/2 and HTTP/1.1)')).toBe(false);
      // The store was prepared, and holds no API client: the next start creates the admin and shows it.
      const db = new Database(path, { readonly: true });
      try {
        expect(db.prepare('select count(*) as n from api_clients').get()).toEqual({ n: 0 });
      } finally {
        db.close();
      }
    } finally {
      taken.close();
    }
  });

  it('exits 1 when PostgreSQL is unreachable, before forking any worker, without printing the password', async () => {
    const run = spawnLatchkey(['serve'], {
      LATCHKEY_PORT: '0',
      LATCHKEY_WORKERS: '2',
      LATCHKEY_DATABASE_URL: 'postgres://latchkey:hunter2hunter2@127.0.0.1:1/latchkey',
    });
    expect(await run.exited).toBe(1);
    expect(run.stderr()).toMatch(/^latchkey: cannot connect to PostgreSQL at 127\.0\.0\.1:1\/latchkey: .*ECONNREFUSED[^\n]*\n$/);
    expect(run.stderr() + run.stdout()).not.toContain('hunter2');
    expect(parseLines(run.stdout()).filter((l) => l.worker !== undefined)).toEqual([]);
  });

  it('refuses a LATCHKEY_WORKERS that is not a positive whole number, with exit code 2', async () => {
    const run = spawnLatchkey(['serve'], { LATCHKEY_WORKERS: '0', LATCHKEY_DATABASE_URL: join(dir, 'latchkey.db') });
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toBe('latchkey: invalid configuration:\n  - LATCHKEY_WORKERS="0": must be a whole number between 1 and 1024\n');
  });
});
