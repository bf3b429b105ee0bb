import { DomainError } from '../../../src/domain/errors.js';
import { compileFlag } from '../../../src/flags/compile.js';
import type { FlagDefinition } from '../../../src/flags/model.js';
import { flagDefinitionError, validateFlagDefinition } from '../../../src/flags/validate.js';
import { cond, flagDef, ruleDef } from './helpers.js';

const ENVS: ReadonlySet<string> = new Set(['development', 'staging', 'production']);
const fields = (def: FlagDefinition): string[] => validateFlagDefinition(def, ENVS).map((v) => v.field);

describe('validateFlagDefinition', () => {
  it('accepts a full, valid definition (which then compiles)', () => {
    const def = flagDef({
      defaultVariant: 'c',
      rules: [
        ruleDef({
          name: 'swedes',
          environments: ['production', 'staging'],
          conditions: [
            cond('user.country', 'IN', 'SE', 'NO'),
            cond('app.version', 'SEMVER_GREATER_THAN_OR_EQUAL', '2.1.0'),
            cond('user.email', 'MATCHES', '@example\\.com$'),
            cond('user.age', 'GREATER_THAN', 17),
            cond('user.beta', 'EXISTS'),
          ],
          randomizationUnit: 'user.id',
          allocations: [
            { variant: 'a', weight: 5000 },
            { variant: 'b', weight: 5000 },
          ],
        }),
        ruleDef({ name: 'rest', allocations: [{ variant: 'c', weight: 0 }] }),
      ],
    });
    expect(validateFlagDefinition(def, ENVS)).toEqual([]);
    expect(flagDefinitionError(def, ENVS)).toBeUndefined();
    expect(compileFlag(def).compileError).toBeUndefined();
  });

  it.each<[string, Partial<FlagDefinition>, string[]]>([
    ['unknown kind', { kind: 'DATE' as FlagDefinition['kind'] }, ['flag.kind']],
    ['unknown state', { state: 'DELETED' as FlagDefinition['state'] }, ['flag.state']],
    ['unknown default variant', { defaultVariant: 'z' }, ['flag.default_variant']],
    ['duplicate variant names', { variants: [{ name: 'a', value: 'A' }, { name: 'b', value: 'B' }, { name: 'a', value: 'A2' }] }, ['flag.variants[2].name']],
    ['invalid variant name', { variants: [{ name: 'has space', value: 'A' }] }, ['flag.variants[0].name']],
    ['empty variant name', { variants: [{ name: '', value: 'A' }] }, ['flag.variants[0].name']],
    ['too long variant name', { variants: [{ name: 'v'.repeat(64), value: 'A' }] }, ['flag.variants[0].name']],
    ['BOOLEAN flag with a string value', { kind: 'BOOLEAN', variants: [{ name: 'on', value: true }, { name: 'off', value: 'false' }] }, ['flag.variants[1].value']],
    ['STRING flag with a number value', { variants: [{ name: 'a', value: 1 }] }, ['flag.variants[0].value']],
    ['NUMBER flag with a numeric string', { kind: 'NUMBER', variants: [{ name: 'n', value: '1' }] }, ['flag.variants[0].value']],
    ['OBJECT flag with an array', { kind: 'OBJECT', variants: [{ name: 'o', value: { x: 1 } }, { name: 'l', value: [1] }] }, ['flag.variants[1].value']],
    ['OBJECT flag with null', { kind: 'OBJECT', variants: [{ name: 'o', value: null }] }, ['flag.variants[0].value']],
    ['unknown variant in an allocation', { rules: [ruleDef(), ruleDef({ name: 'r2', allocations: [{ variant: 'z', weight: 10 }] })] }, ['flag.rules[1].allocations[0].variant']],
    ['negative weight', { rules: [ruleDef({ allocations: [{ variant: 'a', weight: -1 }] })] }, ['flag.rules[0].allocations[0].weight']],
    ['fractional weight', { rules: [ruleDef({ allocations: [{ variant: 'a', weight: 0.5 }] })] }, ['flag.rules[0].allocations[0].weight']],
    ['weight over 10000', { rules: [ruleDef({ allocations: [{ variant: 'a', weight: 10001 }] })] }, ['flag.rules[0].allocations[0].weight']],
    ['weights summing over 10000', { rules: [ruleDef({ allocations: [{ variant: 'a', weight: 6000 }, { variant: 'b', weight: 4001 }] })] }, ['flag.rules[0].allocations']],
    ['weights of several variants summing to 100 (percent, not basis points)', { rules: [ruleDef({ allocations: [{ variant: 'a', weight: 50 }, { variant: 'b', weight: 50 }] })] }, ['flag.rules[0].allocations']],
    ['unknown environment', { rules: [ruleDef({ environments: ['production', 'prod'] })] }, ['flag.rules[0].environments[1]']],
    ['empty rule name', { rules: [ruleDef({ name: '  ' })] }, ['flag.rules[0].name']],
    ['duplicate rule names', { rules: [ruleDef({ name: 'x' }), ruleDef({ name: 'y' }), ruleDef({ name: 'x' })] }, ['flag.rules[2].name']],
    ['too long rule name', { rules: [ruleDef({ name: 'n'.repeat(129) })] }, ['flag.rules[0].name']],
    ['bad regex', { rules: [ruleDef({ conditions: [cond('email', 'EXISTS'), cond('email', 'MATCHES', '([a-z')] })] }, ['flag.rules[0].conditions[1].values[0]']],
    ['regex over 256 characters', { rules: [ruleDef({ conditions: [cond('email', 'MATCHES', 'a'.repeat(257))] })] }, ['flag.rules[0].conditions[0].values[0]']],
    ['bad semver', { rules: [ruleDef({ conditions: [cond('app.version', 'SEMVER_LESS_THAN', '2.1')] })] }, ['flag.rules[0].conditions[0].values[0]']],
    ['numeric operator with a string', { rules: [ruleDef({ conditions: [cond('age', 'LESS_THAN', '18')] })] }, ['flag.rules[0].conditions[0].values[0]']],
    ['IN without values', { rules: [ruleDef({ conditions: [cond('country', 'IN')] })] }, ['flag.rules[0].conditions[0].values']],
    ['NOT_IN with an object value', { rules: [ruleDef({ conditions: [cond('country', 'NOT_IN', 'SE', { x: 1 })] })] }, ['flag.rules[0].conditions[0].values[1]']],
    ['single-value operator with two values', { rules: [ruleDef({ conditions: [cond('country', 'EQUALS', 'SE', 'NO')] })] }, ['flag.rules[0].conditions[0].values']],
    ['EXISTS with a value', { rules: [ruleDef({ conditions: [cond('country', 'EXISTS', 'SE')] })] }, ['flag.rules[0].conditions[0].values']],
    ['empty attribute path', { rules: [ruleDef({ conditions: [cond('', 'EXISTS')] })] }, ['flag.rules[0].conditions[0].attribute']],
    ['invalid attribute path', { rules: [ruleDef({ conditions: [cond('user..country', 'EXISTS')] })] }, ['flag.rules[0].conditions[0].attribute']],
    ['unknown operator', { rules: [ruleDef({ conditions: [{ attribute: 'x', operator: 'LIKE' as 'EQUALS', values: ['a'] }] })] }, ['flag.rules[0].conditions[0].operator']],
    ['invalid randomization unit', { rules: [ruleDef({ randomizationUnit: 'user id' })] }, ['flag.rules[0].randomization_unit']],
    ['too many rules', { rules: Array.from({ length: 101 }, (_, i) => ruleDef({ name: `r${i}` })) }, ['flag.rules']],
    ['too many variants', { variants: Array.from({ length: 101 }, (_, i) => ({ name: `v${i}`, value: 'x' })) }, ['flag.variants']],
    ['too many conditions', { rules: [ruleDef({ conditions: Array.from({ length: 101 }, () => cond('x', 'EXISTS')) })] }, ['flag.rules[0].conditions']],
  ])('%s → %j', (_name, overrides, expected) => {
    expect(fields(flagDef(overrides))).toEqual(expected);
  });

  it('checks disabled rules too (they are stored and may be enabled later)', () => {
    expect(fields(flagDef({ rules: [ruleDef({ enabled: false, allocations: [{ variant: 'z', weight: 1 }] })] }))).toEqual(['flag.rules[0].allocations[0].variant']);
  });

  it('accepts exactly 100 rules and 100 variants, weights summing to exactly 10000, and no variants at all', () => {
    expect(fields(flagDef({ rules: Array.from({ length: 100 }, (_, i) => ruleDef({ name: `r${i}` })) }))).toEqual([]);
    expect(fields(flagDef({ variants: Array.from({ length: 100 }, (_, i) => ({ name: `v${i}`, value: 'x' })) }))).toEqual([]);
    expect(fields(flagDef({ rules: [ruleDef({ allocations: [{ variant: 'a', weight: 9999 }, { variant: 'b', weight: 1 }] })] }))).toEqual([]);
    expect(fields(flagDef({ variants: [], rules: [] }))).toEqual([]);
    // One variant at 100 basis points is a plausible 1 % canary, and is kept.
    expect(fields(flagDef({ rules: [ruleDef({ allocations: [{ variant: 'a', weight: 100 }] })] }))).toEqual([]);
  });

  it('reports every problem at once, with descriptions a person can act on', () => {
    const def = flagDef({
      defaultVariant: 'nope',
      rules: [
        ruleDef({ name: '', environments: ['moon'], conditions: [cond('age', 'GREATER_THAN', 'old')], allocations: [{ variant: 'z', weight: 20000 }] }),
      ],
    });
    expect(validateFlagDefinition(def, ENVS)).toEqual([
      { field: 'flag.default_variant', description: '"nope" is not a variant of this flag' },
      { field: 'flag.rules[0].name', description: 'must not be empty' },
      { field: 'flag.rules[0].environments[0]', description: 'environment "moon" does not exist' },
      { field: 'flag.rules[0].conditions[0].values[0]', description: 'GREATER_THAN compares numbers: the value must be a number' },
      { field: 'flag.rules[0].allocations[0].variant', description: '"z" is not a variant of this flag' },
      { field: 'flag.rules[0].allocations[0].weight', description: 'must be a whole number of basis points from 0 to 10000' },
    ]);
  });

  it('uses the given field prefix and builds an INVALID_ARGUMENT DomainError', () => {
    const def = flagDef({ defaultVariant: 'nope' });
    expect(validateFlagDefinition(def, ENVS, 'update.flag').map((v) => v.field)).toEqual(['update.flag.default_variant']);
    const err = flagDefinitionError(def, ENVS);
    expect(err).toBeInstanceOf(DomainError);
    expect(err?.kind).toBe('invalid_argument');
    expect(err?.fieldViolations).toEqual([{ field: 'flag.default_variant', description: '"nope" is not a variant of this flag' }]);
  });
});
