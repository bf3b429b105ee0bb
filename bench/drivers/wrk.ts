import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HttpCall, LoadResult } from '../load-result.js';

const SCRIPT = join(__dirname, 'wrk-post.lua');
const files = mkdtempSync(join(tmpdir(), 'latchkey-bench-wrk-'));
let written = 0;

export interface WrkOptions {
  connections: number;
  threads: number;
  seconds: number;
}

/** HTTP/1.1 keep-alive load with wrk (closed loop: every connection sends its next request when the last one answered). */
export async function wrkLoad(call: HttpCall, o: WrkOptions): Promise<LoadResult> {
  const id = written++;
  const body = join(files, `body-${id}`);
  const headers = join(files, `headers-${id}`);
  writeFileSync(body, call.body);
  writeFileSync(headers, Object.entries({ 'Content-Type': 'application/json', ...call.headers }).map(([k, v]) => `${k}: ${v}\n`).join(''));
  const threads = Math.max(1, Math.min(o.threads, o.connections));
  const rotate = call.rotate ? [call.rotate.file, String(call.rotate.offset), String(threads)] : [];
  const args = [
    `-t${threads}`,
    `-c${o.connections}`,
    // wrk takes whole seconds; a resolve of 10 000 flags may take seconds under load, so no timeouts.
    `-d${Math.max(1, Math.round(o.seconds))}s`,
    '--timeout',
    '60s',
    '-s',
    SCRIPT,
    `http://127.0.0.1:${call.port}${call.path}`,
    '--',
    body,
    headers,
    ...rotate,
  ];
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile('wrk', args, { maxBuffer: 1 << 20 }, (err, out, errOut) => (err ? reject(new Error(`wrk failed: ${err.message}\n${errOut}`)) : resolve(out))),
  );
  const line = stdout.split('\n').find((l) => l.startsWith('{"requests"'));
  if (!line) throw new Error(`wrk printed no result line:\n${stdout}`);
  const r = JSON.parse(line) as Record<string, number>;
  const seconds = r.duration_us! / 1e6;
  const errors = r.connect! + r.read! + r.write! + r.status! + r.timeout!;
  // wrk counts non-2xx answers among its requests; only the good ones count as served.
  const good = Math.max(0, r.requests! - r.status!);
  return { requests: good, errors, seconds, rps: good / seconds, p50ms: r.p50_us! / 1000, p99ms: r.p99_us! / 1000, p999ms: r.p999_us! / 1000, tool: 'wrk' };
}
