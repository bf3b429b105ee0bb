import fc from 'fast-check';
import type { Condition, FlagDefinition, JsonValue, Rule, Variant } from '../../../src/flags/model.js';
import { translateFlag, type FlagTranslation, type UnleashClientFeature } from '../../../src/routes/unleash/translate.js';
import { latchkeyAnswer, sdkAnswer, sdkWith, type UnleashContext } from './unleash-sdk.js';

const onOff: Variant[] = [
  { name: 'on', value: true },
  { name: 'off', value: false },
];
const colors: Variant[] = [
  { name: 'blue', value: 'blue' },
  { name: 'green', value: 'green' },
  { name: 'red', value: 'red' },
];

function flag(id: string, spec: Partial<FlagDefinition> & { rules?: Rule[] }): FlagDefinition {
  return { id, project: 'default', description: '', state: 'ACTIVE', secret: false, kind: 'BOOLEAN', variants: onOff, defaultVariant: null, salt: `salt-${id}`, rules: [], ...spec };
}
function rule(name: string, conditions: Condition[], allocations: [string, number][], randomizationUnit = ''): Rule {
  return { name, enabled: true, environments: [], conditions, randomizationUnit, allocations: allocations.map(([variant, weight]) => ({ variant, weight })) };
}
const c = (attribute: string, operator: Condition['operator'], ...values: JsonValue[]): Condition => ({ attribute, operator, values });
const featureOf = (t: FlagTranslation): UnleashClientFeature => {
  if (t.outcome !== 'translated' && t.outcome !== 'constant') throw new Error(`expected a feature, got ${JSON.stringify(t)}`);
  return t.feature;
};
const constraint = (contextName: string, operator: string, operand: string[] | string, inverted = false) =>
  Array.isArray(operand) ? { contextName, operator, values: operand, inverted, caseInsensitive: false } : { contextName, operator, value: operand, inverted, caseInsensitive: false };
const variant = (name: string, weight: number, stickiness: string, payload?: object) => ({ name, weight, weightType: 'variable', stickiness, ...(payload && { payload }) });

