import { compileCondition, conditionHolds, conditionProblems } from '../../../src/flags/conditions.js';
import type { JsonValue, Operator } from '../../../src/flags/model.js';
import { OPERATORS } from '../../../src/flags/model.js';
import { cond } from './helpers.js';

/** Whether `operator values` holds for an attribute `x` with `value` (undefined = missing). */
function holds(operator: Operator, values: JsonValue[], value: JsonValue | undefined): boolean {
  const compiled = compileCondition(cond('x', operator, ...values));
  return conditionHolds(compiled, value === undefined ? {} : { x: value });
}

type Case = [Operator, JsonValue[], JsonValue | undefined, boolean];

// Every row: operator, operand(s), the attribute's value (undefined = missing), expected.
const cases: Case[] = [
  ['EQUALS', ['SE'], 'SE', true],
  ['EQUALS', ['SE'], 'se', false],
  ['EQUALS', ['SE'], undefined, false],
  ['EQUALS', ['SE'], null, false],
  ['EQUALS', ['SE'], ['SE'], false],
  ['EQUALS', ['SE'], { SE: 1 }, false],
  ['EQUALS', [42], 42, true],
  ['EQUALS', [42], 42.0, true],
  ['EQUALS', [42], '42', false],
  ['EQUALS', ['42'], 42, false],
  ['EQUALS', [true], true, true],
  ['EQUALS', [true], 'true', false],
  ['EQUALS', [1], true, false],
  ['NOT_EQUALS', ['SE'], 'NO', true],
  ['NOT_EQUALS', ['SE'], 'SE', false],
  ['NOT_EQUALS', ['SE'], undefined, true],
  ['NOT_EQUALS', ['SE'], null, true],
  ['NOT_EQUALS', [42], '42', true],
  ['IN', ['SE', 'NO'], 'NO', true],
  ['IN', ['SE', 'NO'], 'DK', false],
  ['IN', ['SE', 'NO'], undefined, false],
  ['IN', ['SE', 'NO'], null, false],
  ['IN', ['SE', 'NO'], ['SE'], false],
  ['IN', [1, 2, 3], 2, true],
  ['IN', [1, 2, 3], '2', false],
  ['IN', ['1', true], 1, false],
  ['IN', ['1', true], true, true],
  ['NOT_IN', ['SE', 'NO'], 'DK', true],
  ['NOT_IN', ['SE', 'NO'], 'SE', false],
  ['NOT_IN', ['SE', 'NO'], undefined, true],
  ['NOT_IN', ['SE', 'NO'], null, true],
  ['NOT_IN', [1], '1', true],
  ['CONTAINS', ['@example.com'], 'ann@example.com', true],
  ['CONTAINS', ['@example.com'], 'ann@example.org', false],
  ['CONTAINS', ['beta'], ['alpha', 'beta'], true],
  ['CONTAINS', ['beta'], ['alpha', 'betamax'], false],
  ['CONTAINS', [3], [1, 2, 3], true],
  ['CONTAINS', [3], ['3'], false],
  ['CONTAINS', [3], 'a3b', false],
  ['CONTAINS', ['x'], { x: 1 }, false],
  ['CONTAINS', ['x'], undefined, false],
  ['CONTAINS', ['x'], null, false],
  ['CONTAINS', ['1'], 1, false],
  ['STARTS_WITH', ['ann'], 'anna', true],
  ['STARTS_WITH', ['ann'], 'joanna', false],
  ['STARTS_WITH', ['1'], 12, false],
  ['STARTS_WITH', ['a'], ['abc'], false],
  ['STARTS_WITH', ['a'], undefined, false],
  ['ENDS_WITH', ['.se'], 'shop.se', true],
  ['ENDS_WITH', ['.se'], 'shop.com', false],
  ['ENDS_WITH', ['2'], 12, false],
  ['ENDS_WITH', ['x'], null, false],
  ['MATCHES', ['^[a-z]+@example\\.com$'], 'ann@example.com', true],
  ['MATCHES', ['^[a-z]+@example\\.com$'], 'Ann@example.com', false],
  ['MATCHES', ['^\\d+$'], 123, false],
  ['MATCHES', ['^\\d+$'], '123', true],
  ['MATCHES', ['a'], ['a'], false],
  ['MATCHES', ['a'], undefined, false],
  ['MATCHES', ['a$'], 'x'.repeat(1023) + 'a', true],
  ['MATCHES', ['a$'], 'x'.repeat(1024) + 'a', false],
  ['LESS_THAN', [18], 17, true],
  ['LESS_THAN', [18], 18, false],
  ['LESS_THAN', [18], '17', false],
  ['LESS_THAN', [18], null, false],
  ['LESS_THAN', [18], undefined, false],
  ['LESS_THAN', [18], [17], false],
  ['LESS_THAN', [18], true, false],
  ['LESS_THAN', [0.5], -1e300, true],
  ['LESS_THAN_OR_EQUAL', [18], 18, true],
  ['LESS_THAN_OR_EQUAL', [18], 18.5, false],
  ['LESS_THAN_OR_EQUAL', [18], '18', false],
  ['GREATER_THAN', [18], 19, true],
  ['GREATER_THAN', [18], 18, false],
  ['GREATER_THAN', [18], '19', false],
  ['GREATER_THAN', [18], { n: 19 }, false],
  ['GREATER_THAN_OR_EQUAL', [18], 18, true],
  ['GREATER_THAN_OR_EQUAL', [18], 17.999, false],
  ['GREATER_THAN_OR_EQUAL', [18], '', false],
  ['SEMVER_EQUALS', ['1.2.3'], '1.2.3', true],
  ['SEMVER_EQUALS', ['1.2.3'], 'v1.2.3', true],
  ['SEMVER_EQUALS', ['1.2.3'], '1.2.3+build.7', true],
  ['SEMVER_EQUALS', ['1.2.3'], '1.2.4', false],
  ['SEMVER_EQUALS', ['1.2.3'], '1.2', false],
  ['SEMVER_EQUALS', ['1.2.3'], 1.2, false],
  ['SEMVER_EQUALS', ['1.2.3'], undefined, false],
  ['SEMVER_LESS_THAN', ['2.0.0'], '1.9.9', true],
  ['SEMVER_LESS_THAN', ['2.0.0'], '2.0.0-beta.1', true],
  ['SEMVER_LESS_THAN', ['2.0.0'], '2.0.0', false],
  ['SEMVER_LESS_THAN', ['2.0.0'], '10.0.0', false],
  ['SEMVER_LESS_THAN', ['2.0.0'], 'not-a-version', false],
  ['SEMVER_LESS_THAN', ['2.0.0'], ['1.0.0'], false],
  ['SEMVER_LESS_THAN_OR_EQUAL', ['2.0.0'], '2.0.0', true],
  ['SEMVER_LESS_THAN_OR_EQUAL', ['2.0.0'], '2.0.1', false],
  ['SEMVER_GREATER_THAN', ['1.9.0'], '1.10.0', true],
  ['SEMVER_GREATER_THAN', ['1.9.0'], '1.9.0', false],
  ['SEMVER_GREATER_THAN', ['1.9.0'], '1.10', false],
  ['SEMVER_GREATER_THAN', ['1.0.0-alpha'], '1.0.0-beta', true],
  ['SEMVER_GREATER_THAN_OR_EQUAL', ['1.9.0'], '1.9.0', true],
  ['SEMVER_GREATER_THAN_OR_EQUAL', ['1.9.0'], '1.8.99', false],
  ['SEMVER_GREATER_THAN_OR_EQUAL', ['1.9.0'], null, false],
  ['EXISTS', [], 'x', true],
  ['EXISTS', [], '', true],
  ['EXISTS', [], 0, true],
  ['EXISTS', [], false, true],
  ['EXISTS', [], [], true],
  ['EXISTS', [], {}, true],
  ['EXISTS', [], null, false],
  ['EXISTS', [], undefined, false],
  ['NOT_EXISTS', [], undefined, true],
  ['NOT_EXISTS', [], null, true],
  ['NOT_EXISTS', [], '', false],
  ['NOT_EXISTS', [], 0, false],
];

