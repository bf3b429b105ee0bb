/**
 * The in-memory form of a flag, built once when the flag changes and shared by every request:
 * disabled rules dropped, attribute paths split, regexes compiled, semantic versions parsed, IN lists
 * turned into sets, variants in a map, every request-independent answer built (PRECOMPUTED_ANSWERS).
 * Resolution then does no parsing and, outside rare errors, no allocation at all.
 *
 * `compileFlag` never throws. A definition that cannot be compiled (which validation prevents, but a
 * stored flag could predate a stricter rule) yields a compiled flag with `compileError` set: it
 * resolves with reason ERROR and that message, and every other flag keeps working. Callers that
 * load flags should also report `compileError` to operators.
 *
 * FROZEN_ARRAYS: the compiled lists (rules, conditions, attribute paths, allocations) are frozen so
 * that no request can change what the next one sees. On Node 20, `for…of` over a frozen array is
 * not optimised: every step allocates an iterator result and the loop runs several times slower
 * than over a plain array. Code that walks these lists per request uses indexed loops instead.
 *
 * PRECOMPUTED_ANSWERS: every answer a flag can give that does not depend on the request (each
 * allocation's MATCH, the DEFAULT, NO_RULE_MATCH, FLAG_ARCHIVED, a compile ERROR, a rule's
 * TARGETING_KEY_ERROR, the TYPE_MISMATCH of resolving a config as a flag and back) is built here
 * once, frozen, and handed out by `resolveFlag` as is. Resolving a flag then allocates nothing, and
 * the layers above can key their own per-answer caches (response entries, encodings) by the
 * answer's identity: an edited flag is compiled again, so its answers are new objects and no cache
 * can serve a stale one.
 */
import { LRUCache } from 'lru-cache';
import { saltPrefixOf } from './bucketing.js';
import { compileCondition, type CompiledCondition } from './conditions.js';
import { parseAttributePath, type AttributePath } from './context.js';
import { frozenCopy } from './json.js';
import { isFlagKind, variantValueProblem } from './kinds.js';
import {
  DEFAULT_RANDOMIZATION_UNIT,
  TOTAL_BUCKETS,
  type Condition,
  type FlagDefinition,
  type FlagKind,
  type FlagState,
  type JsonValue,
  type Rule,
} from './model.js';

/**
 * One answer of a flag (see PRECOMPUTED_ANSWERS): the shape `resolveFlag` returns. Every field is
 * present (undefined where it does not apply), so that all answers share one object shape.
 */
export interface Answer {
  /** Flag id. */
  readonly flag: string;
  /** Set for MATCH and DEFAULT only. */
  readonly variant: string | undefined;
  /** The variant's value (frozen; shared between requests); set with `variant`. */
  readonly value: JsonValue | undefined;
  readonly reason: AnswerReason;
  /** Name of the rule that matched; set for MATCH only. */
  readonly rule: string | undefined;
  /** Why, for TARGETING_KEY_ERROR, TYPE_MISMATCH, ERROR and FLAG_NOT_FOUND. Never holds a secret. */
  readonly errorMessage: string | undefined;
}

/** The reasons of SPEC §6 (evaluate.ts exports the list as RESOLVE_REASONS). */
export type AnswerReason = 'MATCH' | 'DEFAULT' | 'NO_RULE_MATCH' | 'FLAG_ARCHIVED' | 'FLAG_NOT_FOUND' | 'TARGETING_KEY_ERROR' | 'TYPE_MISMATCH' | 'ERROR';

/** An allocation of a compiled rule, with the answer it gives. */
export interface CompiledAllocation {
  readonly variant: string;
  readonly weight: number;
  /** MATCH of this variant by this rule. */
  readonly answer: Answer;
}