describe('Unleash translation: what each latchkey rule becomes', () => {
  it('targeting: conditions become constraints of a default strategy with the variant; the default variant is a last strategy', () => {
    const def = flag('nordics', {
      kind: 'STRING',
      variants: colors,
      defaultVariant: 'red',
      rules: [rule('north', [c('country', 'IN', 'SE', 'NO'), c('targeting_key', 'STARTS_WITH', 'emp-')], [['blue', 10000]])],
    });
    expect(translateFlag(def)).toEqual({
      outcome: 'translated',
      feature: {
        name: 'nordics',
        type: 'release',
        description: '',
        enabled: true,
        stale: false,
        impressionData: false,
        project: 'default',
        variants: [],
        strategies: [
          {
            name: 'default',
            constraints: [constraint('country', 'IN', ['SE', 'NO']), constraint('userId', 'STR_STARTS_WITH', ['emp-'])],
            parameters: {},
            variants: [variant('blue', 10000, 'default', { type: 'string', value: 'blue' })],
          },
          { name: 'default', constraints: [], parameters: {}, variants: [variant('red', 10000, 'default', { type: 'string', value: 'red' })] },
        ],
      },
    });
  });

  it('a percentage rollout is a flexibleRollout on the unit, grouped by the flag id', () => {
    const f = featureOf(translateFlag(flag('rollout', { defaultVariant: 'off', rules: [rule('thirty', [], [['on', 3000]])] })));
    expect(f.strategies).toEqual([
      { name: 'flexibleRollout', constraints: [], parameters: { rollout: '30', stickiness: 'userId', groupId: 'rollout' }, variants: [variant('on', 3000, 'userId')] },
    ]);
    const bySession = featureOf(translateFlag(flag('by-session', { rules: [rule('half', [], [['on', 5000]], 'sessionId')] })));
    expect(bySession.strategies[0]!.parameters).toEqual({ rollout: '50', stickiness: 'sessionId', groupId: 'by-session' });
    const byPlan = featureOf(translateFlag(flag('by-plan', { rules: [rule('half', [], [['on', 5000]], 'company')] })));
    expect(byPlan.strategies[0]!.parameters).toEqual({ rollout: '50', stickiness: 'company', groupId: 'by-plan' });
  });

  it('an experiment is one flexibleRollout with weighted variants, whatever the weights', () => {
    const f = featureOf(translateFlag(flag('exp', { kind: 'STRING', variants: colors, rules: [rule('split', [], [['blue', 3333], ['green', 3333], ['red', 3334]])] })));
    expect(f.strategies).toEqual([
      {
        name: 'flexibleRollout',
        constraints: [],
        parameters: { rollout: '100', stickiness: 'userId', groupId: 'exp' },
        variants: [
          variant('blue', 3333, 'userId', { type: 'string', value: 'blue' }),
          variant('green', 3333, 'userId', { type: 'string', value: 'green' }),
          variant('red', 3334, 'userId', { type: 'string', value: 'red' }),
        ],
      },
    ]);
  });

  it('NUMBER and OBJECT values are number and json payloads', () => {
    const n = featureOf(translateFlag(flag('n', { kind: 'NUMBER', variants: [{ name: 'big', value: 25.5 }], defaultVariant: 'big' })));
    expect(n.strategies[0]!.variants).toEqual([variant('big', 10000, 'default', { type: 'number', value: '25.5' })]);
    const o = featureOf(translateFlag(flag('o', { kind: 'OBJECT', variants: [{ name: 'dark', value: { color: 'black', size: 2 } }], defaultVariant: 'dark' })));
    expect(o.strategies[0]!.variants).toEqual([variant('dark', 10000, 'default', { type: 'json', value: '{"color":"black","size":2}' })]);
  });

  it('a BOOLEAN rule serving false is kept out of later strategies by negated constraints', () => {
    const f = featureOf(translateFlag(flag('kill', { defaultVariant: 'on', rules: [rule('free-off', [c('plan', 'EQUALS', 'free'), c('seats', 'LESS_THAN', 5)], [['off', 10000]])] })));
    expect(f.strategies).toEqual([
      { name: 'default', constraints: [constraint('plan', 'NOT_IN', ['free'])], parameters: {}, variants: [variant('on', 10000, 'default')] },
      { name: 'default', constraints: [constraint('seats', 'NUM_LT', '5', true)], parameters: {}, variants: [variant('on', 10000, 'default')] },
    ]);
  });

  it('a holdout (a share served false, the rest on by default) keeps its share at the top of the hash range', () => {
    const f = featureOf(translateFlag(flag('holdout', { defaultVariant: 'on', rules: [rule('hold', [], [['off', 1000]])] })));
    expect(f.strategies).toEqual([{ name: 'flexibleRollout', constraints: [], parameters: { rollout: '90', stickiness: 'userId', groupId: 'holdout' }, variants: [variant('on', 10000, 'userId')] }]);
  });

  it('a later rule needs the unit an earlier split needed: latchkey stops there with TARGETING_KEY_ERROR', () => {
    const f = featureOf(translateFlag(flag('pro', { rules: [rule('half', [], [['on', 5000]]), rule('pro', [c('plan', 'EQUALS', 'pro')], [['on', 10000]])] })));
    expect(f.strategies).toEqual([
      { name: 'flexibleRollout', constraints: [], parameters: { rollout: '50', stickiness: 'userId', groupId: 'pro' }, variants: [variant('on', 5000, 'userId')] },
      { name: 'flexibleRollout', constraints: [constraint('plan', 'IN', ['pro'])], parameters: { rollout: '100', stickiness: 'userId', groupId: 'pro' }, variants: [variant('on', 10000, 'userId')] },
    ]);
  });

  it('two rules splitting the same unit keep each share in its place', () => {
    const f = featureOf(
      translateFlag(
        flag('two', {
          kind: 'STRING',
          variants: colors,
          rules: [rule('se', [c('country', 'EQUALS', 'SE')], [['blue', 2000]]), rule('all', [], [['blue', 5000], ['green', 5000]])],
        }),
      ),
    );
    expect(f.strategies.map((s) => [s.name, s.constraints.map((x) => `${x.contextName} ${x.operator} ${x.values ?? x.value}`), s.parameters.rollout, s.variants.map((v) => v.name)])).toEqual([
      ['flexibleRollout', ['country IN SE'], '20', ['blue']],
      ['flexibleRollout', [], '50', ['blue']],
      ['flexibleRollout', [], '100', ['green']],
    ]);
  });

  it('SEMVER_*_OR_EQUAL becomes two strategies; versions lose a leading v', () => {
    const f = featureOf(translateFlag(flag('ver', { rules: [rule('new', [c('appVersion', 'SEMVER_GREATER_THAN_OR_EQUAL', 'v2.1.0')], [['on', 10000]])] })));
    expect(f.strategies.map((s) => s.constraints)).toEqual([[constraint('appVersion', 'SEMVER_GT', '2.1.0')], [constraint('appVersion', 'SEMVER_EQ', '2.1.0')]]);
  });

  it('conditions on attributes no Unleash context carries are decided once: user.country is always missing', () => {
    const never = featureOf(translateFlag(flag('nested', { defaultVariant: 'off', rules: [rule('r', [c('user.country', 'EQUALS', 'SE')], [['on', 10000]])] })));
    expect(never.strategies).toEqual([]);
    expect(never.enabled).toBe(false);
    const always = featureOf(translateFlag(flag('nested-not', { defaultVariant: 'off', rules: [rule('r', [c('user.country', 'NOT_EQUALS', 'SE')], [['on', 10000]])] })));
    expect(always.strategies).toEqual([{ name: 'default', constraints: [], parameters: {}, variants: [variant('on', 10000, 'default')] }]);
  });

  it('untranslatable flags: left out, unless the answer is the same for every context (then a default strategy)', () => {
    expect(translateFlag(flag('re', { defaultVariant: 'off', rules: [rule('r', [c('email', 'MATCHES', '@example\\.com$')], [['on', 10000]])] }))).toEqual({
      outcome: 'untranslatable',
      reason: 'rule "r": MATCHES (on email) has no Unleash constraint operator',
    });
    expect(translateFlag(flag('re-same', { defaultVariant: 'on', rules: [rule('r', [c('email', 'MATCHES', '@example\\.com$')], [['on', 10000]])] }))).toEqual({
      outcome: 'constant',
      reason: 'rule "r": MATCHES (on email) has no Unleash constraint operator',
      feature: expect.objectContaining({ enabled: true, strategies: [{ name: 'default', constraints: [], parameters: {}, variants: [variant('on', 10000, 'default')] }] }),
    });
    expect(translateFlag(flag('exists-off', { defaultVariant: 'off', rules: [rule('r', [c('email', 'EXISTS')], [['off', 10000]])] }))).toEqual({
      outcome: 'constant',
      reason: 'rule "r": EXISTS (on email) has no Unleash constraint operator',
      feature: expect.objectContaining({ enabled: false, strategies: [] }),
    });
    expect(translateFlag(flag('odd', { rules: [rule('r', [], [['on', 1250]])] }))).toEqual({ outcome: 'untranslatable', reason: 'rule "r" allocates 12.5 %; Unleash rolls out whole percents' });
    expect(translateFlag(flag('blank', { rules: [rule('r', [c('plan', 'EQUALS', ' pro')], [['on', 10000]])] })).outcome).toBe('untranslatable');
    expect(translateFlag(flag('list', { rules: [rule('r', [c('tags', 'CONTAINS', 3)], [['on', 10000]])] })).outcome).toBe('untranslatable');
    // A disabled share below a later rule's share of the same unit (a later share inside the earlier rule's range is fine).
    expect(translateFlag(flag('inside', { rules: [rule('a', [c('plan', 'EQUALS', 'pro')], [['on', 2000], ['off', 2000]]), rule('b', [], [['on', 3000]])] })).outcome).toBe('translated');
    expect(translateFlag(flag('below', { rules: [rule('a', [], [['off', 2000], ['on', 2000]]), rule('b', [], [['on', 8000]])] }))).toEqual({
      outcome: 'untranslatable',
      reason: 'a disabled share of userId lies below a later rule\'s share',
    });
    expect(translateFlag(flag('below2', { rules: [rule('a', [c('plan', 'EQUALS', 'pro')], [['on', 2000], ['off', 2000]]), rule('b', [], [['on', 6000]])] }))).toEqual({
      outcome: 'untranslatable',
      reason: 'a disabled share of userId lies below a later rule\'s share',
    });
    // A split whose unit may be missing, followed by a split on another unit.
    expect(translateFlag(flag('mixed', { rules: [rule('a', [], [['on', 2000]]), rule('b', [], [['on', 5000]], 'sessionId')] }))).toEqual({
      outcome: 'untranslatable',
      reason: 'a rule splitting by userId can stop without a value where a later rule splitting by sessionId applies',
    });
  });

  it('archived flags are unavailable (left out, not reported as untranslatable)', () => {
    expect(translateFlag(flag('gone', { state: 'ARCHIVED', defaultVariant: 'on' }))).toEqual({ outcome: 'unavailable' });
  });
});

