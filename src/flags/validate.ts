/**
 * Validation of a flag definition before it is stored: every problem at once, each with the path of
 * the offending request field in proto (snake_case) spelling, e.g.
 * `flag.rules[1].allocations[0].variant`, so an admin fixes everything in one round trip.
 *
 * Everything stored is bounded: at most 100 variants, 100 rules, 100 conditions and 100 allocations
 * per rule, 1000 values per IN list. Past a bound only the bound is reported and the first elements
 * are checked, so a huge request cannot make a huge answer.
 *
 * Condition checks come from conditions.ts and value checks from kinds.ts, the same functions that
 * compile.ts uses, so whatever validates also compiles.
 */
import { invalidArgument, type DomainError, type FieldViolation } from '../domain/errors.js';
import { conditionProblems } from './conditions.js';
import { attributePathProblem } from './context.js';
import { isFlagKind, variantValueProblem } from './kinds.js';
import { FLAG_KINDS, FLAG_STATES, TOTAL_BUCKETS, type FlagDefinition } from './model.js';

export const MAX_VARIANTS = 100;
export const MAX_RULES = 100;
export const MAX_CONDITIONS_PER_RULE = 100;
export const MAX_ALLOCATIONS_PER_RULE = 100;
export const MAX_RULE_NAME_LENGTH = 128;
/** Variant names: permissive (`on`, `control`, `Blue_2`, `v1.2`) but bounded. */
export const VARIANT_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,63}$/;

/**
 * Every problem with `def`; empty when it is valid. `knownEnvironments` holds the ids of the
 * environments that exist (a rule may only name those). `prefix` is the request field holding the
 * flag (`flag` in CreateFlag and UpdateFlag).
 */
export function validateFlagDefinition(
  def: FlagDefinition,
  knownEnvironments: ReadonlySet<string>,
  prefix = 'flag',
): FieldViolation[] {
  const out: FieldViolation[] = [];
  const add = (field: string, description: string): void => {
    out.push({ field: `${prefix}${field}`, description });
  };

  const kindOk = isFlagKind(def.kind);
  if (!kindOk) add('.kind', `must be one of ${FLAG_KINDS.join(', ')}`);
  if (!(FLAG_STATES as readonly string[]).includes(def.state)) add('.state', `must be one of ${FLAG_STATES.join(', ')}`);

  // Variants: names valid and unique, values of the flag's kind.
  const variantNames = new Set<string>();
  if (def.variants.length > MAX_VARIANTS) add('.variants', `at most ${MAX_VARIANTS} variants (got ${def.variants.length})`);
  def.variants.slice(0, MAX_VARIANTS).forEach((v, i) => {
    const at = `.variants[${i}]`;
    if (typeof v.name !== 'string' || !VARIANT_NAME_PATTERN.test(v.name)) {
      add(`${at}.name`, 'must be 1 to 63 letters, digits, "_", "." or "-"');
    } else if (variantNames.has(v.name)) {
      add(`${at}.name`, `duplicate variant name ${JSON.stringify(v.name)}`);
    }
    if (typeof v.name === 'string') variantNames.add(v.name);
    if (kindOk) {
      const problem = variantValueProblem(def.kind, v.value);
      if (problem !== undefined) add(`${at}.value`, problem);
    }
  });

  if (def.defaultVariant && !variantNames.has(def.defaultVariant)) {
    add('.default_variant', `${JSON.stringify(def.defaultVariant)} is not a variant of this flag`);
  }

  // Rules.
  const ruleNames = new Map<string, number>();
  if (def.rules.length > MAX_RULES) add('.rules', `at most ${MAX_RULES} rules (got ${def.rules.length})`);
  def.rules.slice(0, MAX_RULES).forEach((rule, i) => {
    const at = `.rules[${i}]`;

    if (typeof rule.name !== 'string' || rule.name.trim() === '') {
      add(`${at}.name`, 'must not be empty');
    } else if (rule.name.length > MAX_RULE_NAME_LENGTH) {
      add(`${at}.name`, `must be at most ${MAX_RULE_NAME_LENGTH} characters`);
    } else if (ruleNames.has(rule.name)) {
      add(`${at}.name`, `duplicate rule name ${JSON.stringify(rule.name)} (also rules[${ruleNames.get(rule.name)}])`);
    } else {
      ruleNames.set(rule.name, i);
    }

    rule.environments.forEach((env, j) => {
      if (!knownEnvironments.has(env)) add(`${at}.environments[${j}]`, `environment ${JSON.stringify(env)} does not exist`);
    });

    if (rule.conditions.length > MAX_CONDITIONS_PER_RULE) {
      add(`${at}.conditions`, `at most ${MAX_CONDITIONS_PER_RULE} conditions per rule (got ${rule.conditions.length})`);
    }
    rule.conditions.slice(0, MAX_CONDITIONS_PER_RULE).forEach((condition, j) => {
      for (const p of conditionProblems(condition)) add(`${at}.conditions[${j}].${p.field}`, p.description);
    });

    // '' is the proto default and means `targeting_key`.
    if (rule.randomizationUnit !== '') {
      const problem = typeof rule.randomizationUnit === 'string' ? attributePathProblem(rule.randomizationUnit) : 'must be a string';
      if (problem !== undefined) add(`${at}.randomization_unit`, problem);
    }

    if (rule.allocations.length > MAX_ALLOCATIONS_PER_RULE) {
      add(`${at}.allocations`, `at most ${MAX_ALLOCATIONS_PER_RULE} allocations per rule (got ${rule.allocations.length})`);
    }
    let sum = 0;
    rule.allocations.slice(0, MAX_ALLOCATIONS_PER_RULE).forEach((a, k) => {
      if (!variantNames.has(a.variant)) add(`${at}.allocations[${k}].variant`, `${JSON.stringify(a.variant)} is not a variant of this flag`);
      if (!Number.isInteger(a.weight) || a.weight < 0 || a.weight > TOTAL_BUCKETS) {
        add(`${at}.allocations[${k}].weight`, `must be a whole number of basis points from 0 to ${TOTAL_BUCKETS}`);
      } else {
        sum += a.weight;
      }
    });
    if (sum > TOTAL_BUCKETS) add(`${at}.allocations`, `weights sum to ${sum} basis points; at most ${TOTAL_BUCKETS} (100%)`);
    // Weights of several variants that sum to exactly 100 are percentages written as basis points:
    // 50 + 50 would serve 1 % of units and send 99 % on to the next rule. Say so rather than store it.
    if (sum === 100 && rule.allocations.length > 1) {
      add(
        `${at}.allocations`,
        `weights are basis points (10000 = 100%): these sum to 100, which is 1% of units; for percentages multiply by 100 (e.g. 5000 and 5000 for 50/50)`,
      );
    }
  });

  return out;
}

/** `validateFlagDefinition` as an INVALID_ARGUMENT DomainError, or undefined when valid. */
export function flagDefinitionError(
  def: FlagDefinition,
  knownEnvironments: ReadonlySet<string>,
  prefix = 'flag',
): DomainError | undefined {
  const violations = validateFlagDefinition(def, knownEnvironments, prefix);
  return violations.length === 0 ? undefined : invalidArgument(violations);
}
