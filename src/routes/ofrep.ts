import type { CredentialPrincipal } from '../auth/principal.js';
import type { CredentialValidator } from '../client-credentials/validator.js';
import { ruleAppliesToEnvironments } from '../credentials/environments.js';
import { hasScope } from '../credentials/scopes.js';
import { DomainError } from '../domain/errors.js';
import type { CompiledFlag } from '../flags/compile.js';
import type { EvaluationContext, JsonValue } from '../flags/model.js';
import type { CompiledFlags, FlagResolver } from '../resolver/flag-resolver.js';
import type { ResolvedFlag } from '../resolver/model.js';
import { sendJsonWithEtag } from '../server/etag.js';
import { BodyTooLargeError, readBody, sendJson, type HttpRequest, type HttpResponse } from '../server/http-util.js';
import type { PlainRoute } from '../server/plain-routes.js';
import type { RequestInfo } from '../server/request-info.js';
import { authenticateHttp, sendDomainError } from './runtime-http.js';

/**
 * The OpenFeature Remote Evaluation Protocol (OFREP, open-feature/protocol service/openapi.yaml):
 * `POST /ofrep/v1/evaluate/flags/{key}` (server providers) and `POST /ofrep/v1/evaluate/flags`
 * (bulk, web providers, with a strong ETag and 304). A thin translation onto FlagResolver.resolve:
 * the credential pipeline, environments (SPEC §4), projects and secret flags are the resolver's;
 * this file only parses OFREP's request and maps the answer and its reasons.
 *
 * Reasons (latchkey → OFREP):
 * - MATCH by a rule that bucketed the unit (a percentage allocation) → SPLIT
 * - MATCH by a rule that gives every unit the same variant           → TARGETING_MATCH
 * - DEFAULT, and no enabled rule applies to the credential's environments → STATIC
 *   (no evaluation could have answered anything else for this credential)
 * - DEFAULT, rules apply but none matched                              → DEFAULT
 * - NO_RULE_MATCH (no default variant)  → DEFAULT without `value` (OFREP's code default: the SDK serves the caller's default)
 * - FLAG_ARCHIVED                       → DISABLED without `value`
 * Failures: FLAG_NOT_FOUND → 404 FLAG_NOT_FOUND; TARGETING_KEY_ERROR → 400 TARGETING_KEY_MISSING;
 * TYPE_MISMATCH (an OBJECT flag asked for without the scope configs:read) → 400 TYPE_MISMATCH;
 * ERROR (a stored flag that cannot be evaluated) → 500 GENERAL. A body that is not JSON → 400
 * PARSE_ERROR (413 when it is over the size limit); a context that is not an object, or a
 * `targetingKey` that is not a string or number → 400 INVALID_CONTEXT. Credential refusals keep
 * SPEC §3's statuses and latchkey's `{code, reason, message}` body (authenticateHttp).
 */

const MAX_BODY_BYTES = 1024 * 1024;
export const OFREP_BULK_PATH = '/ofrep/v1/evaluate/flags';
export const OFREP_FLAG_PREFIX = '/ofrep/v1/evaluate/flags/';

export type OfrepReason = 'STATIC' | 'TARGETING_MATCH' | 'SPLIT' | 'DEFAULT' | 'DISABLED';
export type OfrepErrorCode = 'PARSE_ERROR' | 'TARGETING_KEY_MISSING' | 'INVALID_CONTEXT' | 'FLAG_NOT_FOUND' | 'TYPE_MISMATCH' | 'GENERAL';

export interface OfrepSuccess {
  key: string;
  /** Absent when the SDK should serve the caller's default (OFREP's codeDefaultFlag). */
  value?: JsonValue;
  variant?: string;
  reason: OfrepReason;
  metadata: Record<string, string>;
}

export interface OfrepFailure {
  key: string;
  errorCode: OfrepErrorCode;
  errorDetails: string;
}

/** The HTTP status of a single-flag failure (OFREP: 400 bad request, 404 not found, 500 server side). */
const FAILURE_STATUS: Record<OfrepErrorCode, number> = {
  PARSE_ERROR: 400,
  TARGETING_KEY_MISSING: 400,
  INVALID_CONTEXT: 400,
  TYPE_MISMATCH: 400,
  FLAG_NOT_FOUND: 404,
  GENERAL: 500,
};