export interface CompiledRule {
  readonly name: string;
  /** As defined; tested per request with the caller's SPEC §4 callback. */
  readonly environments: readonly string[];
  /** No environments: the rule applies to every credential (SPEC §4), without asking the callback. */
  readonly everyEnvironment: boolean;
  readonly conditions: readonly CompiledCondition[];
  /** The randomization unit's attribute path (`targeting_key` when the rule names none). */
  readonly unitAttribute: string;
  readonly unitPath: AttributePath;
  /** Allocations with a positive weight, in order (a zero weight takes no bucket). */
  readonly allocations: readonly CompiledAllocation[];
  /**
   * When every one of the 10000 buckets goes to the same variant, that variant: the rule then needs
   * no randomization unit, since any unit would get it (see README: "When the unit is needed").
   */
  readonly everyBucket: string | undefined;
  /** The MATCH answer of `everyBucket`. */
  readonly everyBucketAnswer: Answer | undefined;
  /** TARGETING_KEY_ERROR: the rule splits by a unit the context does not carry. */
  readonly unitMissing: Answer;
  /** Sum of the weights; 0 means the rule takes no unit at all. */
  readonly totalWeight: number;
}

export interface CompiledFlag {
  readonly id: string;
  readonly project: string;
  readonly state: FlagState;
  readonly secret: boolean;
  readonly kind: FlagKind;
  readonly salt: string;
  /** The UTF-8 bytes of `<salt>|`, the constant start of every bucketing key of this flag. */
  readonly saltPrefix: Uint8Array;
  /** `flags/{id}`: the flag's resource name, as resolvers list it. */
  readonly name: string;
  /** The definition it was compiled from (for listings such as ListFlagDefinitions). */
  readonly definition: FlagDefinition;
  /** Variant name → frozen value. */
  readonly variants: ReadonlyMap<string, JsonValue>;
  readonly defaultVariant: string | undefined;
  /** Enabled rules only, in order. */
  readonly rules: readonly CompiledRule[];
  /** Set when the definition could not be compiled; the flag then resolves with reason ERROR. */
  readonly compileError: string | undefined;
  /** The answers that do not depend on the request (see PRECOMPUTED_ANSWERS). */
  readonly answers: FlagAnswers;
}

export interface FlagAnswers {
  /** When no rule decides: DEFAULT with the default variant, or NO_RULE_MATCH. */
  readonly noRuleDecided: Answer;
  readonly archived: Answer;
  /** ERROR with `compileError`, for a flag that did not compile. */
  readonly compileError: Answer | undefined;
  /** TYPE_MISMATCH when resolved as a flag (set for OBJECT flags only). */
  readonly notAFlag: Answer | undefined;
  /** TYPE_MISMATCH when resolved as a config (set for every kind but OBJECT). */
  readonly notAConfig: Answer | undefined;
}

/** Builds a frozen answer with every field present (see `Answer`). */
export function answerOf(flag: string, reason: AnswerReason, fields: Partial<Omit<Answer, 'flag' | 'reason'>> = {}): Answer {
  return Object.freeze({
    flag,
    variant: fields.variant,
    value: fields.value,
    reason,
    rule: fields.rule,
    errorMessage: fields.errorMessage,
  });
}

/** What resolving a flag of `kind` as a flag (any kind but OBJECT) or as a config (OBJECT) is refused with. */
export function kindMismatchMessage(kind: FlagKind, expect: FlagKind | 'flag' | 'config'): string | undefined {
  if (expect === 'flag') return kind === 'OBJECT' ? 'is a remote config (kind OBJECT); resolve it with ResolveConfigs' : undefined;
  if (expect === 'config') return kind === 'OBJECT' ? undefined : `is a flag of kind ${kind}, not a remote config; resolve it with ResolveFlags`;
  return kind === expect ? undefined : `is of kind ${kind}, not ${expect}`;
}

function mismatchAnswer(id: string, kind: FlagKind, expect: 'flag' | 'config'): Answer | undefined {
  const message = kindMismatchMessage(kind, expect);
  return message === undefined ? undefined : answerOf(id, 'TYPE_MISMATCH', { errorMessage: `flag ${JSON.stringify(id)} ${message}` });
}

