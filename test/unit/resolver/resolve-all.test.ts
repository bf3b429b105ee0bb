/**
 * Resolve-all builds its answers and its token from per-answer pieces the resolver keeps
 * (SERVED_ANSWERS): it must answer exactly what resolving each flag by name answers, and sign
 * exactly the token `ResolveTokens.encode` makes of the same content.
 */
import fc from 'fast-check';
import { compileFlag } from '../../../src/flags/compile.js';
import { resolveFlag } from '../../../src/flags/evaluate.js';
import { environmentFilter } from '../../../src/flags/environments.js';
import { FlagResolver } from '../../../src/resolver/flag-resolver.js';
import { ResolveTokens } from '../../../src/resolver/resolve-token.js';
import { cond, flagDef, principalDef, ruleDef } from '../flags/helpers.js';

const principal = principalDef;

const flags = [
  flagDef({ id: 'split', defaultVariant: 'c', rules: [ruleDef({ environments: ['production'], conditions: [cond('country', 'IN', 'SE', 'NO')], allocations: [{ variant: 'a', weight: 5000 }, { variant: 'b', weight: 5000 }] })] }),
  flagDef({ id: 'staging', defaultVariant: 'b', rules: [ruleDef({ environments: ['staging'] })] }),
  flagDef({ id: 'no-default', rules: [ruleDef({ conditions: [cond('plan', 'EQUALS', 'pro')] })] }),
  flagDef({ id: 'keyed', rules: [ruleDef({ randomizationUnit: 'user.id', allocations: [{ variant: 'a', weight: 4000 }] })] }),
  flagDef({ id: 'archived', state: 'ARCHIVED', defaultVariant: 'a' }),
  flagDef({ id: 'other-project', project: 'mobile', defaultVariant: 'a' }),
  flagDef({ id: 'secret', secret: true, defaultVariant: 'b' }),
  flagDef({ id: 'config', kind: 'OBJECT', variants: [{ name: 'v', value: { on: true } }], defaultVariant: 'v' }),
  flagDef({ id: 'broken', defaultVariant: 'nope' }),
].map(compileFlag);
const byId = new Map(flags.map((f) => [f.id, f]));

function setup() {
  const tokens = new ResolveTokens(Buffer.alloc(32, 3));
  const resolver = new FlagResolver({ flags: () => flags, flag: (id) => byId.get(id) }, { insert: async () => 0 }, () => new Date(), tokens);
  return { resolver, tokens };
}

const contexts = fc.record(
  {
    targeting_key: fc.oneof(fc.string(), fc.integer()),
    country: fc.constantFrom('SE', 'NO', 'DK'),
    plan: fc.constantFrom('pro', 'free'),
    user: fc.record({ id: fc.string({ minLength: 1 }) }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);
const principals = fc.record({
  class: fc.constantFrom('SECRET' as const, 'PUBLISHABLE' as const),
  projects: fc.constantFrom<string[]>(['*'], ['default'], ['mobile'], ['default', 'mobile'], []),
  environments: fc.constantFrom<string[]>(['production'], ['staging'], [], ['staging', 'production']),
});

describe('FlagResolver resolve-all', () => {
  it('answers what each visible flag answers by name and by resolveFlag, in id order, for every mode and credential', () => {
    const { resolver } = setup();
    fc.assert(
      fc.property(contexts, principals, fc.constantFrom('flags' as const, 'configs' as const, 'all' as const), (ctx, p, mode) => {
        const me = principal(p);
        const all = resolver.resolve(me, [], ctx, mode).resolved;
        const visible = flags.filter((f) => (p.projects.includes('*') || p.projects.includes(f.project)) && (!f.secret || p.class === 'SECRET'));
        const served = visible.filter((f) => mode === 'all' || (f.kind === 'OBJECT') === (mode === 'configs'));
        expect(all.map((r) => r.flag)).toEqual(served.map((f) => `flags/${f.id}`));
        const named = resolver.resolve(me, served.map((f) => `flags/${f.id}`), ctx, mode).resolved;
        expect(all).toEqual(named);
        const expectKind = mode === 'configs' ? 'config' : mode === 'flags' ? 'flag' : undefined;
        served.forEach((f, i) => {
          const r = resolveFlag(f, ctx, environmentFilter(p.environments), { expectKind });
          expect(all[i]).toEqual({ flag: `flags/${f.id}`, variant: r.variant, value: r.value, reason: r.reason, errorMessage: r.errorMessage, rule: r.rule });
        });
      }),
      { numRuns: 500 },
    );
  });

  it('signs the same token ResolveTokens.encode makes of its content, and ApplyFlags reads it back', () => {
    const { resolver, tokens } = setup();
    fc.assert(
      fc.property(contexts, principals, (ctx, p) => {
        const result = resolver.resolve(principal(p), [], ctx, 'flags');
        const expected: Record<string, string | null> = {};
        for (const r of result.resolved) expected[r.flag.slice('flags/'.length)] = r.variant ?? null;
        expect(result.token).toEqual({ resolveId: result.resolveId, credential: 'clients/app/credentials/backend', variants: expected });
        expect(result.resolveToken).toBe(tokens.encode(result.token));
        expect(tokens.decode(result.resolveToken)).toEqual(result.token);
      }),
      { numRuns: 200 },
    );
  });

  it('hands out the same frozen answer objects to every request until a flag changes', () => {
    const { resolver } = setup();
    const first = resolver.resolve(principal(), [], { country: 'SE', targeting_key: 'u' }, 'flags').resolved;
    const second = resolver.resolve(principal(), [], { country: 'SE', targeting_key: 'u' }, 'flags').resolved;
    first.forEach((r, i) => {
      expect(Object.isFrozen(r)).toBe(true);
      expect(second[i]).toBe(r);
    });
  });
});
