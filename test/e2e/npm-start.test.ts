/**
 * `npm start`, as a process manager runs it: SIGTERM to the npm process must reach the server,
 * which drains and stops, and npm must exit with it, leaving nothing behind on the port.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');

/** The pids of `pid`'s children with their command names (procps `ps`). */
function childrenOf(pid: number): { pid: number; command: string }[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(pid)], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when there are none
  }
  return out
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [p, command] = l.trim().split(/\s+/);
      return { pid: Number(p), command: command! };
    });
}

/** Every process still in process group `pgid`. */
function groupMembers(pgid: number): number[] {
  try {
    return execFileSync('pgrep', ['-g', String(pgid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
}

/** The members of the process group once it has emptied, or those left after `boundMs`. */
async function groupEmptied(pgid: number, boundMs = 5_000): Promise<number[]> {
  const deadline = Date.now() + boundMs;
  let members = groupMembers(pgid);
  while (members.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    members = groupMembers(pgid);
  }
  return members;
}

function connectable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('npm start', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-npm-start-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stops the server on SIGTERM to npm: drained, exited, nothing left listening', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, LATCHKEY_PORT: '0', LATCHKEY_HOST: '127.0.0.1', LATCHKEY_DATABASE_URL: join(dir, 'latchkey.db') };
    for (const name of Object.keys(env)) if (name.startsWith('npm_')) delete env[name]; // not run from inside another npm script
    // A process group of its own, so the test can see (and at worst kill) whatever npm started.
    const npm = spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let err = '';
    npm.stdout.on('data', (c: Buffer) => (out += c.toString()));
    npm.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => npm.once('exit', (code, signal) => resolve({ code, signal })));
    // Every process holding npm's stdout has exited once it closes.
    const stdoutClosed = new Promise<void>((resolve) => npm.stdout.once('close', () => resolve()));
    let server: { pid: number; command: string }[] = [];
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const poll = setInterval(() => {
          const line = out.split('\n').find((l) => l.includes('"msg":"latchkey is listening'));
          if (line) {
            clearInterval(poll);
            resolve((JSON.parse(line) as { port: number }).port);
          }
        }, 50);
        void exited.then(() => {
          clearInterval(poll);
          reject(new Error(`npm start exited before listening: ${err}`));
        });
      });
      server = childrenOf(npm.pid!);

      npm.kill('SIGTERM');
      expect(await exited).toEqual({ code: 0, signal: null });
      // npm waited for the server: nothing it started is left, and nobody listens on the port.
      // (On a loaded machine one process of the group was once still there right after npm's exit,
      // and gone a moment later: the group gets that moment, never more than a few seconds.)
      expect(await groupEmptied(npm.pid!)).toEqual([]);
      expect(await connectable(port)).toBe(false);
      await stdoutClosed;
      // `exec` in the script: the server was npm's own child, with no shell in between to lose the signal.
      expect(server.map((c) => c.command)).toEqual(['node']);
      expect(out.split('\n').slice(0, 3)).toEqual(['', '> latchkey@0.1.0 start', '> exec node bin/latchkey.js serve']);
      // The default LATCHKEY_WORKERS: a worker process per CPU, each started and drained once;
      // the primary (the lines without `worker`) prepared the store and created the admin once.
      const lines = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string; worker?: number });
      expect(lines.filter((l) => l.worker === undefined).map((l) => l.msg)).toEqual([
        'applied migrations',
        'created default project and environments',
        'created the bootstrap admin API client',
        'latchkey is listening (gRPC, gRPC-Web, Connect; HTTP/2 and HTTP/1.1)',
        'shutting down: draining in-flight calls',
        'latchkey stopped',
      ]);
      const cpus = availableParallelism();
      const byWorker = new Map<number, string[]>();
      for (const { worker, msg } of lines) if (worker !== undefined) byWorker.set(worker, [...(byWorker.get(worker) ?? []), msg]);
      expect([...byWorker.values()]).toEqual(
        Array.from({ length: cpus > 1 ? cpus : 0 }, () => ['worker started', 'shutting down: draining in-flight calls', 'worker stopped']),
      );
      expect(JSON.parse(out.split('\n').find((l) => l.includes('"msg":"latchkey is listening'))!)).toMatchObject(cpus > 1 ? { workers: cpus } : {});
      expect(out).toContain('"signal":"SIGTERM","msg":"shutting down: draining in-flight calls"');
    } finally {
      // Whatever failed above, leave no server behind.
      if (groupMembers(npm.pid!).length > 0) process.kill(-npm.pid!, 'SIGKILL');
    }
  });
});