/** Compiles a flag definition. Never throws: see `compileError`. */
export function compileFlag(def: FlagDefinition): CompiledFlag {
  const id = String(def?.id ?? '');
  const salt = String(def?.salt ?? '');
  const base = {
    id,
    project: String(def?.project ?? ''),
    state: def?.state === 'ARCHIVED' ? ('ARCHIVED' as const) : ('ACTIVE' as const),
    secret: def?.secret === true,
    kind: def?.kind,
    salt,
    saltPrefix: saltPrefixOf(salt),
    name: `flags/${id}`,
    definition: def,
  };
  const archived = answerOf(id, 'FLAG_ARCHIVED');
  try {
    if (!isFlagKind(def.kind)) throw new Error(`unknown kind ${JSON.stringify(def.kind)}`);
    const kind = def.kind;
    const variants = new Map<string, JsonValue>();
    for (const v of def.variants) {
      if (variants.has(v.name)) throw new Error(`variant ${JSON.stringify(v.name)} is defined twice`);
      const problem = variantValueProblem(kind, v.value);
      if (problem !== undefined) throw new Error(`variant ${JSON.stringify(v.name)}: ${problem}`);
      variants.set(v.name, frozenCopy(v.value));
    }
    const defaultVariant = def.defaultVariant ? def.defaultVariant : undefined;
    if (defaultVariant !== undefined && !variants.has(defaultVariant)) {
      throw new Error(`default variant ${JSON.stringify(defaultVariant)} is not a variant of the flag`);
    }
    const rules: CompiledRule[] = [];
    def.rules.forEach((rule, i) => {
      if (rule.enabled !== true) return;
      try {
        rules.push(compileRule(id, rule, variants));
      } catch (err) {
        throw new Error(`rules[${i}] (${JSON.stringify(rule.name)}): ${(err as Error).message}`);
      }
    });
    const answers: FlagAnswers = Object.freeze({
      noRuleDecided:
        defaultVariant === undefined
          ? answerOf(id, 'NO_RULE_MATCH')
          : answerOf(id, 'DEFAULT', { variant: defaultVariant, value: variants.get(defaultVariant) }),
      archived,
      compileError: undefined,
      notAFlag: mismatchAnswer(id, kind, 'flag'),
      notAConfig: mismatchAnswer(id, kind, 'config'),
    });
    return compiledFlagOf(base, kind, variants, defaultVariant, Object.freeze(rules), undefined, answers);
  } catch (err) {
    const kind = isFlagKind(base.kind) ? base.kind : 'BOOLEAN';
    const compileError = `flag ${JSON.stringify(id)} could not be compiled: ${err instanceof Error ? err.message : String(err)}`;
    const failed = answerOf(id, 'ERROR', { errorMessage: compileError });
    const answers: FlagAnswers = Object.freeze({
      noRuleDecided: failed,
      archived,
      compileError: failed,
      notAFlag: mismatchAnswer(id, kind, 'flag'),
      notAConfig: mismatchAnswer(id, kind, 'config'),
    });
    return compiledFlagOf(base, kind, new Map<string, JsonValue>(), undefined, Object.freeze([]), compileError, answers);
  }
}

/**
 * PACKED_SHAPE: every compiled flag is built by this one object literal, every field in one order.
 * A frozen `{ ...base, more }` (how this was written before) puts the fields after the spread out
 * of the object, and on Node 20 reading any field of such a frozen object takes a slow path: walking
 * the rules of 2 000 flags cost about 440 ns per flag that way and 40 ns with this literal
 * (bench/resolve-all-profile.ts; .tmp notes of issue 14).
 */
function compiledFlagOf(
  base: { id: string; project: string; state: FlagState; secret: boolean; salt: string; saltPrefix: Uint8Array; name: string; definition: FlagDefinition },
  kind: FlagKind,
  variants: ReadonlyMap<string, JsonValue>,
  defaultVariant: string | undefined,
  rules: readonly CompiledRule[],
  compileError: string | undefined,
  answers: FlagAnswers,
): CompiledFlag {
  return Object.freeze({
    id: base.id,
    project: base.project,
    state: base.state,
    secret: base.secret,
    kind,
    salt: base.salt,
    saltPrefix: base.saltPrefix,
    name: base.name,
    definition: base.definition,
    variants,
    defaultVariant,
    rules,
    compileError,
    answers,
  });
}

