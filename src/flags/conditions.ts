/**
 * Conditions: one test of one context attribute. Each is checked once (`conditionProblems`, shared
 * by validation and compilation so the two never disagree) and compiled once into a predicate
 * (`compileCondition`) that runs per request.
 *
 * Rules that hold for every operator (see ./README.md):
 * - No coercion. A string is never a number (`"42"` is not 42), a number never a string, a boolean
 *   never either. A comparison between mismatched types is simply false, never an error.
 * - "Missing" means the path does not reach a value; `null` is present but matches nothing except
 *   NOT_EXISTS, NOT_EQUALS and NOT_IN.
 * - The negated operators NOT_EQUALS and NOT_IN are exactly the negation of EQUALS and IN, so they
 *   hold for a missing attribute (a user with no `country` is "not in [SE, NO]"). To require the
 *   attribute as well, add an EXISTS condition: conditions are AND-ed.
 * - Predicates never throw on any JSON context.
 */
import semver, { type SemVer } from 'semver';
import { attributePathProblem, parseAttributePath, readAttribute, type AttributePath } from './context.js';
import { isScalar, type Scalar } from './json.js';
import { OPERATORS, type Condition, type JsonValue, type Operator } from './model.js';
import { compileMatchRegex, regexMatches, regexPatternProblem } from './regex.js';

/** Values one IN/NOT_IN condition may list. */
export const MAX_CONDITION_VALUES = 1000;

type Arity = 'none' | 'one' | 'many';
/** What each operand must be: `scalar` = string, finite number or boolean. */
type Operand = 'scalar' | 'string' | 'number' | 'semver' | 'regex';

const SPECS: Record<Operator, { arity: Arity; operand: Operand }> = {
  EQUALS: { arity: 'one', operand: 'scalar' },
  NOT_EQUALS: { arity: 'one', operand: 'scalar' },
  IN: { arity: 'many', operand: 'scalar' },
  NOT_IN: { arity: 'many', operand: 'scalar' },
  CONTAINS: { arity: 'one', operand: 'scalar' },
  STARTS_WITH: { arity: 'one', operand: 'string' },
  ENDS_WITH: { arity: 'one', operand: 'string' },
  MATCHES: { arity: 'one', operand: 'regex' },
  LESS_THAN: { arity: 'one', operand: 'number' },
  LESS_THAN_OR_EQUAL: { arity: 'one', operand: 'number' },
  GREATER_THAN: { arity: 'one', operand: 'number' },
  GREATER_THAN_OR_EQUAL: { arity: 'one', operand: 'number' },
  SEMVER_EQUALS: { arity: 'one', operand: 'semver' },
  SEMVER_LESS_THAN: { arity: 'one', operand: 'semver' },
  SEMVER_LESS_THAN_OR_EQUAL: { arity: 'one', operand: 'semver' },
  SEMVER_GREATER_THAN: { arity: 'one', operand: 'semver' },
  SEMVER_GREATER_THAN_OR_EQUAL: { arity: 'one', operand: 'semver' },
  EXISTS: { arity: 'none', operand: 'scalar' },
  NOT_EXISTS: { arity: 'none', operand: 'scalar' },
};

const OPERATOR_SET: ReadonlySet<string> = new Set(OPERATORS);

export function isOperator(value: unknown): value is Operator {
  return typeof value === 'string' && OPERATOR_SET.has(value);
}

/** A problem with one condition; `field` is relative to the condition (`attribute`, `values[0]` …). */
export interface ConditionProblem {
  field: 'attribute' | 'operator' | 'values' | `values[${number}]`;
  description: string;
}

/**
 * A version as the SEMVER_* operators read it: what `semver.parse` accepts in strict mode
 * (`1.2.3`, `1.2.3-beta.1+build`, also a leading `v` and surrounding spaces; not `1.2`).
 */
export function parseVersion(value: unknown): SemVer | null {
  return typeof value === 'string' ? semver.parse(value) : null;
}

/** Every problem with a condition (empty when it compiles). */
export function conditionProblems(condition: Condition): ConditionProblem[] {
  const problems: ConditionProblem[] = [];
  const pathProblem = typeof condition.attribute === 'string' ? attributePathProblem(condition.attribute) : 'must be a string';
  if (pathProblem !== undefined) problems.push({ field: 'attribute', description: pathProblem });

  if (!isOperator(condition.operator)) {
    problems.push({ field: 'operator', description: `unknown operator ${JSON.stringify(condition.operator)}; expected one of ${OPERATORS.join(', ')}` });
    return problems;
  }
  const op = condition.operator;
  const { arity, operand } = SPECS[op];
  const values = Array.isArray(condition.values) ? condition.values : [];
  const n = values.length;
  if (arity === 'none' && n !== 0) problems.push({ field: 'values', description: `${op} takes no values (got ${n})` });
  if (arity === 'one' && n !== 1) problems.push({ field: 'values', description: `${op} needs exactly one value (got ${n})` });
  if (arity === 'many' && n === 0) problems.push({ field: 'values', description: `${op} needs at least one value` });
  if (arity === 'many' && n > MAX_CONDITION_VALUES) {
    problems.push({ field: 'values', description: `${op} takes at most ${MAX_CONDITION_VALUES} values (got ${n})` });
    return problems;
  }
  if (arity === 'none') return problems;
  values.forEach((value, i) => {
    const description = operandProblem(op, operand, value);
    if (description !== undefined) problems.push({ field: `values[${i}]`, description });
  });
  return problems;
}

