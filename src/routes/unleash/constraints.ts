/**
 * latchkey conditions as Unleash strategy constraints (Unleash's `constraintSchema`: `contextName`,
 * `operator`, `values` or `value`, `inverted`, `caseInsensitive`).
 *
 * A condition becomes a small disjunction of constraint conjunctions (a `Dnf`): most operators map
 * to one constraint; SEMVER_LESS_THAN_OR_EQUAL and SEMVER_GREATER_THAN_OR_EQUAL, which Unleash's
 * API lacks, become `SEMVER_LT` or `SEMVER_EQ` (two strategies in the end). A condition on an
 * attribute no Unleash context can carry (see context.ts) is decided here once and for all, by
 * latchkey's own predicate on a missing attribute.
 *
 * | latchkey | Unleash |
 * |---|---|
 * | EQUALS v / NOT_EQUALS v | IN [v] / NOT_IN [v] |
 * | IN / NOT_IN | IN / NOT_IN |
 * | CONTAINS s (string) | STR_CONTAINS [s] |
 * | STARTS_WITH / ENDS_WITH | STR_STARTS_WITH / STR_ENDS_WITH |
 * | LESS_THAN, LESS_THAN_OR_EQUAL, GREATER_THAN, GREATER_THAN_OR_EQUAL | NUM_LT, NUM_LTE, NUM_GT, NUM_GTE |
 * | SEMVER_EQUALS, SEMVER_LESS_THAN, SEMVER_GREATER_THAN | SEMVER_EQ, SEMVER_LT, SEMVER_GT |
 * | SEMVER_LESS_THAN_OR_EQUAL / SEMVER_GREATER_THAN_OR_EQUAL | SEMVER_LT or SEMVER_EQ / SEMVER_GT or SEMVER_EQ |
 * | MATCHES, EXISTS, NOT_EXISTS, CONTAINS of a number or boolean | none: untranslatable |
 *
 * Unleash SDKs compare context values as text (a number property 42 is "42"; NUM_* read
 * `Number(text)`), trim constraint values and drop empty ones. So a string operand that is empty or
 * has surrounding white space is untranslatable (Unleash would compare something else).
 */
import semver from 'semver';
import { compileCondition } from '../../flags/conditions.js';
import type { Condition, JsonValue } from '../../flags/model.js';
import { contextFieldOf } from './context.js';

export type UnleashOperator =
  | 'IN'
  | 'NOT_IN'
  | 'STR_CONTAINS'
  | 'STR_STARTS_WITH'
  | 'STR_ENDS_WITH'
  | 'NUM_LT'
  | 'NUM_LTE'
  | 'NUM_GT'
  | 'NUM_GTE'
  | 'SEMVER_EQ'
  | 'SEMVER_LT'
  | 'SEMVER_GT';

export interface UnleashConstraint {
  contextName: string;
  operator: UnleashOperator;
  /** For IN, NOT_IN and the STR_ operators. */
  values?: string[];
  /** For the NUM_ and SEMVER_ operators. */
  value?: string;
  inverted: boolean;
  caseInsensitive: boolean;
}

/** Constraints that must all hold (one strategy's list). */
export type Clause = readonly UnleashConstraint[];
/** Any of the clauses: `[]` never holds, `[[]]` always does. */
export type Dnf = readonly Clause[];

export const ALWAYS: Dnf = Object.freeze([Object.freeze([])]);
export const NEVER: Dnf = Object.freeze([]);

export class Untranslatable extends Error {}

const MULTI = new Set<UnleashOperator>(['IN', 'NOT_IN', 'STR_CONTAINS', 'STR_STARTS_WITH', 'STR_ENDS_WITH']);

function constraint(contextName: string, operator: UnleashOperator, operand: string[] | string): UnleashConstraint {
  return MULTI.has(operator)
    ? { contextName, operator, values: operand as string[], inverted: false, caseInsensitive: false }
    : { contextName, operator, value: operand as string, inverted: false, caseInsensitive: false };
}

/** A string operand as Unleash reads it (trimmed, empty dropped); refuses one it would change. */
function text(value: JsonValue, condition: Condition): string {
  const s = typeof value === 'string' ? value : String(value);
  if (s === '' || s.trim() !== s) {
    throw new Untranslatable(`${condition.operator} on ${condition.attribute} compares with ${JSON.stringify(s)}, which Unleash would trim or drop`);
  }
  return s;
}

function stringOperand(value: JsonValue, condition: Condition): string {
  if (typeof value !== 'string') throw new Untranslatable(`${condition.operator} of a ${typeof value} on ${condition.attribute} has no Unleash equivalent`);
  return text(value, condition);
}

function versionOperand(value: JsonValue): string {
  // Validation guarantees a version; Unleash SDKs take it without a leading `v` or build metadata.
  return semver.parse(value as string)!.version;
}

