/**
 * One call of each kind through a real client, before any load: its answer is checked (status, how
 * many flags) and kept, so a ceiling can answer the same bytes. Load tools count statuses only;
 * h2load even counts an HTTP 200 whose grpc-status is an error as a success.
 */
import * as grpc from '@grpc/grpc-js';
import type { GrpcCall, HttpCall } from './load-result.js';

export async function httpAnswer(call: HttpCall): Promise<{ body: string; json: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${call.port}${call.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...call.headers },
    body: call.body,
  });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`POST ${call.path} answered ${res.status}: ${body.slice(0, 500)}`);
  return { body, json: JSON.parse(body) as Record<string, unknown> };
}

/** The serialized answer of a gRPC call, through @grpc/grpc-js; throws on any grpc-status but OK. */
export function grpcAnswer(call: GrpcCall): Promise<Buffer> {
  const client = new grpc.Client(`127.0.0.1:${call.port}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(call.metadata)) md.set(k, v);
  return new Promise<Buffer>((resolve, reject) => {
    client.makeUnaryRequest(
      call.path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(call.message),
      md,
      (err, value) => {
        client.close();
        if (err) reject(new Error(`gRPC ${call.path} failed: ${err.code} ${err.details}`));
        else resolve(value!);
      },
    );
  });
}

/** How many flags an answer holds (ResolveFlags and Confidence `resolvedFlags`, OFREP bulk `flags`). */
export function flagCount(json: Record<string, unknown>): number {
  const list = (json.resolvedFlags ?? json.flags) as unknown[] | undefined;
  return Array.isArray(list) ? list.length : 0;
}

export function expectFlags(what: string, json: Record<string, unknown>, expected: number): void {
  const n = flagCount(json);
  if (n !== expected) throw new Error(`${what}: expected ${expected} flags in the answer, got ${n}: ${JSON.stringify(json).slice(0, 300)}`);
}