function operandProblem(op: Operator, operand: Operand, value: JsonValue): string | undefined {
  switch (operand) {
    case 'scalar':
      return isScalar(value) ? undefined : `${op} compares with a string, number or boolean (use EXISTS / NOT_EXISTS for null)`;
    case 'string':
      return typeof value === 'string' ? undefined : `${op} needs a string value`;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : `${op} compares numbers: the value must be a number`;
    case 'semver':
      return parseVersion(value) !== null ? undefined : `${op} needs a semantic version such as 1.2.3 or 2.0.0-beta.1`;
    case 'regex':
      return typeof value === 'string' ? regexPatternProblem(value) : `${op} needs a regular expression string`;
  }
}

/** A condition ready to run: the parsed path and a predicate over the value found there. */
export interface CompiledCondition {
  readonly path: AttributePath;
  /** Gets `undefined` for a missing attribute; never throws on JSON input. */
  readonly test: (value: JsonValue | undefined) => boolean;
}

/** Compiles a condition; throws (with the first problem) when it is not valid. */
export function compileCondition(condition: Condition): CompiledCondition {
  const problems = conditionProblems(condition);
  if (problems.length > 0) {
    throw new Error(problems.map((p) => `${p.field}: ${p.description}`).join('; '));
  }
  return { path: parseAttributePath(condition.attribute), test: predicate(condition.operator, condition.values) };
}

/** Whether a compiled condition holds for a context. */
export function conditionHolds(condition: CompiledCondition, context: unknown): boolean {
  return condition.test(readAttribute(context, condition.path));
}

type Predicate = (a: JsonValue | undefined) => boolean;

function predicate(op: Operator, values: readonly JsonValue[]): Predicate {
  // Validated above: `v` is the single operand of the one-value operators.
  const v = values[0];
  switch (op) {
    case 'EXISTS':
      return (a) => a !== undefined && a !== null;
    case 'NOT_EXISTS':
      return (a) => a === undefined || a === null;
    case 'EQUALS':
      return (a) => a === v;
    case 'NOT_EQUALS':
      return (a) => a !== v;
    case 'IN': {
      // A Set compares with SameValueZero: 1 and "1" stay distinct, as `===` keeps them.
      const set = new Set<Scalar>(values as Scalar[]);
      return (a) => isScalar(a) && set.has(a);
    }
    case 'NOT_IN': {
      const set = new Set<Scalar>(values as Scalar[]);
      return (a) => !(isScalar(a) && set.has(a));
    }
    case 'CONTAINS':
      // A substring of a string attribute, or an element (strictly equal) of a list attribute.
      return (a) => {
        if (typeof a === 'string') return typeof v === 'string' && a.includes(v);
        if (Array.isArray(a)) return a.some((e) => e === v);
        return false;
      };
    case 'STARTS_WITH': {
      const s = v as string;
      return (a) => typeof a === 'string' && a.startsWith(s);
    }
    case 'ENDS_WITH': {
      const s = v as string;
      return (a) => typeof a === 'string' && a.endsWith(s);
    }
    case 'MATCHES': {
      const re = compileMatchRegex(v as string);
      return (a) => typeof a === 'string' && regexMatches(re, a);
    }
    case 'LESS_THAN': {
      const n = v as number;
      return (a) => typeof a === 'number' && a < n;
    }
    case 'LESS_THAN_OR_EQUAL': {
      const n = v as number;
      return (a) => typeof a === 'number' && a <= n;
    }
    case 'GREATER_THAN': {
      const n = v as number;
      return (a) => typeof a === 'number' && a > n;
    }
    case 'GREATER_THAN_OR_EQUAL': {
      const n = v as number;
      return (a) => typeof a === 'number' && a >= n;
    }
    case 'SEMVER_EQUALS':
      return semverPredicate(v, (c) => c === 0);
    case 'SEMVER_LESS_THAN':
      return semverPredicate(v, (c) => c < 0);
    case 'SEMVER_LESS_THAN_OR_EQUAL':
      return semverPredicate(v, (c) => c <= 0);
    case 'SEMVER_GREATER_THAN':
      return semverPredicate(v, (c) => c > 0);
    case 'SEMVER_GREATER_THAN_OR_EQUAL':
      return semverPredicate(v, (c) => c >= 0);
  }
}

/**
 * Compares by semver precedence: pre-releases sort before their release (`1.2.3-beta` < `1.2.3`),
 * build metadata is ignored (`1.2.3+a` equals `1.2.3+b`). An attribute that is not a version is a
 * mismatch: false.
 */
function semverPredicate(operand: JsonValue | undefined, holds: (comparison: number) => boolean): Predicate {
  const expected = parseVersion(operand)!;
  return (a) => {
    const actual = parseVersion(a);
    return actual !== null && holds(actual.compare(expected));
  };
}
