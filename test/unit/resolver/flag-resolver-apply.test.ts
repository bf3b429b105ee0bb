import type { CredentialPrincipal } from '../../../src/auth/principal.js';
import { DomainError } from '../../../src/domain/errors.js';
import { compileFlag } from '../../../src/flags/compile.js';
import { FlagResolver } from '../../../src/resolver/flag-resolver.js';
import type { FlagApply, FlagApplyStore } from '../../../src/resolver/model.js';
import { ResolveTokens } from '../../../src/resolver/resolve-token.js';
import { flagDef, principalDef } from '../flags/helpers.js';

const NOW = new Date('2026-11-23T10:00:00.000Z');
const principal = (name: string, cls: CredentialPrincipal['class'] = 'SECRET'): CredentialPrincipal => principalDef({ name, class: cls });

/** What the resolver hands the store, call by call. */
class RecordingStore implements FlagApplyStore {
  readonly calls: Pick<FlagApply, 'resolveId' | 'flag' | 'variant' | 'credential' | 'applyTime'>[][] = [];
  async insert(applies: readonly FlagApply[]): Promise<number> {
    this.calls.push(applies.map(({ resolveId, flag, variant, credential, applyTime }) => ({ resolveId, flag, variant, credential, applyTime })));
    return applies.length;
  }
}

function setup() {
  const flags = [
    compileFlag(flagDef({ id: 'checkout', defaultVariant: 'a' })),
    compileFlag(flagDef({ id: 'banner', defaultVariant: 'b' })),
    compileFlag(flagDef({ id: 'kill-switch', defaultVariant: 'c', secret: true })),
  ];
  const store = new RecordingStore();
  const resolver = new FlagResolver({ flags: () => flags, flag: (id) => flags.find((f) => f.definition.id === id) }, store, () => NOW, new ResolveTokens(Buffer.alloc(32, 1)));
  return { store, resolver };
}

describe('FlagResolver exposures', () => {
  it('apply=true records each served flag once, FLAG_NOT_FOUND ones not at all', async () => {
    const { store, resolver } = setup();
    const me = principal('clients/app/credentials/browser', 'PUBLISHABLE');
    const result = resolver.resolve(me, ['flags/checkout', 'flags/kill-switch', 'flags/nope', 'flags/banner'], {}, 'flags');
    expect(await resolver.applyResolved(result)).toBe(2);
    expect(store.calls).toEqual([
      [
        { resolveId: result.resolveId, flag: 'flags/checkout', variant: 'a', credential: me.name, applyTime: NOW },
        { resolveId: result.resolveId, flag: 'flags/banner', variant: 'b', credential: me.name, applyTime: NOW },
      ],
    ]);
  });

  it('ApplyFlags hands the store one exposure per flag, the first mention counting', async () => {
    const { store, resolver } = setup();
    const me = principal('clients/app/credentials/server');
    const { resolveToken, resolveId } = resolver.resolve(me, ['flags/checkout', 'flags/banner'], {}, 'flags');
    const t1 = new Date('2026-11-23T09:00:00.000Z');
    const t2 = new Date('2026-11-23T09:30:00.000Z');
    await resolver.apply(me, resolveToken, [
      { flag: 'flags/checkout', applyTime: t1 },
      { flag: 'checkout', applyTime: t2 },
      { flag: 'flags/banner', applyTime: undefined },
      { flag: 'flags/checkout', applyTime: undefined },
    ]);
    expect(store.calls).toEqual([
      [
        { resolveId, flag: 'flags/checkout', variant: 'a', credential: me.name, applyTime: t1 },
        { resolveId, flag: 'flags/banner', variant: 'b', credential: me.name, applyTime: NOW },
      ],
    ]);
  });

  it('refuses a flag name the token does not hold, including Object.prototype names', async () => {
    const { store, resolver } = setup();
    const me = principal('clients/app/credentials/server');
    const { resolveToken } = resolver.resolve(me, ['flags/checkout'], {}, 'flags');
    const err = await resolver.apply(me, resolveToken, [{ flag: 'flags/toString', applyTime: undefined }, { flag: '__proto__', applyTime: undefined }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).fieldViolations).toEqual([
      { field: 'flags[0].flag', description: 'flags/toString was not resolved with this token' },
      { field: 'flags[1].flag', description: '__proto__ was not resolved with this token' },
    ]);
    expect(store.calls).toEqual([]);
  });
});
