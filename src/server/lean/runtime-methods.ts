import { fromBinary, fromJsonString, type DescMethod } from '@bufbuild/protobuf';
import { getJsonOptions } from '@connectrpc/connect/protocol';
import { FlagResolverService } from '../../../gen/latchkey/flags/resolver/v1/resolver_service_pb.js';
import { METHOD_POLICIES, type MethodPolicy } from '../../auth/method-policy.js';
import type { CredentialPrincipal } from '../../auth/principal.js';
import type { FlagResolver, ResolveMode } from '../../resolver/flag-resolver.js';
import { applyCall, resolveCall } from '../../rpc/flag-resolver-service.js';
import { procedureOf } from '../../rpc/procedure.js';
import { encodeResolveResponseBinary, encodeResolveResponseJson, type ResolveResponseParts } from '../../rpc/resolve-response-encoding.js';
import type { EncodedMessage } from './wire-protocols.js';

/** One runtime method the lean path serves. */
export interface LeanMethod {
  readonly procedure: string;
  readonly policy: Extract<MethodPolicy, { access: 'runtime' }>;
  /** The request message; throws when the bytes are not one (the adapter then answers MALFORMED_MESSAGE). */
  parse(bytes: Uint8Array, binary: boolean): unknown;
  /** Runs the call for an authenticated credential and encodes its answer. */
  invoke(principal: CredentialPrincipal, message: unknown, binary: boolean): EncodedMessage | Promise<EncodedMessage>;
}

/** The JSON options the adapter parses requests with (it passes none: Connect's defaults, unknown fields ignored). */
const JSON_OPTIONS = getJsonOptions(undefined);
const utf8 = new TextDecoder();

/** ApplyFlagsResponse has no fields: its binary encoding is empty and its JSON `{}`. */
const EMPTY_BINARY = new Uint8Array(0);
const EMPTY_JSON = '{}';

type ResolveRequest = Parameters<typeof resolveCall>[2];
type ApplyRequest = Parameters<typeof applyCall>[2];

/**
 * FlagResolverService's unary runtime methods, keyed by `/package.Service/Method`: the same
 * access policy (METHOD_POLICIES), the same handler code (resolveCall, applyCall, shared with the
 * Connect service) and the same response messages (resolve-response-encoding.ts) as the adapter's
 * route. ListFlagDefinitions stays with the adapter.
 */
export function leanRuntimeMethods(resolver: FlagResolver): ReadonlyMap<string, LeanMethod> {
  const methods = FlagResolverService.method;
  const resolve = (desc: DescMethod, mode: ResolveMode): LeanMethod =>
    method(desc, (principal, message, binary) => {
      const result = resolveCall(resolver, principal, message as ResolveRequest, mode);
      const encode: (parts: ResolveResponseParts) => EncodedMessage = binary ? encodeResolveResponseBinary : encodeResolveResponseJson;
      return result instanceof Promise ? result.then(encode) : encode(result);
    });
  const apply = method(methods.applyFlags, (principal, message, binary) =>
    applyCall(resolver, principal, message as ApplyRequest).then(() => (binary ? EMPTY_BINARY : EMPTY_JSON)),
  );
  return new Map([resolve(methods.resolveFlags, 'flags'), resolve(methods.resolveConfigs, 'configs'), apply].map((m) => [m.procedure, m]));
}

function method(desc: DescMethod, invoke: LeanMethod['invoke']): LeanMethod {
  const procedure = procedureOf(desc);
  const policy = METHOD_POLICIES[procedure];
  if (policy?.access !== 'runtime') throw new Error(`${procedure} is not a runtime method in METHOD_POLICIES; the lean path serves only those`);
  const input = desc.input;
  return {
    procedure,
    policy,
    parse: (bytes, binary) => (binary ? fromBinary(input, bytes) : fromJsonString(input, utf8.decode(bytes), JSON_OPTIONS)),
    invoke,
  };
}
