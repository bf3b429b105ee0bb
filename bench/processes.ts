import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..');

/** A server under test: where to send load, and which process tree to read CPU time from. */
export interface Server {
  name: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** Everything it wrote to stderr and the last lines of stdout, for an error message when it fails. */
  output: () => string;
}

const running = new Set<ChildProcess>();

/**
 * Starts a Node process and resolves once it prints a line that matches `ready` and holds
 * `"port":<n>` (latchkey's "listening" log line, the baselines' `{"port":…}`). Its output keeps being drained, so it never
 * blocks on a full pipe, and the last few kilobytes are kept for error messages.
 */
export function startProcess(name: string, args: string[], env: Record<string, string>, ready = /./, timeoutMs = 120_000): Promise<Server> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-8000);
  };
  child.stderr!.on('data', keep);
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => {
      reject(new Error(`${name} did not listen within ${timeoutMs / 1000} s:\n${tail}`));
      child.kill('SIGKILL');
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      keep(chunk);
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      const m = lines.filter((l) => ready.test(l)).map((l) => /"port":(\d+)/.exec(l)).find(Boolean);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stdout!.on('data', keep);
        child.off('exit', onExit);
        resolve({ name, port: Number(m[1]), pid: child.pid!, child, output: () => tail });
      }
    };
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before listening:\n${tail}`));
    };
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stopProcess(server: Server | undefined, graceMs = 15_000): Promise<void> {
  if (!server) return;
  const child = server.child;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Stops every process this run started and has not stopped yet (on the way out, also after an error). */
export async function stopAll(): Promise<void> {
  await Promise.all(
    [...running].map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }),
  );
}
