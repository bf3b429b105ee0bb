/**
 * ResolveFlagsResponse / ResolveConfigsResponse (the same fields and numbers) as wire bytes and as
 * Connect JSON, for the lean runtime path, built by concatenation instead of by reflection.
 *
 * A response is its entries (field 1, one ResolvedFlag each), then `resolve_token` (2) and
 * `resolve_id` (3). Between edits a flag gives every caller one of a few answers, and the resolver
 * serves each as one shared, frozen `ResolvedFlag` (SERVED_ANSWERS in src/resolver/flag-resolver.ts).
 * So each such answer's encodings are made once, by @bufbuild/protobuf itself from the message the
 * Connect handler answers with (`resolvedFlagToProto`), and kept with it:
 * - binary: the whole field-1 entry (tag, length, ResolvedFlag bytes), written with BinaryWriter;
 * - JSON: the ResolvedFlag's JSON text (`toJsonString`).
 * A response is then those pieces in order, and the two strings written after them. The cache is a
 * WeakMap keyed by the answer object: an edited flag is compiled again and serves new answer
 * objects, so no edit can get a stale encoding, and entries go when their flag version does.
 * Answers that are not frozen (FLAG_NOT_FOUND, which echoes request input, and answers built by
 * hand) are encoded afresh every time and never cached.
 *
 * test/unit/rpc/resolve-response-encoding.test.ts holds both encodings to decoding to exactly the
 * message the reflection-built response decodes to.
 */
import { create, toBinary, toJsonString } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { ResolvedFlagSchema } from '../../gen/latchkey/flags/resolver/v1/resolver_pb.js';
import { ResolveFlagsResponseSchema } from '../../gen/latchkey/flags/resolver/v1/resolver_service_pb.js';
import { isImmutableAnswer, type ResolvedFlag } from '../resolver/model.js';
import { resolvedFlagToProto } from './flag-resolver-service.js';

/** What a ResolveFlags / ResolveConfigs response carries (both messages have the same fields and numbers). */
export interface ResolveResponseParts {
  resolved: readonly ResolvedFlag[];
  resolveToken: string;
  resolveId: string;
}

/** Field numbers of ResolveFlagsResponse (and ResolveConfigsResponse). */
const RESOLVED_FLAGS = 1;
const RESOLVE_TOKEN = 2;
const RESOLVE_ID = 3;

interface EncodedAnswer {
  /** Field 1 of the response holding this answer: tag, length and the ResolvedFlag's bytes. */
  binaryEntry: Uint8Array | undefined;
  /** The ResolvedFlag's Connect JSON. */
  json: string | undefined;
}

const encodedAnswers = new WeakMap<ResolvedFlag, EncodedAnswer>();

function encodedOf(r: ResolvedFlag): EncodedAnswer | undefined {
  if (!isImmutableAnswer(r)) return undefined;
  let e = encodedAnswers.get(r);
  if (e === undefined) encodedAnswers.set(r, (e = { binaryEntry: undefined, json: undefined }));
  return e;
}

function binaryEntryOf(r: ResolvedFlag): Uint8Array {
  const e = encodedOf(r);
  if (e?.binaryEntry !== undefined) return e.binaryEntry;
  const entry = new BinaryWriter()
    .tag(RESOLVED_FLAGS, WireType.LengthDelimited)
    .bytes(toBinary(ResolvedFlagSchema, resolvedFlagToProto(r)))
    .finish();
  if (e !== undefined) e.binaryEntry = entry;
  return entry;
}

function jsonOf(r: ResolvedFlag): string {
  const e = encodedOf(r);
  if (e?.json !== undefined) return e.json;
  const json = toJsonString(ResolvedFlagSchema, resolvedFlagToProto(r));
  if (e !== undefined) e.json = json;
  return json;
}

/**
 * The wire bytes of a ResolveFlagsResponse (and ResolveConfigsResponse), for the lean runtime path.
 * Fields in number order and empty strings left out, as `toBinary` writes them.
 */
export function encodeResolveResponseBinary(parts: ResolveResponseParts): Uint8Array {
  const writer = new BinaryWriter();
  const resolved = parts.resolved;
  for (let i = 0; i < resolved.length; i++) writer.raw(binaryEntryOf(resolved[i]!));
  if (parts.resolveToken !== '') writer.tag(RESOLVE_TOKEN, WireType.LengthDelimited).string(parts.resolveToken);
  if (parts.resolveId !== '') writer.tag(RESOLVE_ID, WireType.LengthDelimited).string(parts.resolveId);
  return writer.finish();
}

/** The Connect JSON of the same response, as `toJsonString` writes it (default fields left out). */
export function encodeResolveResponseJson(parts: ResolveResponseParts): string {
  const members: string[] = [];
  const resolved = parts.resolved;
  if (resolved.length > 0) {
    const entries = new Array<string>(resolved.length);
    for (let i = 0; i < resolved.length; i++) entries[i] = jsonOf(resolved[i]!);
    members.push(`"resolvedFlags":[${entries.join(',')}]`);
  }
  if (parts.resolveToken !== '') members.push(`"resolveToken":${JSON.stringify(parts.resolveToken)}`);
  if (parts.resolveId !== '') members.push(`"resolveId":${JSON.stringify(parts.resolveId)}`);
  return `{${members.join(',')}}`;
}

/** The same response built by reflection, as the Connect handler answers it: what the encoders above must match. */
export function resolveResponseMessage(parts: ResolveResponseParts) {
  return create(ResolveFlagsResponseSchema, {
    resolvedFlags: parts.resolved.map(resolvedFlagToProto),
    resolveToken: parts.resolveToken,
    resolveId: parts.resolveId,
  });
}
