import { bucketOf } from '../../../src/flags/bucketing.js';
import { compileFlag } from '../../../src/flags/compile.js';
import { environmentFilter, ruleAppliesToEnvironments } from '../../../src/flags/environments.js';
import { flagNotFound, resolveFlag, resolveFlags, unitValue, type EnvironmentsApply } from '../../../src/flags/evaluate.js';
import type { FlagDefinition } from '../../../src/flags/model.js';
import { anyEnv, cond, flagDef, ruleDef } from './helpers.js';

const resolve = (def: FlagDefinition, context: Record<string, unknown>, envs: EnvironmentsApply = anyEnv) =>
  resolveFlag(compileFlag(def), context, envs);

describe('resolveFlag', () => {
  const swedes = ruleDef({ name: 'swedes', conditions: [cond('country', 'EQUALS', 'SE')], allocations: [{ variant: 'a', weight: 10000 }] });
  const everyone = ruleDef({ name: 'everyone', allocations: [{ variant: 'b', weight: 10000 }] });

  it('serves the first rule whose conditions hold (MATCH, with the rule name)', () => {
    const def = flagDef({ rules: [swedes, everyone] });
    expect(resolve(def, { targeting_key: 'u', country: 'SE' })).toEqual({ flag: 'checkout', variant: 'a', value: 'A', reason: 'MATCH', rule: 'swedes' });
    expect(resolve(def, { targeting_key: 'u', country: 'NO' })).toEqual({ flag: 'checkout', variant: 'b', value: 'B', reason: 'MATCH', rule: 'everyone' });
  });

  it('requires every condition of a rule', () => {
    const def = flagDef({ rules: [ruleDef({ conditions: [cond('country', 'EQUALS', 'SE'), cond('age', 'GREATER_THAN_OR_EQUAL', 18)] })] });
    expect(resolve(def, { targeting_key: 'u', country: 'SE', age: 18 }).reason).toBe('MATCH');
    expect(resolve(def, { targeting_key: 'u', country: 'SE', age: 17 }).reason).toBe('NO_RULE_MATCH');
    expect(resolve(def, { targeting_key: 'u', country: 'SE', age: '18' }).reason).toBe('NO_RULE_MATCH');
  });

  it('skips disabled rules', () => {
    const def = flagDef({ rules: [{ ...swedes, enabled: false }, everyone] });
    expect(resolve(def, { targeting_key: 'u', country: 'SE' }).variant).toBe('b');
  });

  it('serves the default variant (DEFAULT) when no rule matches, and nothing (NO_RULE_MATCH) without one', () => {
    expect(resolve(flagDef({ rules: [swedes], defaultVariant: 'c' }), { country: 'NO' })).toEqual({ flag: 'checkout', variant: 'c', value: 'C', reason: 'DEFAULT' });
    expect(resolve(flagDef({ rules: [swedes] }), { country: 'NO' })).toEqual({ flag: 'checkout', reason: 'NO_RULE_MATCH' });
    expect(resolve(flagDef({ rules: [swedes], defaultVariant: '' }), { country: 'NO' }).reason).toBe('NO_RULE_MATCH');
    expect(resolve(flagDef({ rules: [swedes], defaultVariant: null }), { country: 'NO' }).reason).toBe('NO_RULE_MATCH');
  });

  it('answers FLAG_ARCHIVED for an archived flag, without a value', () => {
    expect(resolve(flagDef({ state: 'ARCHIVED', rules: [everyone], defaultVariant: 'a' }), { targeting_key: 'u' })).toEqual({ flag: 'checkout', reason: 'FLAG_ARCHIVED' });
  });

  it('answers FLAG_NOT_FOUND through flagNotFound', () => {
    expect(flagNotFound('nope')).toEqual({ flag: 'nope', reason: 'FLAG_NOT_FOUND', errorMessage: 'flag "nope" not found' });
  });

  describe('randomization unit', () => {
    const split = ruleDef({ name: 'split', conditions: [cond('country', 'EQUALS', 'SE')], allocations: [{ variant: 'a', weight: 5000 }, { variant: 'b', weight: 5000 }] });

    it.each([
      ['missing', {}],
      ['null', { targeting_key: null }],
      ['an empty string', { targeting_key: '' }],
      ['a boolean', { targeting_key: true }],
      ['an object', { targeting_key: { id: 'u' } }],
      ['a list', { targeting_key: ['u'] }],
    ])('stops with TARGETING_KEY_ERROR when the unit is %s (no later rule, no default)', (_what, ctx) => {
      const def = flagDef({ rules: [split, everyone], defaultVariant: 'c' });
      const r = resolve(def, { country: 'SE', ...ctx });
      expect(r).toEqual({ flag: 'checkout', reason: 'TARGETING_KEY_ERROR', errorMessage: expect.stringContaining('"targeting_key"') });
    });

    it('does not need the unit when the conditions do not hold', () => {
      expect(resolve(flagDef({ rules: [split], defaultVariant: 'c' }), { country: 'NO' }).reason).toBe('DEFAULT');
    });

    it('does not need the unit when every bucket goes to one variant, or when the rule takes no bucket', () => {
      expect(resolve(flagDef({ rules: [swedes] }), { country: 'SE' })).toMatchObject({ reason: 'MATCH', variant: 'a' });
      const twoHalves = ruleDef({ allocations: [{ variant: 'a', weight: 5000 }, { variant: 'b', weight: 0 }, { variant: 'a', weight: 5000 }] });
      expect(resolve(flagDef({ rules: [twoHalves] }), {})).toMatchObject({ reason: 'MATCH', variant: 'a' });
      const nothing = ruleDef({ name: 'nothing', allocations: [{ variant: 'a', weight: 0 }] });
      expect(resolve(flagDef({ rules: [nothing], defaultVariant: 'c' }), {}).reason).toBe('DEFAULT');
    });

    it('reads the rule\'s own unit attribute path', () => {
      const byUser = ruleDef({ randomizationUnit: 'user.id', allocations: [{ variant: 'a', weight: 5000 }, { variant: 'b', weight: 5000 }] });
      const def = flagDef({ rules: [byUser] });
      const r = resolve(def, { targeting_key: 'ignored', user: { id: 'user-7' } });
      expect(r.variant).toBe(bucketOf(def.salt, 'user-7') < 5000 ? 'a' : 'b');
      expect(resolve(def, { targeting_key: 'x' })).toMatchObject({ reason: 'TARGETING_KEY_ERROR', errorMessage: expect.stringContaining('"user.id"') });
    });

    it('buckets a number unit as String(n)', () => {
      expect(unitValue(42)).toBe('42');
      expect(unitValue(1.0)).toBe('1');
      expect(unitValue(-0.5)).toBe('-0.5');
      expect(unitValue('')).toBeUndefined();
      const def = flagDef({ rules: [ruleDef({ allocations: [{ variant: 'a', weight: 3333 }, { variant: 'b', weight: 3333 }, { variant: 'c', weight: 3334 }] })] });
      for (let i = 0; i < 200; i++) {
        expect(resolve(def, { targeting_key: i }).variant).toBe(resolve(def, { targeting_key: String(i) }).variant);
      }
    });
  });

  it('sends units outside a rule\'s allocations (weights < 10000) on to the next rule', () => {
    const tenPercent = ruleDef({ name: 'canary', allocations: [{ variant: 'a', weight: 3000 }] });
    const rest = ruleDef({ name: 'rest', allocations: [{ variant: 'b', weight: 10000 }] });
    const withNext = compileFlag(flagDef({ rules: [tenPercent, rest] }));
    const alone = compileFlag(flagDef({ rules: [tenPercent], defaultVariant: 'c' }));
    let inside = 0;
    for (let i = 0; i < 1000; i++) {
      const unit = `user-${i}`;
      const isInside = bucketOf(withNext.salt, unit) < 3000;
      if (isInside) inside++;
      expect(resolveFlag(withNext, { targeting_key: unit }, anyEnv)).toMatchObject(isInside ? { variant: 'a', rule: 'canary' } : { variant: 'b', rule: 'rest' });
      expect(resolveFlag(alone, { targeting_key: unit }, anyEnv)).toMatchObject(isInside ? { variant: 'a', reason: 'MATCH' } : { variant: 'c', reason: 'DEFAULT' });
    }
    expect(inside).toBeGreaterThan(200);
    expect(inside).toBeLessThan(400);
  });

  it('splits 100 000 units within ±1 percentage point of 20/30/50', () => {
    const flag = compileFlag(flagDef({ rules: [ruleDef({ allocations: [{ variant: 'a', weight: 2000 }, { variant: 'b', weight: 3000 }, { variant: 'c', weight: 5000 }] })] }));
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const r = resolveFlag(flag, { targeting_key: `user-${i}` }, anyEnv);
      counts[r.variant!]!++;
    }
    expect(Math.abs(counts.a! / n - 0.2)).toBeLessThan(0.01);
    expect(Math.abs(counts.b! / n - 0.3)).toBeLessThan(0.01);
    expect(Math.abs(counts.c! / n - 0.5)).toBeLessThan(0.01);
  });

  it('is sticky: the same unit gets the same variant every time and after recompiling', () => {
    const def = flagDef({ rules: [ruleDef({ allocations: [{ variant: 'a', weight: 3333 }, { variant: 'b', weight: 3333 }, { variant: 'c', weight: 3334 }] })] });
    const first = compileFlag(def);
    const again = compileFlag(structuredClone(def));
    for (const unit of ['user-1', 'user-2', 'ü', '日本', 'user-99999']) {
      const expected = resolveFlag(first, { targeting_key: unit }, anyEnv).variant;
      for (let i = 0; i < 1000; i++) {
        expect(resolveFlag(first, { targeting_key: unit }, anyEnv).variant).toBe(expected);
      }
      expect(resolveFlag(again, { targeting_key: unit }, anyEnv).variant).toBe(expected);
    }
  });

  it('buckets per flag: a different salt splits the same units differently', () => {
    const rules = [ruleDef({ allocations: [{ variant: 'a', weight: 5000 }, { variant: 'b', weight: 5000 }] })];
    const one = compileFlag(flagDef({ salt: 'salt-one', rules }));
    const two = compileFlag(flagDef({ salt: 'salt-two', rules }));
    let same = 0;
    for (let i = 0; i < 2000; i++) {
      const ctx = { targeting_key: `user-${i}` };
      if (resolveFlag(one, ctx, anyEnv).variant === resolveFlag(two, ctx, anyEnv).variant) same++;
    }
    expect(same / 2000).toBeGreaterThan(0.45);
    expect(same / 2000).toBeLessThan(0.55);
  });

  describe('environments (SPEC §4, through the callback)', () => {
    it.each<[string[], string[], boolean]>([
      [[], [], true],
      [[], ['production'], true],
      [['production'], [], false],
      [['staging', 'production'], ['development', 'production'], true],
      [['production'], ['development', 'staging'], false],
    ])('rule %j, credential %j → applies: %s', (ruleEnvs, credentialEnvs, applies) => {
      expect(ruleAppliesToEnvironments(ruleEnvs, credentialEnvs)).toBe(applies);
      expect(environmentFilter(credentialEnvs)(ruleEnvs)).toBe(applies);
      const def = flagDef({ rules: [ruleDef({ environments: ruleEnvs })], defaultVariant: 'c' });
      expect(resolve(def, { targeting_key: 'u' }, environmentFilter(credentialEnvs))).toMatchObject(applies ? { reason: 'MATCH', variant: 'a' } : { reason: 'DEFAULT', variant: 'c' });
    });

    it('asks the callback once per rule reached, with the rule\'s environments', () => {
      const seen: (readonly string[])[] = [];
      const def = flagDef({ rules: [ruleDef({ name: 'p', environments: ['production'] }), ruleDef({ name: 's', environments: ['staging'] })] });
      resolve(def, { targeting_key: 'u' }, (envs) => (seen.push(envs), envs.includes('staging')));
      expect(seen).toEqual([['production'], ['staging']]);
    });
  });

  describe('expected kind', () => {
    const config = flagDef({ kind: 'OBJECT', variants: [{ name: 'v1', value: { color: 'red' } }], defaultVariant: 'v1' });
    const bool = flagDef({ kind: 'BOOLEAN', variants: [{ name: 'on', value: true }], defaultVariant: 'on' });

    it('answers TYPE_MISMATCH for a config resolved as a flag, and a flag resolved as a config', () => {
      expect(resolveFlag(compileFlag(config), {}, anyEnv, { expectKind: 'flag' })).toMatchObject({ reason: 'TYPE_MISMATCH', errorMessage: expect.stringContaining('ResolveConfigs') });
      expect(resolveFlag(compileFlag(bool), {}, anyEnv, { expectKind: 'config' })).toMatchObject({ reason: 'TYPE_MISMATCH', errorMessage: expect.stringContaining('ResolveFlags') });
      expect(resolveFlag(compileFlag(config), {}, anyEnv, { expectKind: 'config' })).toEqual({ flag: 'checkout', variant: 'v1', value: { color: 'red' }, reason: 'DEFAULT' });
      expect(resolveFlag(compileFlag(bool), {}, anyEnv, { expectKind: 'flag' })).toEqual({ flag: 'checkout', variant: 'on', value: true, reason: 'DEFAULT' });
    });

    it('checks an exact kind too', () => {
      expect(resolveFlag(compileFlag(bool), {}, anyEnv, { expectKind: 'BOOLEAN' }).reason).toBe('DEFAULT');
      expect(resolveFlag(compileFlag(bool), {}, anyEnv, { expectKind: 'STRING' })).toMatchObject({ reason: 'TYPE_MISMATCH', errorMessage: 'flag "checkout" is of kind BOOLEAN, not STRING' });
    });
  });

  describe('failures stay within one flag', () => {
    it('resolves a flag that does not compile as ERROR with the reason, and the others normally', () => {
      const broken = compileFlag(flagDef({ id: 'broken', rules: [ruleDef({ conditions: [cond('x', 'MATCHES', '(')] })] }));
      expect(broken.compileError).toContain('rules[0] ("r"): conditions[0].values[0]: not a valid regular expression');
      const fine = compileFlag(flagDef({ id: 'fine', rules: [ruleDef()] }));
      expect(resolveFlags([broken, fine], { targeting_key: 'u' }, anyEnv)).toEqual([
        { flag: 'broken', reason: 'ERROR', errorMessage: expect.stringContaining('could not be compiled') },
        { flag: 'fine', variant: 'a', value: 'A', reason: 'MATCH', rule: 'r' },
      ]);
    });

    it('turns an exception during resolution into ERROR for that flag only', () => {
      const boom = compileFlag(flagDef({ id: 'boom', rules: [ruleDef({ environments: ['boom'] })] }));
      const fine = compileFlag(flagDef({ id: 'fine', rules: [ruleDef()] }));
      const envs = (e: readonly string[]): boolean => {
        if (e.includes('boom')) throw new Error('credential store unavailable');
        return true;
      };
      expect(resolveFlags([boom, fine], { targeting_key: 'u' }, envs)).toEqual([
        { flag: 'boom', reason: 'ERROR', errorMessage: 'flag "boom" could not be resolved: credential store unavailable' },
        { flag: 'fine', variant: 'a', value: 'A', reason: 'MATCH', rule: 'r' },
      ]);
    });

    it('compiles (never throws) even a definition that is not a definition at all', () => {
      for (const junk of [null, undefined, {}, { id: 'x', kind: 'BOOLEAN' }, { id: 'x', kind: 'STRING', variants: 'nope' }]) {
        const c = compileFlag(junk as unknown as FlagDefinition);
        expect(c.compileError).toEqual(expect.any(String));
        expect(resolveFlag(c, {}, anyEnv).reason).toBe('ERROR');
      }
    });
  });

  it('serves frozen copies of variant values and leaves the definition as it was', () => {
    const def = flagDef({ kind: 'OBJECT', variants: [{ name: 'v', value: { nested: { list: [1, 2] } } }], defaultVariant: 'v' });
    const value = resolveFlag(compileFlag(def), {}, anyEnv).value as { nested: { list: number[] } };
    expect(Object.isFrozen(value) && Object.isFrozen(value.nested) && Object.isFrozen(value.nested.list)).toBe(true);
    expect(() => value.nested.list.push(3)).toThrow();
    expect(Object.isFrozen(def.variants[0]!.value)).toBe(false);
  });

  it('treats a context that is not an object as empty', () => {
    const def = flagDef({ rules: [ruleDef({ allocations: [{ variant: 'a', weight: 5000 }] })], defaultVariant: 'c' });
    for (const ctx of [null, 'targeting_key', 42, ['targeting_key']]) {
      expect(resolveFlag(compileFlag(def), ctx, anyEnv).reason).toBe('TARGETING_KEY_ERROR');
    }
  });
});