/** A refusal of the request as a whole (its body or context), before any flag is evaluated. */
class RequestFailure {
  constructor(
    readonly status: number,
    readonly errorCode: OfrepErrorCode,
    readonly errorDetails: string,
  ) {}
}

export function ofrepRoutes(validator: CredentialValidator, resolver: FlagResolver, catalog: CompiledFlags): PlainRoute[] {
  const requirement = { scope: 'flags:read', secretOnly: false } as const;

  /** Authenticates, then reads the evaluation context; answers and returns undefined on any failure. */
  async function begin(req: HttpRequest, res: HttpResponse, info: RequestInfo, url: URL, key: string | undefined) {
    const v = await authenticateHttp(validator, req, res, info, url, requirement);
    if (!v) return undefined;
    const context = await readContext(req);
    if (context instanceof RequestFailure) {
      info.reason = context.errorCode;
      sendJson(res, context.status, key === undefined ? { errorCode: context.errorCode, errorDetails: context.errorDetails } : { key, errorCode: context.errorCode, errorDetails: context.errorDetails });
      return undefined;
    }
    // OBJECT flags (remote configs) need configs:read besides the flags:read every OFREP call needs.
    const mode = hasScope(v.principal.scopes, 'configs:read') ? ('all' as const) : ('flags' as const);
    return { principal: v.principal, context, mode };
  }

  return [
    {
      method: 'POST',
      path: OFREP_FLAG_PREFIX,
      prefix: true,
      async handle(req, res, info, url) {
        const key = flagKeyOf(url.pathname);
        const started = await begin(req, res, info, url, key);
        if (!started) return;
        let resolved: ResolvedFlag;
        try {
          resolved = resolver.resolve(started.principal, [`flags/${key}`], started.context, started.mode).resolved[0]!;
        } catch (err) {
          if (err instanceof DomainError) return sendDomainError(res, info, err);
          throw err;
        }
        const answer = toOfrep(key, resolved, started.principal, catalog);
        if ('errorCode' in answer) {
          info.reason = answer.errorCode;
          return sendJson(res, FAILURE_STATUS[answer.errorCode], answer);
        }
        sendJson(res, 200, answer);
      },
    },
    {
      method: 'POST',
      path: OFREP_BULK_PATH,
      async handle(req, res, info, url) {
        const started = await begin(req, res, info, url, undefined);
        if (!started) return;
        let resolved: ResolvedFlag[];
        try {
          resolved = (await resolver.resolveYielding(started.principal, [], started.context, started.mode)).resolved;
        } catch (err) {
          if (err instanceof DomainError) return sendDomainError(res, info, err);
          throw err;
        }
        const flags = resolved.map((r) => toOfrep(r.flag.slice('flags/'.length), r, started.principal, catalog));
        // The ETag is the hash of this exact body: the same flags evaluated to the same answers give the same tag.
        sendJsonWithEtag(req, res, 200, { flags });
      },
    },
  ];
}

