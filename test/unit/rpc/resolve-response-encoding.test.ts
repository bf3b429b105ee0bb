/**
 * The lean path's response encoders (concatenated cached pieces) against the reflection-built
 * response the Connect handler answers with: for any input, both encodings must decode to the same
 * message, and are in fact the same bytes and the same text.
 */
import fc from 'fast-check';
import { equals, fromBinary, fromJsonString, toBinary, toJson, toJsonString } from '@bufbuild/protobuf';
import { ValueSchema } from '@bufbuild/protobuf/wkt';
import { ResolveFlagsResponseSchema } from '../../../gen/latchkey/flags/resolver/v1/resolver_service_pb.js';
import { compileFlag, type CompiledFlag } from '../../../src/flags/compile.js';
import { frozenCopy } from '../../../src/flags/json.js';
import type { FlagDefinition, JsonValue } from '../../../src/flags/model.js';
import { FlagResolver } from '../../../src/resolver/flag-resolver.js';
import type { ResolvedFlag, ResolveReason } from '../../../src/resolver/model.js';
import { ResolveTokens } from '../../../src/resolver/resolve-token.js';
import { encodeResolveResponseBinary, encodeResolveResponseJson, resolveResponseMessage, type ResolveResponseParts } from '../../../src/rpc/resolve-response-encoding.js';
import { cond, flagDef, principalDef, ruleDef } from '../flags/helpers.js';

const REASONS: ResolveReason[] = ['MATCH', 'DEFAULT', 'NO_RULE_MATCH', 'FLAG_ARCHIVED', 'FLAG_NOT_FOUND', 'TARGETING_KEY_ERROR', 'TYPE_MISMATCH', 'ERROR'];

/** Strings with what JSON and UTF-8 make interesting: empty, quotes, escapes, astral characters. */
const text = fc.oneof(
  fc.constantFrom('', 'control', 'flags/checkout', '"quoted"', 'back\\slash', 'line\nbreak', '\u0000\u001f', 'ünïcödé', '日本語', '🚀 emoji', '\u2028\u2029'),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
);

