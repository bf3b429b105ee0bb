import { create, fromJson, type JsonValue as PbJsonValue } from '@bufbuild/protobuf';
import { ValueSchema, type Timestamp, type Value } from '@bufbuild/protobuf/wkt';
import type { ConnectRouter } from '@connectrpc/connect';
import {
  FlagDefinitionSchema,
  FlagDefinition_Kind,
  FlagDefinition_State,
  Condition_Operator,
  ResolveReason,
  ResolvedFlagSchema,
  type ResolvedFlag as ResolvedFlagMessage,
} from '../../gen/latchkey/flags/resolver/v1/resolver_pb.js';
import { FlagResolverService } from '../../gen/latchkey/flags/resolver/v1/resolver_service_pb.js';
import { credentialOf, type CredentialPrincipal } from '../auth/principal.js';
import { pageOf, pageRequest } from '../domain/paging.js';
import type { EvaluationContext, FlagDefinition, JsonValue } from '../flags/model.js';
import type { FlagResolver, ResolveMode, ResolveResult } from '../resolver/flag-resolver.js';
import { isImmutableAnswer, type ResolvedFlag, type ResolveReason as DomainReason } from '../resolver/model.js';
import { dateOf } from './convert.js';

const REASON: Record<DomainReason, ResolveReason> = {
  MATCH: ResolveReason.MATCH,
  DEFAULT: ResolveReason.DEFAULT,
  NO_RULE_MATCH: ResolveReason.NO_RULE_MATCH,
  FLAG_ARCHIVED: ResolveReason.FLAG_ARCHIVED,
  FLAG_NOT_FOUND: ResolveReason.FLAG_NOT_FOUND,
  TARGETING_KEY_ERROR: ResolveReason.TARGETING_KEY_ERROR,
  TYPE_MISMATCH: ResolveReason.TYPE_MISMATCH,
  ERROR: ResolveReason.ERROR,
};

/**
 * google.protobuf.Value of a JSON value, built once per distinct value: the
 * values a resolver serves are the frozen variant values of compiled flags,
 * so converting them by reflection on every response would be wasted work.
 * The messages are shared between responses and never mutated.
 */
const objectValues = new WeakMap<object, Value>();
const scalarValues = new Map<string, Value>();
const MAX_SCALARS = 10_000;
const value = (v: JsonValue): Value => {
  if (v !== null && typeof v === 'object') {
    // Only a frozen value is sure to be the same next time (a compiled flag's values are, deeply).
    if (!Object.isFrozen(v)) return fromJson(ValueSchema, v as PbJsonValue);
    let m = objectValues.get(v);
    if (!m) objectValues.set(v, (m = fromJson(ValueSchema, v as PbJsonValue)));
    return m;
  }
  const key = `${typeof v}:${String(v)}`;
  let m = scalarValues.get(key);
  if (!m) {
    m = fromJson(ValueSchema, v as PbJsonValue);
    if (scalarValues.size < MAX_SCALARS) scalarValues.set(key, m);
  }
  return m;
};

/**
 * ResolvedFlag messages, built once per distinct answer: between edits a flag gives every caller
 * one of a few answers (a variant and a reason), and building a message by reflection costs more
 * than evaluating the flag. An entry is reused only while the value it was built from is the one
 * being served (the same frozen variant value, or an equal scalar), so an edited flag gets fresh
 * messages. Answers about flags that do not exist, and answers with an error message, are built
 * every time, so request input cannot fill the map. Shared between responses, never mutated.
 */
const resolvedMessages = new Map<string, CachedAnswer[]>();
const MAX_CACHED_FLAGS = 10_000;
/** Answers kept per flag name; a flag has a handful (variants × reasons). */
const MAX_ANSWERS_PER_FLAG = 16;

interface CachedAnswer {
  variant: string | undefined;
  reason: DomainReason;
  value: JsonValue | undefined;
  message: ResolvedFlagMessage;
}

/**
 * The resolver's own answers are frozen and shared (SERVED_ANSWERS in src/resolver/flag-resolver.ts):
 * their messages are kept by the answer object, which an edited flag replaces. Error messages are
 * fixed text of the compiled flag there, so those are kept too.
 */
const sharedAnswerMessages = new WeakMap<ResolvedFlag, ResolvedFlagMessage>();

