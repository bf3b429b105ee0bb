import { spawnSync } from 'node:child_process';
import { config } from '../config.js';
import { nodeGrpcLoad, nodeHttpLoad } from '../load.js';
import type { Call, LoadResult } from '../load-result.js';
import { h2loadLoad } from './h2load.js';
import { wrkLoad } from './wrk.js';

const installed = (cmd: string, arg: string) => spawnSync(cmd, [arg], { stdio: 'ignore' }).error === undefined;

/** Which tools drive the load in this run: wrk and h2load when installed, the Node drivers otherwise. */
export const tools = {
  http: !config.nodeDrivers && installed('wrk', '-v') ? 'wrk' : 'node',
  grpc: !config.nodeDrivers && installed('h2load', '--version') ? 'h2load' : 'node',
} as const;

/** Says once what is missing and how to get it. */
export function describeTools(): string {
  const lines = [`load: HTTP/1.1 with ${tools.http}, gRPC with ${tools.grpc}`];
  if (tools.http === 'node' || tools.grpc === 'node') {
    lines.push(
      '  (wrk and h2load are faster and keep the load generator off the servers\' CPU; install them with' +
        ' `apt-get install wrk nghttp2-client`. The Node drivers read lower ceilings.)',
    );
  }
  return lines.join('\n');
}

/** One closed-loop run of `seconds` at the configured concurrency. */
export function load(call: Call, seconds: number, concurrency = config.concurrency): Promise<LoadResult> {
  if (call.kind === 'grpc') {
    return tools.grpc === 'h2load' ? h2loadLoad(call, { clients: 1, streams: concurrency, seconds }) : nodeGrpcLoad(call, concurrency, seconds);
  }
  return tools.http === 'wrk' ? wrkLoad(call, { connections: concurrency, threads: config.wrkThreads, seconds }) : nodeHttpLoad(call, concurrency, seconds);
}
