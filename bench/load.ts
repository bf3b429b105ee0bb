/**
 * The fallback load drivers, in Node, for machines without wrk or h2load: the runner's own process
 * then competes with the servers for CPU, so its ceilings read lower than wrk's and h2load's.
 */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import type { GrpcCall, HttpCall, LoadResult } from './load-result.js';
import { latencyPercentiles } from './stats.js';

/** Runs `concurrency` request loops for `seconds`, bounded in time. */
async function drive(concurrency: number, seconds: number, once: () => Promise<boolean>): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  const start = process.hrtime.bigint();
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const t = process.hrtime.bigint();
        const ok = await once();
        if (ok) latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
        else errors++;
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  return { requests: latencies.length, errors, seconds: elapsed, rps: latencies.length / elapsed, ...latencyPercentiles(latencies), tool: 'node' };
}

/** gRPC unary calls over one HTTP/2 connection with @grpc/grpc-js (what backend services use). */
export async function nodeGrpcLoad(call: GrpcCall, streams: number, seconds: number): Promise<LoadResult> {
  const client = new grpc.Client(`127.0.0.1:${call.port}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(call.metadata)) md.set(k, v);
  const payload = Buffer.from(call.message);
  const once = () =>
    new Promise<boolean>((resolve) => {
      client.makeUnaryRequest(call.path, (b: Buffer) => b, (b: Buffer) => b, payload, md, (err) => resolve(!err));
    });
  try {
    return await drive(streams, seconds, once);
  } finally {
    client.close();
  }
}

/** HTTP/1.1 POSTs over keep-alive connections, rotating the credential when the call says so. */
export async function nodeHttpLoad(call: HttpCall, connections: number, seconds: number): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const secrets = call.rotate ? readFileSync(call.rotate.file, 'utf8').split('\n').filter(Boolean) : [];
  let next = call.rotate?.offset ?? 0;
  const once = () =>
    new Promise<boolean>((resolve) => {
      const auth = secrets.length ? { authorization: `Bearer ${secrets[next++ % secrets.length]}` } : {};
      const req = http.request(
        {
          host: '127.0.0.1',
          port: call.port,
          path: call.path,
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(call.body), ...call.headers, ...auth },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode === 200));
        },
      );
      req.on('error', () => resolve(false));
      req.end(call.body);
    });
  try {
    return await drive(connections, seconds, once);
  } finally {
    agent.destroy();
  }
}