export function resolvedFlagToProto(r: ResolvedFlag): ResolvedFlagMessage {
  if (isImmutableAnswer(r)) {
    let message = sharedAnswerMessages.get(r);
    if (message === undefined) sharedAnswerMessages.set(r, (message = buildResolvedFlag(r)));
    return message;
  }
  if (r.reason === 'FLAG_NOT_FOUND' || r.errorMessage !== undefined) return buildResolvedFlag(r);
  if (r.value !== null && typeof r.value === 'object' && !Object.isFrozen(r.value)) return buildResolvedFlag(r);
  let answers = resolvedMessages.get(r.flag);
  if (answers === undefined) {
    if (resolvedMessages.size >= MAX_CACHED_FLAGS) return buildResolvedFlag(r);
    resolvedMessages.set(r.flag, (answers = []));
  }
  // A short linear scan: cheaper than building a composite string key on every call.
  for (const a of answers) if (a.variant === r.variant && a.reason === r.reason && a.value === r.value) return a.message;
  const message = buildResolvedFlag(r);
  // A flag edited many times leaves stale answers behind; start its list over.
  if (answers.length >= MAX_ANSWERS_PER_FLAG) answers.length = 0;
  answers.push({ variant: r.variant, reason: r.reason, value: r.value, message });
  return message;
}

function buildResolvedFlag(r: ResolvedFlag): ResolvedFlagMessage {
  return create(ResolvedFlagSchema, {
    flag: r.flag,
    variant: r.variant ?? '',
    value: r.value === undefined ? undefined : value(r.value),
    reason: REASON[r.reason],
    errorMessage: r.errorMessage ?? '',
  });
}

function definitionToProto(d: FlagDefinition) {
  return create(FlagDefinitionSchema, {
    name: `flags/${d.id}`,
    project: `projects/${d.project}`,
    state: d.state === 'ACTIVE' ? FlagDefinition_State.ACTIVE : FlagDefinition_State.ARCHIVED,
    secret: d.secret,
    kind: FlagDefinition_Kind[d.kind],
    variants: d.variants.map((v) => ({ name: v.name, value: value(v.value) })),
    defaultVariant: d.defaultVariant ?? '',
    rules: d.rules.map((r) => ({
      name: r.name,
      enabled: r.enabled,
      environments: r.environments,
      conditions: r.conditions.map((c) => ({ attribute: c.attribute, operator: Condition_Operator[c.operator], values: c.values.map(value) })),
      randomizationUnit: r.randomizationUnit,
      allocations: r.allocations.map((a) => ({ variant: a.variant, weight: a.weight })),
    })),
    salt: d.salt,
  });
}

/**
 * One ResolveFlags / ResolveConfigs call of an authenticated credential, shared by the Connect
 * handler below and the lean runtime path (src/server/lean/). A promise only when the call applies
 * (writes exposures) or resolves every flag of a large catalog (in slices, FlagResolver.resolveYielding):
 * a plain resolve is answered without a turn of the event loop.
 */
export function resolveCall(
  resolver: FlagResolver,
  principal: CredentialPrincipal,
  req: { flags: string[]; evaluationContext?: EvaluationContext | undefined; apply: boolean },
  mode: ResolveMode,
): ResolveResult | Promise<ResolveResult> {
  const result = resolver.resolveYielding(principal, req.flags, req.evaluationContext ?? {}, mode);
  if (result instanceof Promise) return req.apply ? result.then(async (r) => (await resolver.applyResolved(r), r)) : result;
  return req.apply ? resolver.applyResolved(result).then(() => result) : result;
}

/** One ApplyFlags call (shared like resolveCall). Idempotent: flags this token already applied answer OK and add no row. */
export async function applyCall(resolver: FlagResolver, principal: CredentialPrincipal, req: { resolveToken: string; flags: { flag: string; applyTime?: Timestamp | undefined }[] }): Promise<void> {
  await resolver.apply(
    principal,
    req.resolveToken,
    req.flags.map((f) => ({ flag: f.flag, applyTime: dateOf(f.applyTime) })),
  );
}

export function registerFlagResolverService(router: ConnectRouter, resolver: FlagResolver): void {
  const resolve = async (
    req: { flags: string[]; evaluationContext?: EvaluationContext | undefined; apply: boolean },
    values: Parameters<typeof credentialOf>[0],
    mode: ResolveMode,
  ) => {
    const result = await resolveCall(resolver, credentialOf(values), req, mode);
    return { resolvedFlags: result.resolved.map(resolvedFlagToProto), resolveToken: result.resolveToken, resolveId: result.resolveId };
  };
  router.service(FlagResolverService, {
    resolveFlags: (req, ctx) => resolve(req, ctx.values, 'flags'),
    resolveConfigs: (req, ctx) => resolve(req, ctx.values, 'configs'),
    async applyFlags(req, ctx) {
      await applyCall(resolver, credentialOf(ctx.values), req);
      return {};
    },
    listFlagDefinitions(req, ctx) {
      const page = pageRequest(req.pageSize, req.pageToken, 'flagDefinitions');
      const all = resolver.definitions(credentialOf(ctx.values)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const rest = all.filter((d) => page.after === undefined || d.id > page.after);
      const { items, nextPageToken } = pageOf(rest.slice(0, page.pageSize + 1), page, (d) => d.id, 'flagDefinitions');
      return { flagDefinitions: items.map(definitionToProto), nextPageToken };
    },
  });
}
