/**
 * The Reflag translation is exact: for random flags and random contexts, Reflag's own evaluator
 * (@reflag/flag-evaluation, what @reflag/node-sdk runs on the definitions) and latchkey's
 * resolution answer alike, `isEnabled` and config, rule by rule.
 *
 * Reflag hashes units with SHA-256 and latchkey with MurmurHash3, so no real pair of the two
 * splits the same users. To compare splits user by user, latchkey's bucketing is swapped here for
 * Reflag's hash (the flag's salt set to its id, the key the translation uses): what remains to
 * compare is exactly the translation, of conditions, shares, rule order, stops and defaults.
 */
import fc from 'fast-check';
import { evaluateFlagRules, flattenJSON, hashInt, unflattenJSON } from '@reflag/flag-evaluation';
import type { Condition, FlagDefinition, JsonValue, Rule, Variant } from '../../../src/flags/model.js';

jest.mock('../../../src/flags/bucketing.js', () => {
  const actual = jest.requireActual('../../../src/flags/bucketing.js');
  const reflag = jest.requireActual('@reflag/flag-evaluation');
  return {
    ...actual,
    // Reflag's rollout holds where hashInt(`<key>.<value>`) < threshold × 10; that is this bucket < threshold.
    bucketOf: (salt: string, unit: string) => Math.min(9999, Math.floor(reflag.hashInt(`${salt}.${unit}`) / 10)),
  };
});

// Loaded after the mock (jest.mock is hoisted above imports, but require keeps the order plain to read).
/* eslint-disable @typescript-eslint/no-require-imports */
const { compileFlag } = require('../../../src/flags/compile.js') as typeof import('../../../src/flags/compile.js');
const { resolveFlag } = require('../../../src/flags/evaluate.js') as typeof import('../../../src/flags/evaluate.js');
const { translateFlag } = require('../../../src/routes/reflag/definitions.js') as typeof import('../../../src/routes/reflag/definitions.js');
const { evaluatedFlag } = require('../../../src/routes/reflag/evaluated.js') as typeof import('../../../src/routes/reflag/evaluated.js');
const { evaluationContextOfQuery } = require('../../../src/routes/reflag/context.js') as typeof import('../../../src/routes/reflag/context.js');

const onOff: Variant[] = [
  { name: 'on', value: true },
  { name: 'off', value: false },
  { name: 'yes', value: true },
];
const colors: Variant[] = [
  { name: 'blue', value: 'blue' },
  { name: 'green', value: 'green' },
  { name: 'red', value: 'red' },
];

/** Fields and the text values a Reflag context may hold for them (or be missing). */
const FIELDS: Record<string, string[]> = {
  'user.id': ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8', '42', 'true', ''],
  'company.id': ['c1', 'c2', 'c3', '7'],
  'company.plan': ['pro', 'free', '', '3', 'Pro'],
  'company.tier': ['3', '3.0', '4', '-1.5', '1e+21'],
  'user.beta': ['true', 'false', 'yes'],
  'other.region': ['cn', 'us', 'c@n'],
};
const OPERANDS: JsonValue[] = ['pro', 'free', '', '3', 3, 4, -1.5, 1e21, true, false, 'true', 'u1', 'u2', '42', 42, 'cn', 'c1', 7];

const attribute = fc.constantFrom(...Object.keys(FIELDS), 'targeting_key');
const condition: fc.Arbitrary<Condition> = fc.oneof(
  fc.record({ attribute, operator: fc.constantFrom('EQUALS' as const, 'NOT_EQUALS' as const), values: fc.constantFrom(...OPERANDS).map((x) => [x]) }),
  fc.record({ attribute, operator: fc.constantFrom('IN' as const, 'NOT_IN' as const), values: fc.uniqueArray(fc.constantFrom(...OPERANDS), { minLength: 1, maxLength: 3 }) }),
  fc.record({ attribute, operator: fc.constant('CONTAINS' as const), values: fc.constantFrom<JsonValue>('@', '_', 3, true).map((x) => [x]) }),
);

function allocationsOf(names: string[]): fc.Arbitrary<{ variant: string; weight: number }[]> {
  return fc.oneof(
    fc.constantFrom(...names).map((variant) => [{ variant, weight: 10000 }]),
    fc.array(fc.record({ variant: fc.constantFrom(...names), weight: fc.constantFrom(0, 1500, 2500, 3000, 5000) }), { minLength: 1, maxLength: 3 }).map((as) => {
      let left = 10000;
      return as.map((a) => {
        const weight = Math.min(a.weight, left);
        left -= weight;
        return { ...a, weight };
      });
    }),
  );
}

function flagOf(kind: 'BOOLEAN' | 'STRING'): fc.Arbitrary<FlagDefinition> {
  const variants = kind === 'BOOLEAN' ? onOff : colors;
  const names = variants.map((x) => x.name);
  const rule: fc.Arbitrary<Rule> = fc.record({
    name: fc.constant(''),
    enabled: fc.constantFrom(true, true, true, false),
    environments: fc.constant([]),
    conditions: fc.array(condition, { maxLength: 2 }),
    randomizationUnit: fc.constantFrom('', 'user.id', 'company.id', 'company.plan'),
    allocations: allocationsOf(names),
  });
  return fc.record({ rules: fc.array(rule, { minLength: 1, maxLength: 4 }), defaultVariant: fc.constantFrom(null, ...names) }).map(({ rules, defaultVariant }) => ({
    id: `f-${kind.toLowerCase()}`,
    project: 'default',
    description: '',
    state: 'ACTIVE',
    secret: false,
    kind,
    variants,
    defaultVariant,
    rules: rules.map((r, i) => ({ ...r, name: `r${i}` })),
    salt: `f-${kind.toLowerCase()}`,
  }));
}

