/**
 * The in-memory form of a flag, built once when the flag changes and shared by every request:
 * disabled rules dropped, attribute paths split, regexes compiled, semantic versions parsed, IN lists
 * turned into sets, variants in a map. Resolution then does no parsing and no allocation beyond its
 * result.
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
 */
import { compileCondition, type CompiledCondition } from './conditions.js';
import { parseAttributePath, type AttributePath } from './context.js';
import { frozenCopy } from './json.js';
import { isFlagKind, variantValueProblem } from './kinds.js';
import {
  DEFAULT_RANDOMIZATION_UNIT,
  TOTAL_BUCKETS,
  type Allocation,
  type FlagDefinition,
  type FlagKind,
  type FlagState,
  type JsonValue,
  type Rule,
} from './model.js';

export interface CompiledRule {
  readonly name: string;
  /** As defined; tested per request with the caller's SPEC §4 callback. */
  readonly environments: readonly string[];
  readonly conditions: readonly CompiledCondition[];
  /** The randomization unit's attribute path (`targeting_key` when the rule names none). */
  readonly unitAttribute: string;
  readonly unitPath: AttributePath;
  /** Allocations with a positive weight, in order (a zero weight takes no bucket). */
  readonly allocations: readonly Allocation[];
  /**
   * When every one of the 10000 buckets goes to the same variant, that variant: the rule then needs
   * no randomization unit, since any unit would get it (see README: "When the unit is needed").
   */
  readonly everyBucket: string | undefined;
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
  /** The definition it was compiled from (for listings such as ListFlagDefinitions). */
  readonly definition: FlagDefinition;
  /** Variant name → frozen value. */
  readonly variants: ReadonlyMap<string, JsonValue>;
  readonly defaultVariant: string | undefined;
  /** Enabled rules only, in order. */
  readonly rules: readonly CompiledRule[];
  /** Set when the definition could not be compiled; the flag then resolves with reason ERROR. */
  readonly compileError: string | undefined;
}

/** Compiles a flag definition. Never throws: see `compileError`. */
export function compileFlag(def: FlagDefinition): CompiledFlag {
  const base = {
    id: String(def?.id ?? ''),
    project: String(def?.project ?? ''),
    state: def?.state === 'ARCHIVED' ? ('ARCHIVED' as const) : ('ACTIVE' as const),
    secret: def?.secret === true,
    kind: def?.kind,
    salt: String(def?.salt ?? ''),
    definition: def,
  };
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
        rules.push(compileRule(rule, variants));
      } catch (err) {
        throw new Error(`rules[${i}] (${JSON.stringify(rule.name)}): ${(err as Error).message}`);
      }
    });
    return Object.freeze({ ...base, kind, variants, defaultVariant, rules: Object.freeze(rules), compileError: undefined });
  } catch (err) {
    return Object.freeze({
      ...base,
      kind: isFlagKind(base.kind) ? base.kind : 'BOOLEAN',
      variants: new Map<string, JsonValue>(),
      defaultVariant: undefined,
      rules: [],
      compileError: `flag ${JSON.stringify(base.id)} could not be compiled: ${err instanceof Error ? err.message : String(err)}`,
    });
  }
}

function compileRule(rule: Rule, variants: ReadonlyMap<string, JsonValue>): CompiledRule {
  const conditions = rule.conditions.map((c, j) => {
    try {
      return compileCondition(c);
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
  const allocations: Allocation[] = [];
  let totalWeight = 0;
  rule.allocations.forEach((a, k) => {
    if (!variants.has(a.variant)) throw new Error(`allocations[${k}]: ${JSON.stringify(a.variant)} is not a variant of the flag`);
    if (typeof a.weight !== 'number' || !Number.isFinite(a.weight) || a.weight < 0) {
      throw new Error(`allocations[${k}]: weight must be a number of basis points from 0 to 10000`);
    }
    if (a.weight === 0) return;
    allocations.push(Object.freeze({ variant: a.variant, weight: a.weight }));
    totalWeight += a.weight;
  });
  const only = allocations[0]?.variant;
  const everyBucket = totalWeight >= TOTAL_BUCKETS && allocations.every((a) => a.variant === only) ? only : undefined;
  return Object.freeze({
    name: rule.name,
    environments: Object.freeze([...rule.environments]),
    conditions: Object.freeze(conditions),
    unitAttribute,
    unitPath,
    allocations: Object.freeze(allocations),
    everyBucket,
    totalWeight,
  });
}