/** Contexts as a server SDK holds them: strings for string attributes, numbers for numeric ones. */
const unleashContexts: fc.Arbitrary<UnleashContext> = fc
  .record(
    {
      userId: fc.constantFrom('u1', 'emp-7', 'x'),
      sessionId: fc.constantFrom('s1', 's2'),
      country: fc.constantFrom('SE', 'NO', 'DK', 'se'),
      plan: fc.constantFrom('free', 'pro', 'team'),
      seats: fc.constantFrom(0, 5, 10, 20),
      appVersion: fc.constantFrom('1.2.3', '2.0.0', '2.0.0-beta.1', '3.1.0', 'nope'),
    },
    { requiredKeys: [] },
  )
  .map(({ userId, sessionId, ...properties }) => ({ ...(userId && { userId }), ...(sessionId && { sessionId }), properties }));

const conditionArb: fc.Arbitrary<Condition> = fc.oneof(
  fc.tuple(fc.constantFrom('EQUALS', 'NOT_EQUALS', 'STARTS_WITH', 'ENDS_WITH', 'CONTAINS') as fc.Arbitrary<Condition['operator']>, fc.constantFrom('SE', 'NO', 'E', 'pro', 'fr')).map(([op, v]) =>
    c(op === 'EQUALS' || op === 'NOT_EQUALS' ? 'country' : 'plan', op, v),
  ),
  fc.tuple(fc.constantFrom('IN', 'NOT_IN') as fc.Arbitrary<Condition['operator']>, fc.subarray(['free', 'pro', 'team'], { minLength: 1 })).map(([op, vs]) => c('plan', op, ...vs)),
  fc.tuple(fc.constantFrom('LESS_THAN', 'LESS_THAN_OR_EQUAL', 'GREATER_THAN', 'GREATER_THAN_OR_EQUAL', 'EQUALS', 'NOT_EQUALS') as fc.Arbitrary<Condition['operator']>, fc.constantFrom(0, 5, 10)).map(([op, v]) => c('seats', op, v)),
  fc
    .tuple(
      fc.constantFrom('SEMVER_EQUALS', 'SEMVER_LESS_THAN', 'SEMVER_LESS_THAN_OR_EQUAL', 'SEMVER_GREATER_THAN', 'SEMVER_GREATER_THAN_OR_EQUAL') as fc.Arbitrary<Condition['operator']>,
      fc.constantFrom('2.0.0', 'v2.0.0-beta.1', '1.2.3'),
    )
    .map(([op, v]) => c('appVersion', op, v)),
  fc.constantFrom('u1', 'emp-7').map((v) => c('targeting_key', 'EQUALS', v)),
  fc.constant(c('user.plan', 'EQUALS', 'pro')),
  fc.constant(c('user.plan', 'NOT_EQUALS', 'pro')),
);

