/**
 * Page code for the Connect-Web test (test/e2e/connect-web.test.ts): FlagResolverService called
 * from Chromium with @connectrpc/connect-web, on the Connect protocol and on gRPC-Web, JSON and
 * binary. Every export is called with `run` (test/support/browser.ts) and answers what the page's
 * code can see: the code, the ErrorInfo reason, the message, the response headers CORS exposes.
 */
import { toJson } from '@bufbuild/protobuf';
import { ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport, createGrpcWebTransport } from '@connectrpc/connect-web';
import { ErrorInfoSchema } from '../../../gen/google/rpc/error_details_pb.js';
import {
  ApplyFlagsResponseSchema,
  FlagResolverService,
  ResolveConfigsResponseSchema,
  ResolveFlagsResponseSchema,
} from '../../../gen/latchkey/flags/resolver/v1/resolver_service_pb.js';

export interface CallOptions {
  baseUrl: string;
  protocol: 'connect' | 'grpc-web';
  binary: boolean;
  method: 'resolveFlags' | 'resolveConfigs' | 'applyFlags';
  message: Record<string, unknown>;
  headers: Record<string, string>;
}

export interface CallResult {
  code: string;
  reason?: string;
  message?: string;
  /** Response headers (and, on gRPC-Web, trailers) the page can read. */
  headers: Record<string, string>;
  response?: unknown;
}

const CODES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];
const OUTPUT = { resolveFlags: ResolveFlagsResponseSchema, resolveConfigs: ResolveConfigsResponseSchema, applyFlags: ApplyFlagsResponseSchema };

export async function call(o: CallOptions): Promise<CallResult> {
  const transport = o.protocol === 'connect' ? createConnectTransport({ baseUrl: o.baseUrl, useBinaryFormat: o.binary }) : createGrpcWebTransport({ baseUrl: o.baseUrl, useBinaryFormat: o.binary });
  const client = createClient(FlagResolverService, transport);
  const headers: Record<string, string> = {};
  const keep = (h: Headers) =>
    h.forEach((value, name) => {
      if (name !== 'x-request-id' && name !== 'date') headers[name] = value;
    });
  try {
    const fn = client[o.method] as (m: unknown, opts: unknown) => Promise<unknown>;
    const res = await fn(o.message, { headers: o.headers, onHeader: keep, onTrailer: keep });
    return { code: 'OK', headers, response: toJson(OUTPUT[o.method], res as never) };
  } catch (err) {
    const e = ConnectError.from(err);
    keep(e.metadata);
    return { code: CODES[e.code]!, reason: e.findDetails(ErrorInfoSchema)[0]?.reason, message: e.rawMessage, headers };
  }
}
