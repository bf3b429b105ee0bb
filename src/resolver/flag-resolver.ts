import { randomUUID } from 'node:crypto';
import type { CredentialPrincipal } from '../auth/principal.js';
import { ruleAppliesToEnvironments } from '../credentials/environments.js';
import { DomainError, invalidArgument, type FieldViolation } from '../domain/errors.js';
import { MonotonicIds } from '../domain/monotonic-ids.js';
import type { CompiledFlag } from '../flags/compile.js';
import { resolveFlag, type EnvironmentsApply, type Resolution, type ResolveOptions } from '../flags/evaluate.js';
import type { EvaluationContext, FlagDefinition } from '../flags/model.js';
import type { FlagApplyStore, ResolvedFlag } from './model.js';
import type { ResolveTokenContent, ResolveTokens } from './resolve-token.js';

/** Where compiled flags come from (the in-memory flag catalog). */
export interface CompiledFlags {
  flags(): readonly CompiledFlag[];
  flag(id: string): CompiledFlag | undefined;
}

/**
 * ResolveFlags serves flags; ResolveConfigs serves OBJECT flags (remote
 * configs); `all` serves every kind (the Confidence-compatible route, for a
 * credential holding both scopes).
 */
export type ResolveMode = 'flags' | 'configs' | 'all';

/** What `resolve` answers; `applyResolved` records its exposures (`apply: true`). */
export interface ResolveResult {
  resolved: ResolvedFlag[];
  resolveId: string;
  resolveToken: string;
  /** What the token says: the flags this resolve served (every one not FLAG_NOT_FOUND) and their variants. */
  token: ResolveTokenContent;
}

const MAX_NAMED_FLAGS = 1000;
const MAX_APPLIES = 1000;

/**
 * Flag resolution for one credential (SPEC §6): only flags of its projects,
 * secret flags only for SECRET credentials, and within each flag only the rules
 * whose environments apply to the credential's environments (SPEC §4). One
 * flag's failure never fails the others.
 */
export class FlagResolver {
  private readonly applyIds = new MonotonicIds('x');

  constructor(
    private readonly catalog: CompiledFlags,
    private readonly applies: FlagApplyStore,
    private readonly now: () => Date,
    /** Signs and verifies resolve tokens with the key every replica shares. */
    private readonly tokens: ResolveTokens,
  ) {}

  /** Whether the credential may see the flag at all; an invisible flag is FLAG_NOT_FOUND. */
  visible(principal: CredentialPrincipal, def: FlagDefinition): boolean {
    const inProjects = principal.projects.includes('*') || principal.projects.includes(def.project);
    return inProjects && (!def.secret || principal.class === 'SECRET');
  }

  resolve(principal: CredentialPrincipal, names: readonly string[], context: EvaluationContext, mode: ResolveMode): ResolveResult {
    if (names.length > MAX_NAMED_FLAGS) throw invalidArgument([{ field: 'flags', description: `at most ${MAX_NAMED_FLAGS} flags per request` }]);
    const environmentsApply = environmentsApplyFor(principal.environments);
    const options = OPTIONS[mode];
    const resolveId = randomUUID();
    if (names.length === 0) {
      const all = new ResolveAll(principal, context, mode, environmentsApply);
      all.take(this.catalog.flags(), 0, Infinity);
      return all.result(this.tokens, resolveId);
    }
    const resolved = names.map((name): ResolvedFlag => {
      const id = name.startsWith('flags/') ? name.slice('flags/'.length) : undefined;
      const compiled = id === undefined ? undefined : this.catalog.flag(id);
      if (!compiled || !this.visible(principal, compiled.definition)) {
        return { flag: name, variant: undefined, value: undefined, reason: 'FLAG_NOT_FOUND', errorMessage: id === undefined ? 'flag names look like flags/<id>' : undefined };
      }
      return servedOf(compiled, resolveFlag(compiled, context, environmentsApply, options)).resolved;
    });
    const token: ResolveTokenContent = { resolveId, credential: principal.name, variants: variantsOf(resolved) };
    return { resolved, resolveId, resolveToken: this.tokens.encode(token), token };
  }

  /**
   * `resolve` for callers that can wait (the RPC handlers): a resolve-all over more than
   * SLICE_FLAGS flags is taken in slices with a turn of the event loop between them, so other
   * calls (and a flag change) are served meanwhile instead of queueing behind it. The slices walk
   * one snapshot of the catalog (its array is replaced on a change, never mutated), so the answer
   * is the catalog as it was when the call began, as `resolve` would have given. Anything smaller
   * is answered at once, without a promise.
   */
  resolveYielding(principal: CredentialPrincipal, names: readonly string[], context: EvaluationContext, mode: ResolveMode): ResolveResult | Promise<ResolveResult> {
    const flags = this.catalog.flags();
    if (names.length > 0 || flags.length <= SLICE_FLAGS) return this.resolve(principal, names, context, mode);
    return this.resolveAllInSlices(flags, principal, context, mode);
  }

