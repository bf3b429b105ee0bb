import fc from 'fast-check';
import { compileFlag } from '../../../src/flags/compile.js';
import { RESOLVE_REASONS, resolveFlag } from '../../../src/flags/evaluate.js';
import { environmentFilter } from '../../../src/flags/environments.js';
import { OPERATORS, type Condition, type FlagDefinition, type JsonValue, type Rule } from '../../../src/flags/model.js';
import { validateFlagDefinition } from '../../../src/flags/validate.js';
import { cond, flagDef, ruleDef } from './helpers.js';

const KEYS = ['targeting_key', 'country', 'user', 'id', 'age', 'version', 'tags', 'email', '__proto__', 'constructor', 'toString'];
const PATHS = ['targeting_key', 'country', 'user.id', 'user.age', 'version', 'tags', 'email', '__proto__', 'constructor.name', 'user.__proto__.x', ''];

/** JSON that also favours the keys the rules read, nested a few levels. */
const jsonish: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<JsonValue>,
    fc.constantFrom<JsonValue>('SE', '1.2.3', 'v2.0.0-beta.1', '', '42', 42, -0, 1e21, true, null, 'ü', '日本'),
    fc.dictionary(fc.constantFrom(...KEYS), tie('value'), { maxKeys: 4 }),
    fc.array(tie('value'), { maxLength: 3 }),
  ),
})).value;

/** Contexts that often satisfy the rules below, with junk mixed in at every level. */
const plausible: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    targeting_key: fc.oneof(fc.constantFrom('user-1', 'ü', '', 7), fc.string(), jsonish),
    country: fc.oneof(fc.constantFrom('SE', 'NO', 'DK', 'FI', 1, '1'), jsonish),
    email: fc.oneof(fc.constantFrom('ax@example.com', 'am', 'bx@example.com', 'a'.repeat(2000) + 'x@example.com'), jsonish),
    version: fc.oneof(fc.constantFrom('2.0.0', 'v2.0.0', '1.5.0', '3.0.0', '3.0.1', '2.0.0-rc.1', '2.0', 2), jsonish),
    tags: fc.oneof(fc.constant(['beta']), fc.array(fc.constantFrom('alpha', 'beta', 1)), jsonish),
    user: fc.oneof(fc.record({ id: fc.oneof(fc.constantFrom('u-1', 3, ''), jsonish), age: fc.oneof(fc.integer({ min: 0, max: 120 }), jsonish) }, { requiredKeys: [] }), jsonish),
    constructor: jsonish,
  },
  { requiredKeys: [] },
);

const contexts: fc.Arbitrary<unknown> = fc.oneof(plausible, plausible, fc.jsonValue(), fc.dictionary(fc.constantFrom(...KEYS), jsonish, { maxKeys: 6 }), fc.object());

/** Operands that suit each operator most of the time, junk otherwise. */
const operands = (op: (typeof OPERATORS)[number]): fc.Arbitrary<JsonValue[]> => {
  const one = (a: fc.Arbitrary<JsonValue>): fc.Arbitrary<JsonValue[]> => a.map((v) => [v]);
  const suited: fc.Arbitrary<JsonValue[]> = op.startsWith('SEMVER')
    ? one(fc.constantFrom('1.0.0', '2.0.0', 'v3.1.4-beta'))
    : op.endsWith('THAN') || op.endsWith('EQUAL')
      ? one(fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })))
      : op === 'MATCHES'
        ? one(fc.constantFrom('^a', '@example\\.com$', '(a+)+b', '[', '\\1'))
        : op === 'IN' || op === 'NOT_IN'
          ? fc.array(fc.constantFrom<JsonValue>('SE', 'NO', 1, true), { minLength: 1, maxLength: 3 })
          : op === 'EXISTS' || op === 'NOT_EXISTS'
            ? fc.constant([])
            : one(fc.constantFrom<JsonValue>('SE', 'a', 'x', 'beta', 1));
  return fc.oneof({ weight: 4, arbitrary: suited }, { weight: 1, arbitrary: fc.array(jsonish, { maxLength: 3 }) });
};

const conditions: fc.Arbitrary<Condition> = fc
  .tuple(fc.constantFrom(...PATHS), fc.constantFrom(...OPERATORS))
  .chain(([attribute, operator]) => operands(operator).map((values) => ({ attribute, operator, values })));

const weights = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 5000 }) }, { weight: 1, arbitrary: fc.constant(10000) }, { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double()) });

const rules: fc.Arbitrary<Rule> = fc.record({
  name: fc.constantFrom('a', 'b', 'c', 'd', 'e', ''),
  enabled: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  environments: fc.array(fc.constantFrom('production', 'staging', 'nowhere'), { maxLength: 2 }),
  conditions: fc.array(conditions, { maxLength: 3 }),
  randomizationUnit: fc.constantFrom('', 'targeting_key', 'user.id', 'version', 'bad path'),
  allocations: fc.array(fc.record({ variant: fc.constantFrom('a', 'b', 'c', 'a', 'b', 'zz'), weight: weights }), { maxLength: 3 }),
});

