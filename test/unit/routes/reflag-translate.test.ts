import type { Condition, FlagDefinition, JsonValue, Rule, Variant } from '../../../src/flags/model.js';
import { Untranslatable, conditionFilter } from '../../../src/routes/reflag/conditions.js';
import { evaluationContextOfQuery, fieldOf, textOf, typedValue } from '../../../src/routes/reflag/context.js';
import { translateFlag, type Translation } from '../../../src/routes/reflag/definitions.js';
import { fingerprint } from '../../../src/routes/reflag/views.js';

const onOff: Variant[] = [
  { name: 'on', value: true },
  { name: 'off', value: false },
];
function flag(id: string, spec: Partial<FlagDefinition>): FlagDefinition {
  return { id, project: 'default', description: `about ${id}`, state: 'ACTIVE', secret: false, kind: 'BOOLEAN', variants: onOff, defaultVariant: null, salt: `salt-${id}`, rules: [], ...spec };
}
function rule(name: string, conditions: Condition[], allocations: [string, number][], randomizationUnit = ''): Rule {
  return { name, enabled: true, environments: [], conditions, randomizationUnit, allocations: allocations.map(([variant, weight]) => ({ variant, weight })) };
}
const c = (attribute: string, operator: Condition['operator'], ...values: JsonValue[]): Condition => ({ attribute, operator, values });
const is = (field: string, ...values: string[]) => ({ type: 'context', field, operator: values.length === 1 ? 'IS' : 'ANY_OF', values });
const anyOf = (field: string, ...values: string[]) => ({ type: 'context', field, operator: 'ANY_OF', values });
const neg = (filter: object) => ({ type: 'negation', filter });
/** An `and` group, flattened as the translation builds them. */
const all = (...filters: object[]): object => ({
  type: 'group',
  operator: 'and',
  filters: filters.flatMap((f) => ((f as { type?: string; operator?: string }).type === 'group' && (f as { operator?: string }).operator === 'and' ? (f as { filters: object[] }).filters : [f])),
});
const some = (...filters: object[]) => ({ type: 'group', operator: 'or', filters });
const below = (key: string, attr: string, threshold: number) => ({ type: 'rolloutPercentage', key, partialRolloutAttribute: attr, partialRolloutThreshold: threshold });
const unitSet = (field: string) => all({ type: 'context', field, operator: 'SET', values: [] }, neg(anyOf(field, 'true', 'false')));
const FALSE = { type: 'constant', value: false };
const TRUE = { type: 'constant', value: true };
const translated = (t: Translation) => {
  if (t.outcome !== 'translated') throw new Error(`expected a translation, got ${JSON.stringify(t)}`);
  return t.definition;
};