/**
 * SHARED_CONDITIONS: one compiled condition per distinct (attribute, operator, values), shared by
 * every rule of every flag that states it. Catalogs repeat their conditions (the same countries,
 * plans, segments on many flags), and resolving every flag is bound by memory reads more than by
 * work: one shared predicate and path stay in the CPU's caches where thousands of copies spread over
 * the heap do not. Compiled conditions are immutable (frozen, predicates over their own copies of
 * the operands), so sharing them is safe; the cache is bounded, and a condition evicted from it is
 * simply compiled afresh by the next flag that needs it.
 */
const sharedConditions = new LRUCache<string, CompiledCondition>({ max: 10_000 });

function sharedCondition(c: Condition): CompiledCondition {
  // JSON keeps operand types apart (1 and "1"); -0 and 0 share a key, and every operator treats them alike.
  let key: string;
  try {
    key = JSON.stringify([c.attribute, c.operator, c.values]);
  } catch {
    return compileCondition(c); // not JSON (a definition that bypassed validation): compile it alone, it will report why
  }
  let compiled = sharedConditions.get(key);
  if (compiled === undefined) sharedConditions.set(key, (compiled = Object.freeze(compileCondition(c))));
  return compiled;
}

/** A rule's environment list, shared like conditions (SHARED_CONDITIONS): most rules name one of a few lists. */
const sharedEnvironmentLists = new LRUCache<string, readonly string[]>({ max: 1_000 });

function sharedEnvironments(environments: readonly string[]): readonly string[] {
  const key = JSON.stringify(environments);
  let shared = sharedEnvironmentLists.get(key);
  if (shared === undefined) sharedEnvironmentLists.set(key, (shared = Object.freeze([...environments])));
  return shared;
}

function compileRule(flagId: string, rule: Rule, variants: ReadonlyMap<string, JsonValue>): CompiledRule {
  const conditions = rule.conditions.map((c, j) => {
    try {
      return sharedCondition(c);
    } catch (err) {
      throw new Error(`conditions[${j}].${(err as Error).message}`);
    }
  });
  const unitAttribute = rule.randomizationUnit ? rule.randomizationUnit : DEFAULT_RANDOMIZATION_UNIT;
  let unitPath: AttributePath;
  try {
    unitPath = parseAttributePath(unitAttribute);
  } catch (err) {
    throw new Error(`randomization_unit: ${(err as Error).message}`);
  }
  const match = (variant: string) => answerOf(flagId, 'MATCH', { variant, value: variants.get(variant), rule: rule.name });
  const allocations: CompiledAllocation[] = [];
  let totalWeight = 0;
  rule.allocations.forEach((a, k) => {
    if (!variants.has(a.variant)) throw new Error(`allocations[${k}]: ${JSON.stringify(a.variant)} is not a variant of the flag`);
    if (typeof a.weight !== 'number' || !Number.isFinite(a.weight) || a.weight < 0) {
      throw new Error(`allocations[${k}]: weight must be a number of basis points from 0 to 10000`);
    }
    if (a.weight === 0) return;
    allocations.push(Object.freeze({ variant: a.variant, weight: a.weight, answer: match(a.variant) }));
    totalWeight += a.weight;
  });
  const only = allocations[0]?.variant;
  const everyBucket = totalWeight >= TOTAL_BUCKETS && allocations.every((a) => a.variant === only) ? only : undefined;
  const environments = sharedEnvironments(rule.environments);
  return Object.freeze({
    name: rule.name,
    environments,
    everyEnvironment: environments.length === 0,
    conditions: Object.freeze(conditions),
    unitAttribute,
    unitPath,
    allocations: Object.freeze(allocations),
    everyBucket,
    everyBucketAnswer: everyBucket === undefined ? undefined : allocations[0]!.answer,
    unitMissing: answerOf(flagId, 'TARGETING_KEY_ERROR', {
      errorMessage:
        `rule ${JSON.stringify(rule.name)} splits units by ${JSON.stringify(unitAttribute)}, ` +
        'which the evaluation context must carry as a non-empty string or a number',
    }),
    totalWeight,
  });
}