describe('condition operators', () => {
  it('covers every operator', () => {
    expect(new Set(cases.map((c) => c[0]))).toEqual(new Set(OPERATORS));
  });

  it.each(cases)('%s %j on %j → %s', (operator, values, value, expected) => {
    expect(holds(operator, values, value)).toBe(expected);
  });

  it('reads nested paths and never follows the prototype chain', () => {
    const c = compileCondition(cond('user.country', 'EQUALS', 'SE'));
    expect(conditionHolds(c, { user: { country: 'SE' } })).toBe(true);
    expect(conditionHolds(c, { user: 'SE' })).toBe(false);
    expect(conditionHolds(c, { 'user.country': 'SE' })).toBe(false);
    const proto = compileCondition(cond('__proto__', 'EXISTS'));
    expect(conditionHolds(proto, {})).toBe(false);
    expect(conditionHolds(proto, JSON.parse('{"__proto__":1}'))).toBe(true);
    const ctor = compileCondition(cond('constructor.name', 'EQUALS', 'Object'));
    expect(conditionHolds(ctor, {})).toBe(false);
    const missingIsNotEqual = compileCondition(cond('constructor', 'NOT_EQUALS', 'x'));
    expect(conditionHolds(missingIsNotEqual, {})).toBe(true);
  });

  it('never throws, whatever the attribute holds', () => {
    const odd: unknown[] = [undefined, null, '', 'x', 0, -0, 1.5, true, [], [null], {}, { a: [1, { b: 2 }] }, 'v1.2.3', '9'.repeat(5000)];
    const operands: Record<Operator, JsonValue[]> = {
      EQUALS: ['x'], NOT_EQUALS: [1], IN: ['x', 1, true], NOT_IN: [false], CONTAINS: ['x'], STARTS_WITH: ['x'], ENDS_WITH: ['x'],
      MATCHES: ['^x'], LESS_THAN: [1], LESS_THAN_OR_EQUAL: [1], GREATER_THAN: [1], GREATER_THAN_OR_EQUAL: [1],
      SEMVER_EQUALS: ['1.2.3'], SEMVER_LESS_THAN: ['1.2.3'], SEMVER_LESS_THAN_OR_EQUAL: ['1.2.3'], SEMVER_GREATER_THAN: ['1.2.3'],
      SEMVER_GREATER_THAN_OR_EQUAL: ['1.2.3'], EXISTS: [], NOT_EXISTS: [],
    };
    for (const op of OPERATORS) {
      const c = compileCondition(cond('a.b', op, ...operands[op]));
      for (const v of odd) {
        for (const ctx of [{ a: { b: v } }, { a: v }, v, { a: [{ b: v }] }]) {
          expect(typeof conditionHolds(c, ctx)).toBe('boolean');
        }
      }
    }
  });
});