/** JSON values as google.protobuf.Value carries them (finite numbers only; no `__proto__` key). */
const jsonValue: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    text,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(text.filter((k) => k !== '__proto__'), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** An answer as the resolver serves it (frozen, shared) or as a caller might build one (plain). */
const resolvedFlag: fc.Arbitrary<ResolvedFlag> = fc
  .record({
    flag: text,
    variant: fc.option(text, { nil: undefined }),
    value: fc.option(jsonValue, { nil: undefined }),
    reason: fc.constantFrom(...REASONS),
    errorMessage: fc.option(text, { nil: undefined }),
    frozen: fc.boolean(),
  })
  .map(({ frozen, ...r }): ResolvedFlag => {
    if (!frozen) return r;
    return Object.freeze({ ...r, value: r.value === undefined ? undefined : frozenCopy(r.value) });
  });

const parts: fc.Arbitrary<ResolveResponseParts> = fc.record({
  resolved: fc.array(resolvedFlag, { maxLength: 12 }),
  resolveToken: text,
  resolveId: text,
});

/** Both encodings decode to the reflection-built message, and are its exact bytes and text. */
function expectEquivalent(p: ResolveResponseParts): void {
  const reference = resolveResponseMessage(p);
  const referenceBytes = toBinary(ResolveFlagsResponseSchema, reference);
  const referenceJson = toJsonString(ResolveFlagsResponseSchema, reference);
  const bytes = encodeResolveResponseBinary(p);
  const json = encodeResolveResponseJson(p);
  expect(equals(ResolveFlagsResponseSchema, fromBinary(ResolveFlagsResponseSchema, bytes), fromBinary(ResolveFlagsResponseSchema, referenceBytes))).toBe(true);
  expect(equals(ResolveFlagsResponseSchema, fromJsonString(ResolveFlagsResponseSchema, json), fromJsonString(ResolveFlagsResponseSchema, referenceJson))).toBe(true);
  expect(Buffer.from(bytes).equals(Buffer.from(referenceBytes))).toBe(true);
  expect(json).toBe(referenceJson);
}

describe('encodeResolveResponseBinary / encodeResolveResponseJson', () => {
  it('decode to the reflection-built response for generated answers, first (building) and second (cached) time', () => {
    fc.assert(
      fc.property(parts, (p) => {
        expectEquivalent(p);
        expectEquivalent(p);
      }),
      { numRuns: 1500 },
    );
  });

  it('encode an empty response as the reflection does (no fields at all)', () => {
    expectEquivalent({ resolved: [], resolveToken: '', resolveId: '' });
    expect(encodeResolveResponseBinary({ resolved: [], resolveToken: '', resolveId: '' })).toHaveLength(0);
    expect(encodeResolveResponseJson({ resolved: [], resolveToken: '', resolveId: '' })).toBe('{}');
  });

  it('spell out each kind of answer exactly (FLAG_NOT_FOUND, errors, every value type, empty strings)', () => {
    const answers: ResolvedFlag[] = [
      { flag: 'flags/nope', variant: undefined, value: undefined, reason: 'FLAG_NOT_FOUND', errorMessage: undefined },
      { flag: 'bad', variant: undefined, value: undefined, reason: 'FLAG_NOT_FOUND', errorMessage: 'flag names look like flags/<id>' },
      Object.freeze({ flag: 'flags/t', variant: undefined, value: undefined, reason: 'TYPE_MISMATCH' as const, errorMessage: 'flag "t" is of kind STRING, not BOOLEAN' }),
      Object.freeze({ flag: 'flags/o', variant: 'on', value: frozenCopy({ a: [1, 'x', null, true], 'ü': { deep: -1.5 } }), reason: 'MATCH' as const, errorMessage: undefined }),
      Object.freeze({ flag: 'flags/l', variant: 'l', value: frozenCopy([]), reason: 'DEFAULT' as const, errorMessage: undefined }),
      Object.freeze({ flag: 'flags/n', variant: 'n', value: 0, reason: 'MATCH' as const, errorMessage: undefined }),
      Object.freeze({ flag: 'flags/s', variant: '', value: '', reason: 'MATCH' as const, errorMessage: '' }),
      Object.freeze({ flag: 'flags/z', variant: 'z', value: null, reason: 'MATCH' as const, errorMessage: undefined }),
      Object.freeze({ flag: 'flags/b', variant: 'off', value: false, reason: 'DEFAULT' as const, errorMessage: undefined }),
    ];
    const p = { resolved: answers, resolveToken: 'token.sig', resolveId: 'id' };
    expectEquivalent(p);
    expect(JSON.parse(encodeResolveResponseJson(p))).toEqual({
      resolvedFlags: [
        { flag: 'flags/nope', reason: 'RESOLVE_REASON_FLAG_NOT_FOUND' },
        { flag: 'bad', reason: 'RESOLVE_REASON_FLAG_NOT_FOUND', errorMessage: 'flag names look like flags/<id>' },
        { flag: 'flags/t', reason: 'RESOLVE_REASON_TYPE_MISMATCH', errorMessage: 'flag "t" is of kind STRING, not BOOLEAN' },
        { flag: 'flags/o', variant: 'on', value: { a: [1, 'x', null, true], 'ü': { deep: -1.5 } }, reason: 'RESOLVE_REASON_MATCH' },
        { flag: 'flags/l', variant: 'l', value: [], reason: 'RESOLVE_REASON_DEFAULT' },
        { flag: 'flags/n', variant: 'n', value: 0, reason: 'RESOLVE_REASON_MATCH' },
        { flag: 'flags/s', value: '', reason: 'RESOLVE_REASON_MATCH' },
        { flag: 'flags/z', variant: 'z', value: null, reason: 'RESOLVE_REASON_MATCH' },
        { flag: 'flags/b', variant: 'off', value: false, reason: 'RESOLVE_REASON_DEFAULT' },
      ],
      resolveToken: 'token.sig',
      resolveId: 'id',
    });
  });

  it('never serves a stale encoding of a plain answer that was changed after it was encoded', () => {
    const r: ResolvedFlag = { flag: 'flags/p', variant: 'a', value: { size: 1 }, reason: 'MATCH', errorMessage: undefined };
    const p = { resolved: [r], resolveToken: 't', resolveId: 'i' };
    expect(encodeResolveResponseJson(p)).toContain('"size":1');
    (r.value as { size: number }).size = 2;
    expectEquivalent(p);
    expect(encodeResolveResponseJson(p)).toContain('"variant":"a","value":{"size":2}');
    expect(toJson(ValueSchema, fromBinary(ResolveFlagsResponseSchema, encodeResolveResponseBinary(p)).resolvedFlags[0]!.value!)).toEqual({ size: 2 });
  });
});

describe('the encoders over the real resolver', () => {
  const principal = principalDef({ scopes: ['flags:read', 'configs:read'] });

  /** A catalog that can be edited, as the flag catalog replaces a compiled flag on change. */
  function catalogOf(defs: FlagDefinition[]) {
    const byId = new Map<string, CompiledFlag>(defs.map((d) => [d.id, compileFlag(d)]));
    const sorted = () => [...byId.keys()].sort().map((id) => byId.get(id)!);
    let flags = sorted();
    return {
      flags: () => flags,
      flag: (id: string) => byId.get(id),
      put(def: FlagDefinition) {
        byId.set(def.id, compileFlag(def));
        flags = sorted();
      },
    };
  }

  const definitions: FlagDefinition[] = [
    flagDef({ id: 'split', defaultVariant: 'c', rules: [ruleDef({ name: 'half', conditions: [cond('country', 'IN', 'SE', 'NO')], allocations: [{ variant: 'a', weight: 5000 }, { variant: 'b', weight: 5000 }] })] }),
    flagDef({ id: 'no-default', rules: [ruleDef({ conditions: [cond('plan', 'EQUALS', 'pro')] })] }),
    flagDef({ id: 'staging-only', defaultVariant: 'b', rules: [ruleDef({ environments: ['staging'] })] }),
    flagDef({ id: 'needs-key', rules: [ruleDef({ randomizationUnit: 'user.id', allocations: [{ variant: 'a', weight: 3000 }, { variant: 'b', weight: 7000 }] })] }),
    flagDef({ id: 'archived', state: 'ARCHIVED', defaultVariant: 'a' }),
    flagDef({ id: 'secret', secret: true, defaultVariant: 'b' }),
    flagDef({ id: 'config', kind: 'OBJECT', variants: [{ name: 'v1', value: { theme: 'dark', sizes: [1, 2], nested: { ok: true, none: null } } }], defaultVariant: 'v1' }),
    flagDef({ id: 'broken', defaultVariant: 'missing' }),
    flagDef({ id: 'toggle', kind: 'BOOLEAN', variants: [{ name: 'on', value: true }, { name: 'off', value: false }], defaultVariant: 'off', rules: [ruleDef({ conditions: [cond('beta', 'EQUALS', true)], allocations: [{ variant: 'on', weight: 10000 }] })] }),
    flagDef({ id: 'count', kind: 'NUMBER', variants: [{ name: 'low', value: 0 }, { name: 'high', value: 1e21 }], defaultVariant: 'low', rules: [ruleDef({ allocations: [{ variant: 'high', weight: 2500 }] })] }),
    flagDef({ id: 'text', variants: [{ name: 'empty', value: '' }, { name: 'uni', value: 'ünï 🚀 "q"' }], defaultVariant: 'uni' }),
  ];

  const contexts = fc.record(
    {
      targeting_key: fc.oneof(fc.string(), fc.integer(), fc.constant('')),
      country: fc.constantFrom('SE', 'NO', 'DK'),
      plan: fc.constantFrom('pro', 'free'),
      beta: fc.boolean(),
      user: fc.record({ id: fc.oneof(fc.string({ minLength: 1 }), fc.integer()) }, { requiredKeys: [] }),
    },
    { requiredKeys: [] },
  );
  const names = fc.array(fc.constantFrom(...definitions.map((d) => `flags/${d.id}`), 'flags/nope', 'no-prefix', 'flags/', ''), { maxLength: 8 });

  it('resolve-all and named resolves, every mode, for generated contexts: the same message as by reflection', () => {
    const catalog = catalogOf(definitions);
    const resolver = new FlagResolver(catalog, { insert: async () => 0 }, () => new Date(), new ResolveTokens(Buffer.alloc(32, 7)));
    const seen = new Set<string>();
    fc.assert(
      fc.property(contexts, names, fc.constantFrom('flags' as const, 'configs' as const, 'all' as const), (ctx, asked, mode) => {
        for (const result of [resolver.resolve(principal, [], ctx, mode), resolver.resolve(principal, asked, ctx, mode)]) {
          expectEquivalent(result);
          for (const r of result.resolved) seen.add(r.reason);
        }
      }),
      { numRuns: 600 },
    );
    // The generated requests reached every reason a resolve can give.
    expect([...seen].sort()).toEqual([...REASONS].sort());
  });

  it('after a flag edit, serves the new value (never the encoding cached for the old one)', () => {
    const catalog = catalogOf(definitions);
    const resolver = new FlagResolver(catalog, { insert: async () => 0 }, () => new Date(), new ResolveTokens(Buffer.alloc(32, 7)));
    const configOf = (json: string) => (JSON.parse(json) as { resolvedFlags: { flag: string; value: unknown }[] }).resolvedFlags.find((r) => r.flag === 'flags/config')?.value;
    const valueIn = (bytes: Uint8Array) => fromBinary(ResolveFlagsResponseSchema, bytes).resolvedFlags.find((r) => r.flag === 'flags/config')?.value;
    const bytesOf = (bytes: Uint8Array) => {
      const v = valueIn(bytes);
      return v === undefined ? undefined : toJson(ValueSchema, v);
    };
    const before = resolver.resolve(principal, [], {}, 'configs');
    expect(configOf(encodeResolveResponseJson(before))).toEqual({ theme: 'dark', sizes: [1, 2], nested: { ok: true, none: null } });
    expect(bytesOf(encodeResolveResponseBinary(before))).toEqual({ theme: 'dark', sizes: [1, 2], nested: { ok: true, none: null } });

    // The same flag, the same variant name, a new value: as an admin's UpdateFlag leaves it.
    catalog.put(flagDef({ id: 'config', kind: 'OBJECT', variants: [{ name: 'v1', value: { theme: 'light' } }], defaultVariant: 'v1' }));
    const after = resolver.resolve(principal, ['flags/config'], {}, 'configs');
    expectEquivalent(after);
    expect(configOf(encodeResolveResponseJson(after))).toEqual({ theme: 'light' });
    expect(bytesOf(encodeResolveResponseBinary(after))).toEqual({ theme: 'light' });
    expect(configOf(encodeResolveResponseJson(resolver.resolve(principal, [], {}, 'configs')))).toEqual({ theme: 'light' });
    // The earlier response's answers still encode as what they were.
    expect(configOf(encodeResolveResponseJson(before))).toEqual({ theme: 'dark', sizes: [1, 2], nested: { ok: true, none: null } });
  });
});
