/**
 * A resolve-all of a large catalog, for the RPC handlers, yields to the event loop between slices
 * (FlagResolver.resolveYielding): the answer and the token are what `resolve` gives, other work
 * runs while it is under way, and a catalog change during it does not mix two catalogs.
 */
import { compileFlag, type CompiledFlag } from '../../../src/flags/compile.js';
import { FlagResolver } from '../../../src/resolver/flag-resolver.js';
import { ResolveTokens } from '../../../src/resolver/resolve-token.js';
import { cond, flagDef, principalDef, ruleDef } from '../flags/helpers.js';

const principal = principalDef();
const context = { targeting_key: 'user-42', country: 'SE' };

const catalogOf = (count: number, defaultVariant: string): CompiledFlag[] =>
  Array.from({ length: count }, (_, i) =>
    compileFlag(
      flagDef({
        id: `flag-${String(i).padStart(5, '0')}`,
        defaultVariant,
        rules: [ruleDef({ environments: ['production'], conditions: [cond('country', 'IN', 'SE', 'NO')], allocations: [{ variant: 'a', weight: 5000 }, { variant: 'b', weight: 5000 }] })],
      }),
    ),
  );

function setup(initial: CompiledFlag[]) {
  let current = initial;
  const catalog = { flags: () => current, flag: (id: string) => current.find((f) => f.id === id) };
  const resolver = new FlagResolver(catalog, { insert: async () => 0 }, () => new Date(), new ResolveTokens(Buffer.alloc(32, 7)));
  return { resolver, replace: (next: CompiledFlag[]) => (current = next) };
}

/** The token without its resolve id (random per call), for comparing two resolves. */
const tokenBody = (tokens: ResolveTokens, token: string) => {
  const { resolveId: _ignored, ...rest } = tokens.decode(token);
  return rest;
};

describe('FlagResolver.resolveYielding', () => {
  const tokens = new ResolveTokens(Buffer.alloc(32, 7));

  it('answers a small catalog, and named flags, at once, without a promise', () => {
    const { resolver } = setup(catalogOf(1000, 'a'));
    expect(resolver.resolveYielding(principal, [], context, 'flags')).not.toBeInstanceOf(Promise);
    const big = setup(catalogOf(2500, 'a'));
    expect(big.resolver.resolveYielding(principal, ['flags/flag-00001'], context, 'flags')).not.toBeInstanceOf(Promise);
  });

  it('answers a large catalog in slices with exactly what resolve answers, and signs the same token', async () => {
    const { resolver } = setup(catalogOf(2500, 'a'));
    const pending = resolver.resolveYielding(principal, [], context, 'flags');
    expect(pending).toBeInstanceOf(Promise);
    const sliced = await pending;
    const whole = resolver.resolve(principal, [], context, 'flags');
    expect(sliced.resolved).toHaveLength(2500);
    expect(sliced.resolved).toEqual(whole.resolved);
    expect(tokenBody(tokens, sliced.resolveToken)).toEqual(tokenBody(tokens, whole.resolveToken));
    expect(sliced.token).toEqual({ ...whole.token, resolveId: sliced.resolveId });
  });

  it('lets other work run between its slices', async () => {
    const { resolver } = setup(catalogOf(3500, 'a'));
    const order: string[] = [];
    const pending = Promise.resolve(resolver.resolveYielding(principal, [], context, 'flags')).then(() => order.push('resolved'));
    setImmediate(() => order.push('other work'));
    await pending;
    expect(order).toEqual(['other work', 'resolved']);
  });

  it('walks the catalog as it was when the call began, whatever changes meanwhile', async () => {
    const { resolver, replace } = setup(catalogOf(2500, 'a'));
    const pending = resolver.resolveYielding(principal, [], context, 'flags');
    replace(catalogOf(10, 'b'));
    const result = await pending;
    expect(result.resolved).toHaveLength(2500);
  });
});