describe('Reflag contexts as latchkey reads them', () => {
  it('text that is how JavaScript writes a finite number is that number; true and false are booleans; the rest stays text', () => {
    expect(['12', '-1.5', '1e+21', '0', 'true', 'false'].map(typedValue)).toEqual([12, -1.5, 1e21, 0, true, false]);
    expect(['12.0', '012', ' 12', '0x10', '1e21', '', 'NaN', 'Infinity', '-0', 'True', 'pro'].map(typedValue)).toEqual(['12.0', '012', ' 12', '0x10', '1e21', '', 'NaN', 'Infinity', '-0', 'True', 'pro']);
  });

  it('operands are written as the text that reads back as them; a string that reads as a number or boolean has none', () => {
    expect([textOf('pro'), textOf(12), textOf(-1.5), textOf(true), textOf(''), textOf('12.0')]).toEqual(['pro', '12', '-1.5', 'true', '', '12.0']);
    expect([textOf('12'), textOf('true'), textOf('false')]).toEqual([undefined, undefined, undefined]);
  });

  it('context.* query parameters become nested attributes, with targeting_key = user.id; other parameters are not context', () => {
    const q = new URLSearchParams(
      'context.user.id=42&context.user.email=a%40b.c&context.company.plan=pro&context.company.seats=12&context.other.beta=true' +
        '&context.targeting_key=forged&key=x&publishableKey=pub_x&reflag-sdk-version=browser-sdk%2F1.6.1&waitForVersion=3' +
        '&context.user.id=second&context.company=flat&context.__proto__.polluted=1',
    );
    const ctx = evaluationContextOfQuery(q);
    expect(JSON.parse(JSON.stringify(ctx))).toEqual({
      user: { id: 42, email: 'a@b.c' },
      company: { plan: 'pro', seats: 12 },
      other: { beta: true },
      ['__proto__']: { polluted: 1 },
      targeting_key: 42,
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('latchkey attributes are Reflag fields; targeting_key is user.id', () => {
    expect([fieldOf('targeting_key'), fieldOf('company.plan'), fieldOf('targeting_key.x'), fieldOf('constructor'), fieldOf('user.constructor')]).toEqual([
      { kind: 'field', field: 'user.id' },
      { kind: 'field', field: 'company.plan' },
      { kind: 'absent' },
      { kind: 'unsafe' },
      { kind: 'field', field: 'user.constructor' },
    ]);
  });
});

describe('Reflag translation: conditions', () => {
  it.each<[Condition, object]>([
    [c('company.plan', 'EQUALS', 'pro'), is('company.plan', 'pro')],
    [c('company.seats', 'EQUALS', 12), is('company.seats', '12')],
    [c('user.beta', 'EQUALS', true), is('user.beta', 'true')],
    [c('company.plan', 'NOT_EQUALS', 'pro'), neg(is('company.plan', 'pro'))],
    [c('targeting_key', 'IN', 'u1', 'u2', 7), anyOf('user.id', 'u1', 'u2', '7')],
    [c('company.plan', 'NOT_IN', 'free'), neg(anyOf('company.plan', 'free'))],
    [c('user.email', 'CONTAINS', '@'), { type: 'context', field: 'user.email', operator: 'CONTAINS', values: ['@'] }],
    [c('user.id', 'EQUALS', '42'), FALSE],
    [c('user.id', 'NOT_EQUALS', 'true'), TRUE],
    [c('user.id', 'IN', '42', 'x'), anyOf('user.id', 'x')],
    [c('user.tags', 'CONTAINS', 3), FALSE],
    [c('targeting_key.x', 'NOT_EQUALS', 'a'), TRUE],
    [c('targeting_key.x', 'EQUALS', 'a'), FALSE],
  ])('%j', (condition, filter) => {
    expect(conditionFilter(condition)).toEqual(filter);
  });

  it.each<[Condition, RegExp]>([
    [c('user.email', 'CONTAINS', '@acme.com'), /ignores case/],
    [c('user.email', 'CONTAINS', '12'), /inside a number/],
    [c('user.email', 'STARTS_WITH', 'a'), /no prefix, suffix or pattern/],
    [c('user.email', 'ENDS_WITH', 'a'), /no prefix, suffix or pattern/],
    [c('user.email', 'MATCHES', 'a'), /no prefix, suffix or pattern/],
    [c('company.seats', 'GREATER_THAN', 10), /GT and LT/],
    [c('company.seats', 'LESS_THAN_OR_EQUAL', 10), /GT and LT/],
    [c('other.version', 'SEMVER_GREATER_THAN', '1.0.0'), /semantic-version/],
    [c('user.email', 'EXISTS'), /SET is false/],
    [c('user.email', 'NOT_EXISTS'), /SET is false/],
    [c('constructor', 'EQUALS', 'a'), /finds "constructor" on every object/],
  ])('%j is untranslatable', (condition, why) => {
    expect(() => conditionFilter(condition)).toThrow(Untranslatable);
    expect(() => conditionFilter(condition)).toThrow(why);
  });
});

describe('Reflag translation: flags', () => {
  it('a BOOLEAN flag: one targeting rule per rule that can serve true, each guarded by the earlier rules; the default when it is true', () => {
    const def = flag('checkout', {
      defaultVariant: 'on',
      rules: [rule('free-off', [c('company.plan', 'EQUALS', 'free')], [['off', 10000]]), rule('pro-on', [c('company.plan', 'EQUALS', 'pro')], [['on', 10000]])],
    });
    const version = fingerprint(def);
    expect(translateFlag(def)).toEqual({
      outcome: 'translated',
      view: expect.objectContaining({ version, slots: [{ rule: 'pro-on' }, { default: true }] }),
      definition: {
        key: 'checkout',
        description: 'about checkout',
        targeting: {
          version,
          rules: [{ filter: all(neg(is('company.plan', 'free')), is('company.plan', 'pro')) }, { filter: all(neg(is('company.plan', 'free')), neg(is('company.plan', 'pro'))) }],
        },
      },
    });
  });

  it('a split: shares of the unit\'s hash (basis points × 10), the flag id as the key; a missing unit stops every later rule', () => {
    const def = flag('rollout', {
      rules: [rule('thirty', [], [['on', 3000], ['off', 2000]], 'company.id'), rule('rest', [c('user.beta', 'EQUALS', true)], [['on', 10000]])],
    });
    const share = below('rollout', 'company.id', 30000);
    const taken = below('rollout', 'company.id', 50000);
    expect(translated(translateFlag(def)).targeting.rules).toEqual([
      { filter: all(unitSet('company.id'), share) },
      // rule 1 neither decided nor stopped: the unit is present and its hash is past the 50 % it allocates
      { filter: all(neg(some(neg(unitSet('company.id')), taken)), is('user.beta', 'true')) },
    ]);
  });

  it('a STRING flag: enabled where a rule matched; config variants per share (the default only where it can be served); targeting_key splits by user.id', () => {
    const def = flag('banner', {
      kind: 'STRING',
      variants: [
        { name: 'blue', value: 'blue' },
        { name: 'green', value: 'green' },
        { name: 'red', value: 'red' },
      ],
      defaultVariant: 'red',
      rules: [rule('split', [], [['blue', 5000], ['green', 5000]])],
    });
    const version = fingerprint(def);
    const half = below('banner', 'user.id', 50000);
    expect(translated(translateFlag(def))).toEqual({
      key: 'banner',
      description: 'about banner',
      targeting: { version, rules: [{ filter: unitSet('user.id') }] },
      config: {
        version,
        variants: [
          { key: 'blue', payload: 'blue', filter: all(unitSet('user.id'), half) },
          { key: 'green', payload: 'green', filter: all(unitSet('user.id'), neg(half)) },
          // No `red`: every unit is either split (present) or stops the flag (missing); the default is never served.
        ],
      },
    });
  });

  it('a rule that gives everyone one variant needs no unit; disabled and zero-weight rules are skipped', () => {
    const def = flag('simple', {
      rules: [
        { ...rule('off-rule', [c('user.email', 'MATCHES', 'x')], [['on', 10000]]), enabled: false },
        rule('nothing', [c('user.email', 'ENDS_WITH', 'x')], [['on', 0]], 'constructor'),
        rule('all', [c('company.plan', 'EQUALS', 'pro')], [['on', 10000]], 'constructor'),
      ],
    });
    expect(translated(translateFlag(def)).targeting.rules).toEqual([{ filter: is('company.plan', 'pro') }]);
  });

  it('untranslatable, archived and broken flags are not translated', () => {
    expect(translateFlag(flag('email', { rules: [rule('acme', [c('user.email', 'ENDS_WITH', '@acme.com')], [['on', 10000]])] }))).toMatchObject({
      outcome: 'untranslatable',
      reason: 'ENDS_WITH on user.email: Reflag has no prefix, suffix or pattern operator',
    });
    expect(translateFlag(flag('unit', { rules: [rule('r', [], [['on', 5000]], 'constructor')] }))).toMatchObject({ outcome: 'untranslatable' });
    expect(translateFlag(flag('old', { state: 'ARCHIVED' })).outcome).toBe('unavailable');
    expect(translateFlag(flag('broken', { defaultVariant: 'missing' })).outcome).toBe('unavailable');
  });

  it('a flag whose filters would grow past the bound is untranslatable', () => {
    const rules = Array.from({ length: 100 }, (_, i) => rule(`r${i}`, [c('company.plan', 'EQUALS', `p${i}`), c('user.id', 'NOT_IN', 'a', 'b')], [['on', 10000]]));
    expect(translateFlag(flag('big', { rules }))).toMatchObject({ outcome: 'untranslatable', reason: expect.stringMatching(/^its Reflag filters would have \d+ nodes \(at most 5000\)$/) });
  });
});
