import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GrpcCall, LoadResult } from '../load-result.js';
import { latencyPercentiles } from '../stats.js';

const files = mkdtempSync(join(tmpdir(), 'latchkey-bench-h2load-'));
let written = 0;

export interface H2loadOptions {
  /** HTTP/2 connections (`-c`). */
  clients: number;
  /** Concurrent streams per connection (`-m`). */
  streams: number;
  seconds: number;
}

/** A gRPC message with its 5-byte length prefix (uncompressed). */
export function grpcFrame(message: Uint8Array): Buffer {
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

/**
 * gRPC unary calls with h2load. h2load counts any HTTP 200 as a success, whatever the grpc-status
 * trailer says, so the caller checks one call with a real gRPC client first (run.ts does).
 * Latencies come from h2load's per-request log.
 */
export async function h2loadLoad(call: GrpcCall, o: H2loadOptions): Promise<LoadResult> {
  const id = written++;
  const body = join(files, `body-${id}.bin`);
  const log = join(files, `log-${id}.tsv`);
  writeFileSync(body, grpcFrame(call.message));
  const headers = Object.entries({ 'content-type': 'application/grpc', te: 'trailers', ...call.metadata }).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const args = ['-t1', `-c${o.clients}`, `-m${o.streams}`, `-D${Math.max(1, Math.round(o.seconds))}`, '-d', body, ...headers, `--log-file=${log}`, `http://127.0.0.1:${call.port}${call.path}`];
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile('h2load', args, { maxBuffer: 1 << 20 }, (err, out, errOut) => (err ? reject(new Error(`h2load failed: ${err.message}\n${out}${errOut}`)) : resolve(out))),
  );
  const finished = /finished in ([\d.]+)(m?s)/.exec(stdout);
  const counts = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(stdout);
  if (!finished || !counts) throw new Error(`could not read h2load's output:\n${stdout}`);
  const seconds = Number(finished[1]) / (finished[2] === 'ms' ? 1000 : 1);
  const succeeded = Number(counts[4]);
  const latencies: number[] = [];
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const cols = line.split('\t');
    if (cols.length >= 3 && cols[1] === '200') latencies.push(Number(cols[2]) / 1000);
  }
  rmSync(log, { force: true });
  return { requests: succeeded, errors: Number(counts[5]) + Number(counts[6]) + Number(counts[7]), seconds, rps: succeeded / seconds, ...latencyPercentiles(latencies), tool: 'h2load' };
}
