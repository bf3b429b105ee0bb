/** The requests the rows send, built once per server port. */
import { create, toBinary, toJsonString } from '@bufbuild/protobuf';
import { ResolveFlagsRequestSchema } from '../gen/latchkey/flags/resolver/v1/resolver_service_pb.js';
import type { GrpcCall, HttpCall } from './load-result.js';
import { NAMED_FLAGS } from './seed-sqlite.js';

export const RESOLVE_PATH = '/latchkey.flags.resolver.v1.FlagResolverService/ResolveFlags';
export const CONFIDENCE_PATH = '/v1/flags:resolve';
export const OFREP_BULK_PATH = '/ofrep/v1/evaluate/flags';

/** One user in Sweden: every rule's condition holds, so each flag is bucketed (the full evaluation path). */
export const CONTEXT = { targeting_key: 'user-42', country: 'SE' };

const resolveRequest = (flags: readonly string[]) => create(ResolveFlagsRequestSchema, { flags: flags.map((f) => `flags/${f}`), evaluationContext: CONTEXT });

/** Connect JSON ResolveFlags of the named flags; `[]` resolves every flag the credential may see. */
export function connectJsonCall(port: number, secret: string, flags: readonly string[] = NAMED_FLAGS): HttpCall {
  return { kind: 'http', port, path: RESOLVE_PATH, body: toJsonString(ResolveFlagsRequestSchema, resolveRequest(flags)), headers: { Authorization: `Bearer ${secret}` } };
}

/** gRPC ResolveFlags of the named flags. */
export function grpcCall(port: number, secret: string, flags: readonly string[] = NAMED_FLAGS): GrpcCall {
  return { kind: 'grpc', port, path: RESOLVE_PATH, message: toBinary(ResolveFlagsRequestSchema, resolveRequest(flags)), metadata: { authorization: `Bearer ${secret}` } };
}

/** The Confidence resolver route, `clientSecret` in the body as Confidence SDKs send it. */
export function confidenceCall(port: number, secret: string, flags: readonly string[] = NAMED_FLAGS): HttpCall {
  const body = JSON.stringify({ clientSecret: secret, flags: flags.map((f) => `flags/${f}`), evaluationContext: CONTEXT, apply: false });
  return { kind: 'http', port, path: CONFIDENCE_PATH, body, headers: {} };
}

/** OFREP bulk evaluation; with the credential limited to project `ten` it answers the ten named flags. */
export function ofrepBulkCall(port: number, secret: string): HttpCall {
  const body = JSON.stringify({ context: { targetingKey: CONTEXT.targeting_key, country: CONTEXT.country } });
  return { kind: 'http', port, path: OFREP_BULK_PATH, body, headers: { Authorization: `Bearer ${secret}` } };
}

/** The same call sent to another server (a ceiling answers whatever it is sent). */
export const toPort = <C extends HttpCall | GrpcCall>(call: C, port: number): C => ({ ...call, port });
