import * as http from 'node:http';
import * as grpc from '@grpc/grpc-js';

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50ms: number;
  p99ms: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

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
        latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (!ok) errors++;
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    seconds: elapsed,
    rps: latencies.length / elapsed,
    p50ms: percentile(latencies, 50),
    p99ms: percentile(latencies, 99),
  };
}

/** gRPC unary calls over one HTTP/2 connection with @grpc/grpc-js (what backend services use). */
export async function grpcLoad(port: number, path: string, body: Uint8Array, metadata: Record<string, string>, concurrency: number, seconds: number) {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  const payload = Buffer.from(body);
  const once = () =>
    new Promise<boolean>((resolve) => {
      client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, payload, md, (err) => resolve(!err));
    });
  try {
    return await drive(concurrency, seconds, once);
  } finally {
    client.close();
  }
}

/** Connect unary calls with JSON over HTTP/1.1 keep-alive connections (what web and curl callers use). */
export async function connectJsonLoad(port: number, path: string, json: string, headers: Record<string, string>, concurrency: number, seconds: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const once = () =>
    new Promise<boolean>((resolve) => {
      const req = http.request(
        { host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json), ...headers } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode === 200));
        },
      );
      req.on('error', () => resolve(false));
      req.end(json);
    });
  try {
    return await drive(concurrency, seconds, once);
  } finally {
    agent.destroy();
  }
}