/** Rules of a BOOLEAN or STRING flag; `splits` adds percentage rules on userId or sessionId. */
const flags = (splits: boolean): fc.Arbitrary<FlagDefinition> =>
  fc.constantFrom<'BOOLEAN' | 'STRING'>('BOOLEAN', 'STRING').chain((kind) => {
    const names = kind === 'BOOLEAN' ? ['on', 'off'] : ['blue', 'green', 'red'];
    const everyone = fc.constantFrom(...names).map((n): [string, number][] => [[n, 10000]]);
    const split = fc
      .array(fc.tuple(fc.constantFrom(...names), fc.integer({ min: 0, max: 5 }).map((k) => k * 1000)), { minLength: 1, maxLength: 3 })
      .filter((as) => as.reduce((s, [, w]) => s + w, 0) <= 10000 && as.some(([, w]) => w > 0));
    const ruleArb = fc.record({
      conditions: fc.array(conditionArb, { maxLength: 2 }),
      allocations: splits ? fc.oneof(everyone, split, split) : everyone,
      unit: splits ? fc.constantFrom('', '', 'sessionId') : fc.constant(''),
    });
    return fc.record({ rules: fc.array(ruleArb, { minLength: splits ? 1 : 0, maxLength: 4 }), defaultVariant: fc.option(fc.constantFrom(...names), { nil: null }) }).map(({ rules, defaultVariant }) =>
      flag('generated', {
        kind,
        variants: kind === 'BOOLEAN' ? onOff : colors,
        defaultVariant,
        rules: rules.map((r, i) => rule(`r${i}`, r.conditions, r.allocations, r.unit)),
      }),
    );
  });