const contextArb: fc.Arbitrary<Record<string, string>> = fc
  .record(Object.fromEntries(Object.entries(FIELDS).map(([f, values]) => [f, fc.constantFrom(...values)])), { requiredKeys: [] })
  .map((r) => Object.fromEntries(Object.entries(r).filter((e): e is [string, string] => e[1] !== undefined)));

/** What @reflag/flag-evaluation answers for the translated definition. */
function reflagAnswer(def: FlagDefinition, flat: Record<string, string>) {
  const t = translateFlag(def);
  if (t.outcome !== 'translated') throw new Error(`not translated: ${JSON.stringify(t)}`);
  const context = unflattenJSON(flat);
  const enabled = evaluateFlagRules({ context, flagKey: def.id, rules: t.definition.targeting.rules.map((r) => ({ filter: r.filter as never, value: true })) });
  const config = t.definition.config
    ? evaluateFlagRules({ context, flagKey: def.id, rules: t.definition.config.variants.map((x) => ({ filter: x.filter as never, value: { key: x.key, payload: x.payload } })) })
    : undefined;
  return {
    isEnabled: enabled.value ?? false,
    ruleEvaluationResults: enabled.ruleEvaluationResults,
    config: (config?.value as { key: string; payload: JsonValue } | undefined) ?? undefined,
  };
}

/** What latchkey answers for the same context, as the SDK sends it to features/evaluated. */
function latchkeyAnswer(def: FlagDefinition, flat: Record<string, string>) {
  const params = new URLSearchParams(flattenJSON({ context: unflattenJSON(flat) }));
  const context = evaluationContextOfQuery(params);
  const t = translateFlag(def);
  const r = resolveFlag(compileFlag(def), context, () => true);
  const out = evaluatedFlag(t.view, { flag: `flags/${def.id}`, variant: r.variant, value: r.value, reason: r.reason, errorMessage: r.errorMessage, ...(r.rule && { rule: r.rule }) }, context)!;
  return { isEnabled: out.isEnabled, ruleEvaluationResults: out.ruleEvaluationResults, config: out.config && { key: out.config.key, payload: out.config.payload } };
}

describe('Reflag translation against Reflag\'s own evaluator (bucketing aligned)', () => {
  it('the swapped bucketing is Reflag\'s hash', () => {
    const { bucketOf } = require('../../../src/flags/bucketing.js') as typeof import('../../../src/flags/bucketing.js');
    expect(bucketOf('k', 'u1')).toBe(Math.min(9999, Math.floor(hashInt('k.u1') / 10)));
  });

  it.each(['BOOLEAN', 'STRING'] as const)('%s flags: isEnabled, config and rule results agree for every context', (kind) => {
    let compared = 0;
    fc.assert(
      fc.property(flagOf(kind), fc.array(contextArb, { minLength: 20, maxLength: 20 }), (def, contexts) => {
        const t = translateFlag(def);
        if (t.outcome !== 'translated') return; // only CONTAINS of letters is untranslatable here, and none is generated
        for (const flat of contexts) {
          expect({ flat, answer: latchkeyAnswer(def, flat) }).toEqual({ flat, answer: reflagAnswer(def, flat) });
          compared++;
        }
      }),
      { numRuns: 400, seed: 20261123 },
    );
    expect(compared).toBe(400 * 20);
  });

  it('many users through a split, a stop and a later rule', () => {
    const def: FlagDefinition = {
      id: 'staged',
      project: 'default',
      description: '',
      state: 'ACTIVE',
      secret: false,
      kind: 'STRING',
      variants: colors,
      defaultVariant: 'red',
      salt: 'staged',
      rules: [
        { name: 'a', enabled: true, environments: [], conditions: [{ attribute: 'company.plan', operator: 'EQUALS', values: ['pro'] }], randomizationUnit: 'company.id', allocations: [{ variant: 'blue', weight: 2500 }, { variant: 'green', weight: 2500 }] },
        { name: 'b', enabled: true, environments: [], conditions: [], randomizationUnit: '', allocations: [{ variant: 'green', weight: 3000 }, { variant: 'blue', weight: 3000 }] },
      ],
    };
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const flat: Record<string, string> = { 'user.id': `user-${i}` };
      if (i % 2 === 0) flat['company.plan'] = 'pro';
      if (i % 3 !== 0) flat['company.id'] = `c-${i % 50}`;
      const answer = latchkeyAnswer(def, flat);
      expect(reflagAnswer(def, flat)).toEqual(answer);
      seen.add(`${answer.isEnabled}:${answer.config?.key ?? '-'}`);
    }
    // Every outcome occurs: each share, the default, and the stop (company.id missing: no value).
    expect([...seen].sort()).toEqual(['false:-', 'false:red', 'true:blue', 'true:green']);
  });
});