/** One condition as constraints over Unleash context fields. Throws Untranslatable. */
export function conditionToDnf(condition: Condition): Dnf {
  const field = contextFieldOf(condition.attribute);
  if (field === undefined) return compileCondition(condition).test(undefined) ? ALWAYS : NEVER;
  const v = condition.values[0] as JsonValue;
  const one = (op: UnleashOperator, operand: string[] | string): Dnf => [[constraint(field, op, operand)]];
  switch (condition.operator) {
    case 'EQUALS':
      return one('IN', [text(v, condition)]);
    case 'NOT_EQUALS':
      return one('NOT_IN', [text(v, condition)]);
    case 'IN':
      return one('IN', condition.values.map((x) => text(x, condition)));
    case 'NOT_IN':
      return one('NOT_IN', condition.values.map((x) => text(x, condition)));
    case 'CONTAINS':
      return one('STR_CONTAINS', [stringOperand(v, condition)]);
    case 'STARTS_WITH':
      return one('STR_STARTS_WITH', [stringOperand(v, condition)]);
    case 'ENDS_WITH':
      return one('STR_ENDS_WITH', [stringOperand(v, condition)]);
    case 'LESS_THAN':
      return one('NUM_LT', String(v));
    case 'LESS_THAN_OR_EQUAL':
      return one('NUM_LTE', String(v));
    case 'GREATER_THAN':
      return one('NUM_GT', String(v));
    case 'GREATER_THAN_OR_EQUAL':
      return one('NUM_GTE', String(v));
    case 'SEMVER_EQUALS':
      return one('SEMVER_EQ', versionOperand(v));
    case 'SEMVER_LESS_THAN':
      return one('SEMVER_LT', versionOperand(v));
    case 'SEMVER_GREATER_THAN':
      return one('SEMVER_GT', versionOperand(v));
    case 'SEMVER_LESS_THAN_OR_EQUAL':
      return [[constraint(field, 'SEMVER_LT', versionOperand(v))], [constraint(field, 'SEMVER_EQ', versionOperand(v))]];
    case 'SEMVER_GREATER_THAN_OR_EQUAL':
      return [[constraint(field, 'SEMVER_GT', versionOperand(v))], [constraint(field, 'SEMVER_EQ', versionOperand(v))]];
    case 'MATCHES':
    case 'EXISTS':
    case 'NOT_EXISTS':
      throw new Untranslatable(`${condition.operator} (on ${condition.attribute}) has no Unleash constraint operator`);
  }
}

/** The exact negation of one constraint: IN ⇄ NOT_IN, otherwise `inverted` flipped. */
export function negate(c: UnleashConstraint): UnleashConstraint {
  if (c.operator === 'IN' || c.operator === 'NOT_IN') return { ...c, operator: c.operator === 'IN' ? 'NOT_IN' : 'IN' };
  return { ...c, inverted: !c.inverted };
}

/** Identity of a constraint's test and whether it holds or is negated (NOT_IN x is IN x, negated). */
function identity(c: UnleashConstraint): { test: string; positive: boolean } {
  const base = c.operator === 'NOT_IN' ? 'IN' : c.operator;
  const positive = (c.operator === 'NOT_IN') === c.inverted;
  return { test: JSON.stringify([c.contextName, base, c.values ?? null, c.value ?? null, c.caseInsensitive]), positive };
}

/** The conjunction of two clauses, without repeats; undefined when it can never hold (a test and its negation). */
export function conjoin(a: Clause, b: Clause): Clause | undefined {
  const seen = new Map<string, boolean>();
  const out: UnleashConstraint[] = [];
  for (const c of [...a, ...b]) {
    const { test, positive } = identity(c);
    const before = seen.get(test);
    if (before === undefined) {
      seen.set(test, positive);
      out.push(c);
    } else if (before !== positive) {
      return undefined;
    }
  }
  return out;
}

/** `a ∧ b` for two disjunctions, contradictory clauses dropped. Throws Untranslatable past `max` clauses. */
export function andDnf(a: Dnf, b: Dnf, max: number): Dnf {
  const out: Clause[] = [];
  for (const x of a) {
    for (const y of b) {
      const c = conjoin(x, y);
      if (c === undefined) continue;
      out.push(c);
      if (out.length > max) throw new Untranslatable(`its conditions expand to more than ${max} Unleash strategies`);
    }
  }
  return out;
}

/** `¬d` as a disjunction: one negated constraint from each clause. Throws Untranslatable past `max` clauses. */
export function negateDnf(d: Dnf, max: number): Dnf {
  let out: Dnf = ALWAYS;
  for (const clause of d) out = andDnf(out, clause.map((c) => [negate(c)]), max);
  return out;
}