describe('condition problems', () => {
  it.each<[string, Operator, JsonValue[], string]>([
    ['x', 'EQUALS', [], 'values'],
    ['x', 'EQUALS', ['a', 'b'], 'values'],
    ['x', 'EQUALS', [null], 'values[0]'],
    ['x', 'EQUALS', [[1]], 'values[0]'],
    ['x', 'IN', [], 'values'],
    ['x', 'IN', ['a', { b: 1 }], 'values[1]'],
    ['x', 'CONTAINS', [{}], 'values[0]'],
    ['x', 'STARTS_WITH', [1], 'values[0]'],
    ['x', 'ENDS_WITH', [true], 'values[0]'],
    ['x', 'MATCHES', ['('], 'values[0]'],
    ['x', 'MATCHES', [1], 'values[0]'],
    ['x', 'LESS_THAN', ['5'], 'values[0]'],
    ['x', 'GREATER_THAN_OR_EQUAL', [null], 'values[0]'],
    ['x', 'SEMVER_LESS_THAN', ['1.2'], 'values[0]'],
    ['x', 'SEMVER_EQUALS', [1], 'values[0]'],
    ['x', 'EXISTS', ['x'], 'values'],
    ['x', 'NOT_EXISTS', [null], 'values'],
    ['', 'EXISTS', [], 'attribute'],
    ['a..b', 'EXISTS', [], 'attribute'],
    ['x', 'BETWEEN' as Operator, [1, 2], 'operator'],
  ])('%j %s %j → %s', (attribute, operator, values, field) => {
    const problems = conditionProblems({ attribute, operator, values });
    expect(problems.map((p) => p.field)).toEqual([field]);
    expect(() => compileCondition({ attribute, operator, values })).toThrow();
  });

  it('bounds IN lists', () => {
    const values = Array.from({ length: 1001 }, (_, i) => i);
    expect(conditionProblems(cond('x', 'IN', ...values))).toEqual([{ field: 'values', description: 'IN takes at most 1000 values (got 1001)' }]);
    expect(conditionProblems(cond('x', 'IN', ...values.slice(0, 1000)))).toEqual([]);
  });
});
