import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const BIN = join(__dirname, '../../bin/latchkey.js');

export interface Spawned {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  /** Resolves with the JSON log line whose msg matches, once it appears on stdout. */
  waitForLog(msg: RegExp): Promise<Record<string, unknown>>;
}

const running = new Set<ChildProcess>();
// A test that fails or times out must not leave a server behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Runs the real `latchkey` command, as a user or an orchestrator would. One process serves
 * (LATCHKEY_WORKERS=1) unless `env` says otherwise: most tests are about what a server answers,
 * and a cluster per test would cost the machine a process per CPU each time. The tests under
 * test/e2e/workers/ run several, and npm-start.test.ts the default (one per CPU).
 */
export function spawnLatchkey(args: string[], env: Record<string, string>): Spawned {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LATCHKEY_WORKERS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let out = '';
  let err = '';
  /** Where the first line not yet matched against the waiters starts. */
  let unread = 0;
  const waiters: { msg: RegExp; resolve: (l: Record<string, unknown>) => void }[] = [];
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    const end = out.lastIndexOf('\n') + 1;
    const lines = out.slice(unread, end).split('\n');
    unread = Math.max(unread, end);
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      const parsed = JSON.parse(line) as Record<string, unknown>;
      for (const w of [...waiters]) {
        if (w.msg.test(String(parsed.msg))) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(parsed);
        }
      }
    }
  });
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForLog: (msg) =>
      new Promise((resolve, reject) => {
        for (const line of out.slice(0, unread).split('\n')) {
          if (!line.startsWith('{')) continue;
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (msg.test(String(parsed.msg))) return resolve(parsed);
        }
        waiters.push({ msg, resolve });
        void exited.then((code) => reject(new Error(`latchkey exited (${code}) before logging ${msg}: ${err}`)));
      }),
  };
}