/** The `{key}` of `/ofrep/v1/evaluate/flags/{key}`, percent-decoded (a malformed escape is kept as sent). */
function flagKeyOf(pathname: string): string {
  const raw = pathname.slice(OFREP_FLAG_PREFIX.length);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * The latchkey evaluation context of an OFREP request `{"context": {...}}`: `targetingKey` becomes
 * `targeting_key` (the default randomization unit), every other key is an attribute as sent.
 * OFREP does not require a body: an empty one is an empty context.
 */
async function readContext(req: HttpRequest): Promise<EvaluationContext | RequestFailure> {
  let raw: Buffer;
  try {
    raw = await readBody(req, MAX_BODY_BYTES);
  } catch (err) {
    if (err instanceof BodyTooLargeError) return new RequestFailure(413, 'PARSE_ERROR', err.message);
    throw err;
  }
  if (raw.length === 0) return {};
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    return new RequestFailure(400, 'PARSE_ERROR', `the request body is not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(body)) return new RequestFailure(400, 'PARSE_ERROR', 'the request body must be a JSON object: {"context": {...}}');
  const context = body.context;
  if (context === undefined) return {};
  if (!isObject(context)) return new RequestFailure(400, 'INVALID_CONTEXT', 'context must be a JSON object');
  if (!Object.hasOwn(context, 'targetingKey')) return context as EvaluationContext;
  const { targetingKey, ...attributes } = context;
  if (!(typeof targetingKey === 'string' || (typeof targetingKey === 'number' && Number.isFinite(targetingKey)))) {
    return new RequestFailure(400, 'INVALID_CONTEXT', 'context.targetingKey must be a string');
  }
  if (Object.hasOwn(attributes, 'targeting_key') && attributes.targeting_key !== targetingKey) {
    return new RequestFailure(400, 'INVALID_CONTEXT', 'context.targetingKey and context.targeting_key name the same randomization unit; send one of them');
  }
  return { ...(attributes as EvaluationContext), targeting_key: targetingKey };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One resolved flag as OFREP answers it. */
export function toOfrep(key: string, r: ResolvedFlag, principal: CredentialPrincipal, catalog: CompiledFlags): OfrepSuccess | OfrepFailure {
  const failure = (errorCode: OfrepErrorCode, errorDetails: string): OfrepFailure => ({ key, errorCode, errorDetails });
  if (r.reason === 'FLAG_NOT_FOUND') {
    return failure('FLAG_NOT_FOUND', `flag ${JSON.stringify(key)} does not exist, or this credential may not see it (flags of other projects, and secret flags for a publishable credential, are not found)`);
  }
  const compiled = catalog.flag(key);
  switch (r.reason) {
    case 'TARGETING_KEY_ERROR':
      return failure('TARGETING_KEY_MISSING', r.errorMessage ?? 'the flag needs a targetingKey in the context');
    case 'TYPE_MISMATCH':
      return failure('TYPE_MISMATCH', `flag ${JSON.stringify(key)} is a remote config (kind OBJECT); OFREP serves it to credentials that also have the scope configs:read`);
    case 'ERROR':
      return failure('GENERAL', r.errorMessage ?? `flag ${JSON.stringify(key)} could not be evaluated`);
    case 'FLAG_ARCHIVED':
      return { key, reason: 'DISABLED', metadata: metadataOf(compiled, principal) };
    case 'NO_RULE_MATCH':
      return { key, reason: 'DEFAULT', metadata: metadataOf(compiled, principal) };
    case 'DEFAULT':
      return { key, value: r.value as JsonValue, variant: r.variant!, reason: anyRuleApplies(compiled, principal) ? 'DEFAULT' : 'STATIC', metadata: metadataOf(compiled, principal) };
    case 'MATCH':
      return { key, value: r.value as JsonValue, variant: r.variant!, reason: isSplit(compiled, r.rule) ? 'SPLIT' : 'TARGETING_MATCH', metadata: metadataOf(compiled, principal) };
  }
}

// Indexed loops over compiled rules: see FROZEN_ARRAYS in src/flags/compile.ts.

/** Whether the rule that matched buckets units (a percentage allocation) rather than giving everyone one variant. */
function isSplit(flag: CompiledFlag | undefined, ruleName: string | undefined): boolean {
  const rules = flag?.rules ?? [];
  for (let i = 0; i < rules.length; i++) if (rules[i]!.name === ruleName) return rules[i]!.everyBucket === undefined;
  return false;
}

/** Whether any enabled rule of the flag applies to the credential's environments (SPEC §4). */
function anyRuleApplies(flag: CompiledFlag | undefined, principal: CredentialPrincipal): boolean {
  if (flag === undefined) return true;
  const rules = flag.rules;
  for (let i = 0; i < rules.length; i++) if (ruleAppliesToEnvironments(rules[i]!.environments, principal.environments)) return true;
  return false;
}

/** Metadata per compiled flag (a new compiled object replaces it when the flag changes), per credential class. */
const metadataCache = new WeakMap<CompiledFlag, { PUBLISHABLE: Record<string, string>; SECRET: Record<string, string> }>();

/**
 * OFREP `metadata` (OpenFeature flag metadata): the flag's resource name and project; its
 * description too for SECRET credentials only (descriptions are written for admins, not for
 * every browser that loads the page). Shared between responses, never mutated.
 */
function metadataOf(flag: CompiledFlag | undefined, principal: CredentialPrincipal): Record<string, string> {
  if (!flag) return {};
  let cached = metadataCache.get(flag);
  if (!cached) {
    const base = { name: `flags/${flag.id}`, project: `projects/${flag.project}` };
    const description = flag.definition.description;
    cached = { PUBLISHABLE: base, SECRET: description ? { ...base, description } : base };
    metadataCache.set(flag, cached);
  }
  return cached[principal.class];
}
