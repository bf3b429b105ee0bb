/**
 * Reflag's filter model, as `@reflag/flag-evaluation` evaluates it in the SDKs: a tree of `group`
 * (and / or), `negation`, `constant`, `context` (a field of the flattened context, an operator and
 * text values) and `rolloutPercentage` (SHA-256 of `<key>.<value>`, 20 bits scaled to 0..100000,
 * below a threshold).
 *
 * The constructors here fold constants as they build (`and(FALSE, x)` is FALSE, `not(not(x))` is
 * x, a group of one is its member), so a translated flag carries no dead branches.
 */

export type ReflagOperator =
  | 'IS'
  | 'IS_NOT'
  | 'ANY_OF'
  | 'NOT_ANY_OF'
  | 'CONTAINS'
  | 'NOT_CONTAINS'
  | 'GT'
  | 'LT'
  | 'AFTER'
  | 'BEFORE'
  | 'DATE_AFTER'
  | 'DATE_BEFORE'
  | 'SET'
  | 'NOT_SET'
  | 'IS_TRUE'
  | 'IS_FALSE';

export type ConstantFilter = { type: 'constant'; value: boolean };
export type ContextFilter = { type: 'context'; field: string; operator: ReflagOperator; values: string[] };
export type RolloutFilter = { type: 'rolloutPercentage'; key: string; partialRolloutAttribute: string; partialRolloutThreshold: number };
export type GroupFilter = { type: 'group'; operator: 'and' | 'or'; filters: ReflagFilter[] };
export type NegationFilter = { type: 'negation'; filter: ReflagFilter };
export type ReflagFilter = ConstantFilter | ContextFilter | RolloutFilter | GroupFilter | NegationFilter;

export const TRUE: ConstantFilter = Object.freeze({ type: 'constant', value: true }) as ConstantFilter;
export const FALSE: ConstantFilter = Object.freeze({ type: 'constant', value: false }) as ConstantFilter;

/** Reflag's rollout scale: thresholds run from 0 to 100000 (latchkey's basis points × 10). */
export const ROLLOUT_SCALE = 100_000;

const isConstant = (f: ReflagFilter, value: boolean) => f.type === 'constant' && f.value === value;

function group(operator: 'and' | 'or', parts: readonly ReflagFilter[]): ReflagFilter {
  const absorbing = operator === 'and' ? false : true;
  const out: ReflagFilter[] = [];
  for (const p of parts) {
    if (isConstant(p, absorbing)) return absorbing ? TRUE : FALSE;
    if (isConstant(p, !absorbing)) continue;
    if (p.type === 'group' && p.operator === operator) out.push(...p.filters);
    else out.push(p);
  }
  if (out.length === 0) return absorbing ? FALSE : TRUE;
  if (out.length === 1) return out[0]!;
  return { type: 'group', operator, filters: out };
}

export const and = (...parts: ReflagFilter[]): ReflagFilter => group('and', parts);
export const or = (...parts: ReflagFilter[]): ReflagFilter => group('or', parts);

export function not(f: ReflagFilter): ReflagFilter {
  if (f.type === 'constant') return f.value ? FALSE : TRUE;
  if (f.type === 'negation') return f.filter;
  return { type: 'negation', filter: f };
}

export function context(field: string, operator: ReflagOperator, values: string[]): ContextFilter {
  return { type: 'context', field, operator, values };
}

/** Holds for units whose Reflag hash of `<key>.<value of attribute>` is below `threshold` (0..100000). */
export function rolloutBelow(key: string, attribute: string, threshold: number): ReflagFilter {
  if (threshold <= 0) return FALSE;
  return { type: 'rolloutPercentage', key, partialRolloutAttribute: attribute, partialRolloutThreshold: threshold };
}

/** How many nodes a filter has (translations are bounded by it). */
export function nodeCount(f: ReflagFilter): number {
  switch (f.type) {
    case 'group':
      return 1 + f.filters.reduce((n, c) => n + nodeCount(c), 0);
    case 'negation':
      return 1 + nodeCount(f.filter);
    default:
      return 1;
  }
}
