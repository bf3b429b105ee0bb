import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  ResolveFlagsRequestSchema,
  ResolveFlagsResponseSchema,
  type ResolveFlagsResponse,
} from '../../gen/latchkey/flags/resolver/v1/resolver_service_pb.js';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { StatusSchema } from '../../gen/google/rpc/status_pb.js';
import type { TestServer } from './server.js';

export interface GrpcOutcome {
  code: number;
  reason: string | undefined;
  message: string;
  metadata: Record<string, string>;
  response: ResolveFlagsResponse | undefined;
}

/**
 * ResolveFlags over gRPC with @grpc/grpc-js, the way a backend service calls
 * it: credentials as call metadata, refusals decoded from grpc-status-details-bin.
 */
export function grpcResolve(
  server: TestServer,
  metadata: Record<string, string>,
  init: Parameters<typeof create<typeof ResolveFlagsRequestSchema>>[1] = {},
  address = `127.0.0.1:${server.port}`,
): Promise<GrpcOutcome> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve) => {
    const headers: Record<string, string> = {};
    const call = client.makeUnaryRequest(
      '/latchkey.flags.resolver.v1.FlagResolverService/ResolveFlags',
      (m: ReturnType<typeof create<typeof ResolveFlagsRequestSchema>>) => Buffer.from(toBinary(ResolveFlagsRequestSchema, m)),
      (b: Buffer) => fromBinary(ResolveFlagsResponseSchema, b),
      create(ResolveFlagsRequestSchema, init),
      md,
      (err, value) => {
        client.close();
        if (!err) {
          resolve({ code: 0, reason: undefined, message: '', metadata: headers, response: value });
          return;
        }
        const details = err.metadata.get('grpc-status-details-bin')[0];
        let reason: string | undefined;
        if (details) {
          // google.rpc.Status { code=1, message=2, details=3 (Any) }: find the ErrorInfo Any.
          const status = fromBinary(StatusSchema, details as Buffer);
          for (const any of status.details) {
            if (any.typeUrl.endsWith('google.rpc.ErrorInfo')) reason = fromBinary(ErrorInfoSchema, any.value).reason;
          }
        }
        for (const [k, v] of Object.entries(err.metadata.getMap())) headers[k] = String(v);
        resolve({ code: err.code, reason, message: err.details, metadata: headers, response: undefined });
      },
    );
    call.on('metadata', (m: grpc.Metadata) => {
      for (const [k, v] of Object.entries(m.getMap())) headers[k] = String(v);
    });
  });
}

/** GET /v1/credential with the given headers / query. */
export async function describeSelf(server: TestServer, headers: Record<string, string>, query = '') {
  const res = await fetch(`${server.baseUrl}/v1/credential${query}`, { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}