  private async resolveAllInSlices(flags: readonly CompiledFlag[], principal: CredentialPrincipal, context: EvaluationContext, mode: ResolveMode): Promise<ResolveResult> {
    const resolveId = randomUUID();
    const all = new ResolveAll(principal, context, mode, environmentsApplyFor(principal.environments));
    for (let from = 0; from < flags.length; from += SLICE_FLAGS) {
      if (from > 0) await new Promise((resolve) => setImmediate(resolve));
      all.take(flags, from, from + SLICE_FLAGS);
    }
    return all.result(this.tokens, resolveId);
  }

  /**
   * `apply: true` on a resolve (ResolveFlags, ResolveConfigs, `/v1/flags:resolve`): records an
   * exposure for every flag the resolve served, the same rows ApplyFlags with its token would
   * record, so applying the token afterwards adds nothing. Resolves to how many were new.
   */
  applyResolved(result: ResolveResult): Promise<number> {
    const receiveTime = this.now();
    return this.record(
      result.token,
      Object.keys(result.token.variants).map((id) => ({ id, applyTime: receiveTime })),
      receiveTime,
    );
  }

  /**
   * ApplyFlags: records that resolved values were used (exposure), for flags the token says this
   * credential resolved. The token must verify with this installation's key (INVALID_RESOLVE_TOKEN)
   * and be the caller's (RESOLVE_TOKEN_MISMATCH). Idempotent: one exposure per resolve and flag,
   * the first apply's time kept; applying again (or after `apply: true`) succeeds and records nothing
   * new. Resolves to how many exposures were new.
   */
  async apply(principal: CredentialPrincipal, resolveToken: string, flags: readonly { flag: string; applyTime: Date | undefined }[]): Promise<number> {
    const token = this.tokens.decode(resolveToken);
    if (token.credential !== principal.name) {
      throw new DomainError('invalid_argument', 'RESOLVE_TOKEN_MISMATCH', 'resolve_token was issued to another credential', {
        fieldViolations: [{ field: 'resolve_token', description: 'issued to another credential' }],
      });
    }
    const violations: FieldViolation[] = [];
    if (flags.length === 0) violations.push({ field: 'flags', description: 'name at least one applied flag' });
    if (flags.length > MAX_APPLIES) violations.push({ field: 'flags', description: `at most ${MAX_APPLIES} per request` });
    const receiveTime = this.now();
    // A flag named twice in one request is one exposure: the first mention (and its apply time) counts.
    const unique = new Map<string, Date>();
    flags.forEach((f, i) => {
      const id = f.flag.startsWith('flags/') ? f.flag.slice('flags/'.length) : f.flag;
      if (!Object.hasOwn(token.variants, id)) violations.push({ field: `flags[${i}].flag`, description: `${f.flag} was not resolved with this token` });
      else if (!unique.has(id)) unique.set(id, f.applyTime ?? receiveTime);
    });
    if (violations.length > 0) throw invalidArgument(violations);
    return this.record(
      token,
      [...unique].map(([id, applyTime]) => ({ id, applyTime })),
      receiveTime,
    );
  }

  /** The one place exposures are written: one row per resolve and flag (the store ignores repeats). */
  private record(token: ResolveTokenContent, flags: readonly { id: string; applyTime: Date }[], receiveTime: Date): Promise<number> {
    if (flags.length === 0) return Promise.resolve(0);
    return this.applies.insert(
      flags.map((f) => ({
        id: this.applyIds.next(receiveTime),
        resolveId: token.resolveId,
        flag: `flags/${f.id}`,
        variant: token.variants[f.id] ?? null,
        credential: token.credential,
        applyTime: f.applyTime,
        receiveTime,
      })),
    );
  }

  /** Definitions for SDKs that evaluate locally: the credential's flags, rules already filtered to its environments. */
  definitions(principal: CredentialPrincipal): FlagDefinition[] {
    return this.catalog
      .flags()
      .filter((f) => this.visible(principal, f.definition))
      .map((f) => ({
        ...f.definition,
        rules: f.definition.rules.filter((r) => ruleAppliesToEnvironments(r.environments, principal.environments)),
      }));
  }
}

/** SPEC §4 for one credential's environments, as the evaluation module asks it. */
function environmentsApplyFor(credentialEnvironments: readonly string[]): EnvironmentsApply {
  return (ruleEnvironments) => ruleAppliesToEnvironments(ruleEnvironments, credentialEnvironments);
}