describe('Unleash translation: the SDK answers what latchkey answers', () => {
  it('for every context, on flags without percentage splits (exactly)', () => {
    let translated = 0;
    fc.assert(
      fc.property(flags(false), fc.array(unleashContexts, { minLength: 20, maxLength: 20 }), (def, contexts) => {
        const t = translateFlag(def);
        expect(t.outcome).not.toBe('untranslatable');
        translated++;
        const sdk = sdkWith([featureOf(t)]);
        for (const ctx of contexts) expect([ctx, sdkAnswer(sdk, 'generated', ctx)]).toEqual([ctx, latchkeyAnswer(def, ctx)]);
      }),
      { numRuns: 300, seed: 20261123 },
    );
    expect(translated).toBe(300);
  });

  it('in the same shares over 2 000 users, on flags with splits (within 5 points per answer)', () => {
    const users = Array.from({ length: 2000 }, (_, i) => i);
    let compared = 0;
    fc.assert(
      fc.property(flags(true), unleashContexts, fc.boolean(), (def, template, withSession) => {
        const t = translateFlag(def);
        if (t.outcome === 'untranslatable') return;
        compared++;
        const sdk = sdkWith([featureOf(t)]);
        const shares = (answer: (ctx: UnleashContext) => unknown) => {
          const counts = new Map<string, number>();
          for (const i of users) {
            // The units vary per user (sessionId is sometimes missing altogether).
            const { sessionId: _fixed, ...rest } = template;
            const ctx: UnleashContext = { ...rest, userId: `user-${i}`, ...(withSession ? { sessionId: `session-${i}` } : {}) };
            const key = JSON.stringify(answer(ctx));
            counts.set(key, (counts.get(key) ?? 0) + 1);
          }
          return counts;
        };
        const theirs = shares((ctx) => sdkAnswer(sdk, 'generated', ctx));
        const ours = shares((ctx) => latchkeyAnswer(def, ctx));
        for (const key of new Set([...theirs.keys(), ...ours.keys()])) {
          const diff = Math.abs((theirs.get(key) ?? 0) - (ours.get(key) ?? 0)) / users.length;
          expect([key, diff <= 0.05]).toEqual([key, true]);
        }
      }),
      { numRuns: 150, seed: 20261124 },
    );
    expect(compared).toBeGreaterThan(80);
  });
});