const definitions: fc.Arbitrary<FlagDefinition> = fc
  .record({
    rules: fc.array(rules, { maxLength: 4 }),
    defaultVariant: fc.constantFrom(undefined, null, '', 'a', 'c', 'zz'),
    state: fc.oneof({ weight: 5, arbitrary: fc.constant('ACTIVE' as const) }, { weight: 1, arbitrary: fc.constant('ARCHIVED' as const) }),
    salt: fc.string(),
  })
  // Mostly unique rule names, as valid flags have them.
  .chain((parts) => fc.boolean().map((rename) => flagDef({ ...parts, rules: rename ? parts.rules.map((r, i) => ({ ...r, name: `rule-${i}` })) : parts.rules })));

/** A valid flag using every operator, for contexts to hit all code paths. */
const rich = compileFlag(
  flagDef({
    defaultVariant: 'c',
    rules: [
      ruleDef({ name: 'semver', conditions: [cond('version', 'SEMVER_GREATER_THAN', '1.0.0'), cond('version', 'SEMVER_LESS_THAN_OR_EQUAL', '3.0.0')], allocations: [{ variant: 'a', weight: 4000 }] }),
      ruleDef({ name: 'text', conditions: [cond('email', 'MATCHES', '@example\\.com$'), cond('email', 'STARTS_WITH', 'a'), cond('email', 'ENDS_WITH', 'm'), cond('email', 'CONTAINS', 'x')] }),
      ruleDef({ name: 'sets', conditions: [cond('country', 'IN', 'SE', 'NO', 1), cond('country', 'NOT_IN', 'DK'), cond('country', 'NOT_EQUALS', 'FI'), cond('tags', 'CONTAINS', 'beta')] }),
      ruleDef({ name: 'numbers', randomizationUnit: 'user.id', conditions: [cond('user.age', 'GREATER_THAN', 17), cond('user.age', 'LESS_THAN', 99), cond('user.age', 'GREATER_THAN_OR_EQUAL', 18), cond('user.age', 'LESS_THAN_OR_EQUAL', 98)], allocations: [{ variant: 'b', weight: 5000 }] }),
      ruleDef({ name: 'presence', conditions: [cond('constructor', 'NOT_EXISTS'), cond('targeting_key', 'EXISTS'), cond('country', 'EQUALS', 'SE'), cond('version', 'SEMVER_EQUALS', '2.0.0'), cond('version', 'SEMVER_GREATER_THAN_OR_EQUAL', '2.0.0'), cond('version', 'SEMVER_LESS_THAN', '9.0.0')], allocations: [{ variant: 'a', weight: 2500 }, { variant: 'b', weight: 2500 }] }),
    ],
  }),
);

function assertWellFormed(r: ReturnType<typeof resolveFlag>, flag: ReturnType<typeof compileFlag>): void {
  expect(RESOLVE_REASONS).toContain(r.reason);
  if (r.reason === 'MATCH' || r.reason === 'DEFAULT') {
    expect(flag.variants.has(r.variant!)).toBe(true);
    expect(r.value).toBe(flag.variants.get(r.variant!));
  } else {
    expect(r.variant).toBeUndefined();
    expect(r.value).toBeUndefined();
  }
}

describe('properties', () => {
  it('resolveFlag never throws and answers deterministically for arbitrary JSON contexts', () => {
    const envs = environmentFilter(['production']);
    fc.assert(
      fc.property(contexts, (ctx) => {
        const r = resolveFlag(rich, ctx, envs);
        assertWellFormed(r, rich);
        expect(r.reason).not.toBe('ERROR');
        expect(resolveFlag(rich, ctx, envs)).toEqual(r);
      }),
      { numRuns: 2000 },
    );
  });

  it('compileFlag and resolveFlag never throw for arbitrary (even invalid) definitions and contexts', () => {
    const envs = environmentFilter(['production']);
    fc.assert(
      fc.property(definitions, contexts, (def, ctx) => {
        const flag = compileFlag(def);
        assertWellFormed(resolveFlag(flag, ctx, envs), flag);
        assertWellFormed(resolveFlag(flag, ctx, envs, { expectKind: 'flag' }), flag);
      }),
      { numRuns: 2000 },
    );
  });

  it('whatever validates also compiles', () => {
    const known = new Set(['production', 'staging']);
    fc.assert(
      fc.property(definitions, (def) => {
        if (validateFlagDefinition(def, known).length === 0) expect(compileFlag(def).compileError).toBeUndefined();
      }),
      { numRuns: 5000 },
    );
  });
});