const OPTIONS: Record<ResolveMode, ResolveOptions> = {
  flags: Object.freeze({ expectKind: 'flag' }),
  configs: Object.freeze({ expectKind: 'config' }),
  all: Object.freeze({}),
};

/** Flags a resolve-all takes between two turns of the event loop (resolveYielding): about 2-5 ms of work. */
const SLICE_FLAGS = 1000;

/**
 * One resolve-all, taken in one pass or in slices: one indexed loop, no intermediate arrays; every
 * answer comes from the compiled flag's own (SERVED_ANSWERS below), and so does its part of the token.
 */
class ResolveAll {
  private readonly resolved: ResolvedFlag[] = [];
  private readonly tokenEntries: string[] = [];
  private readonly everyProject: boolean;
  private readonly seesSecret: boolean;
  private readonly options: ResolveOptions;

  constructor(
    private readonly principal: CredentialPrincipal,
    private readonly context: EvaluationContext,
    private readonly mode: ResolveMode,
    private readonly environmentsApply: EnvironmentsApply,
  ) {
    this.everyProject = principal.projects.includes('*');
    this.seesSecret = principal.class === 'SECRET';
    this.options = OPTIONS[mode];
  }

  /** Resolves flags[from, to) that the credential may see and the mode serves. */
  take(flags: readonly CompiledFlag[], from: number, to: number): void {
    const end = Math.min(to, flags.length);
    for (let i = from; i < end; i++) {
      const f = flags[i]!;
      if (f.secret && !this.seesSecret) continue;
      if (!this.everyProject && !this.principal.projects.includes(f.project)) continue;
      if (!servesKind(this.mode, f.kind)) continue;
      const served = servedOf(f, resolveFlag(f, this.context, this.environmentsApply, this.options));
      this.resolved.push(served.resolved);
      this.tokenEntries.push(served.tokenEntry);
    }
  }

  result(tokens: ResolveTokens, resolveId: string): ResolveResult {
    const resolveToken = tokens.encodeVariantsJson(resolveId, this.principal.name, `{${this.tokenEntries.join(',')}}`);
    return resultOf(this.resolved, resolveId, resolveToken, this.principal.name);
  }
}

/** Whether listing every flag in this mode includes flags of this kind. */
function servesKind(mode: ResolveMode, kind: string): boolean {
  return mode === 'all' || (kind === 'OBJECT') === (mode === 'configs');
}

/**
 * SERVED_ANSWERS: what the resolver serves for one answer of a compiled flag, made once per answer.
 * The evaluation module hands out the compiled flag's own frozen answers (PRECOMPUTED_ANSWERS in
 * src/flags/compile.ts), so the resolver's `ResolvedFlag` for each, and that flag's entry in a
 * resolve token, are made the first time an answer is served and reused until the flag is
 * compiled again (its answers are then new objects; the old entries go with them). Entries are
 * frozen and shared between responses: the encoders (src/rpc/resolve-response-encoding.ts) key
 * their own caches by them in turn.
 */
interface Served {
  readonly resolved: ResolvedFlag;
  /** `"<flag id>":"<variant>"` (or `null`): this flag's member of the token's `v` object. */
  readonly tokenEntry: string;
}
const servedAnswers = new WeakMap<Resolution, Served>();

function servedOf(flag: CompiledFlag, r: Resolution): Served {
  let served = servedAnswers.get(r);
  if (served === undefined) {
    const resolved: ResolvedFlag = Object.freeze({ flag: flag.name, variant: r.variant, value: r.value, reason: r.reason, errorMessage: r.errorMessage, rule: r.rule });
    served = { resolved, tokenEntry: `${JSON.stringify(flag.id)}:${JSON.stringify(r.variant ?? null)}` };
    servedAnswers.set(r, served);
  }
  return served;
}

/** The token's flag id → variant map: every flag served (all but FLAG_NOT_FOUND). */
function variantsOf(resolved: readonly ResolvedFlag[]): Record<string, string | null> {
  const variants: Record<string, string | null> = {};
  for (const r of resolved) if (r.reason !== 'FLAG_NOT_FOUND') variants[r.flag.slice('flags/'.length)] = r.variant ?? null;
  return variants;
}

/** A resolve-all result: the token's content is only built if asked for (`apply: true`). */
function resultOf(resolved: ResolvedFlag[], resolveId: string, resolveToken: string, credential: string): ResolveResult {
  let token: ResolveTokenContent | undefined;
  return {
    resolved,
    resolveId,
    resolveToken,
    get token() {
      return (token ??= { resolveId, credential, variants: variantsOf(resolved) });
    },
  };
}
