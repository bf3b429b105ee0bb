/**
 * In-process cost of resolving every flag for one context, without HTTP: the resolver and the
 * response encoders alone, in CPU µs per flag, for catalogs of 200, 2 000 and 10 000 flags shaped
 * like `npm run bench` seeds them (3 rules each: production, staging, everywhere; a country IN
 * condition; a 50/50 split), resolved by a SECRET credential bound to production.
 *
 *   npx tsx bench/resolve-all-profile.ts                 # the table
 *   npx tsx --cpu-prof --cpu-prof-dir=/tmp/prof bench/resolve-all-profile.ts 2000   # a V8 profile
 *
 * Rows: `resolve` (FlagResolver.resolve alone, token included), `+binary` / `+json` (resolve and
 * the lean path's encoders), `+connect bin` / `+connect json` (resolve, the messages the Connect
 * handler returns, and the adapter's own serialisation of them). It also reports the longest
 * single resolve-all + JSON encode of the largest catalog: how long one call holds the event loop.
 *
 * CPU time from process.cpuUsage (user + system) over many calls; the machine is shared, so the
 * modes are measured in alternating rounds and the median round is reported.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { create, toBinary, toJsonString } from '@bufbuild/protobuf';
import { ResolveFlagsResponseSchema } from '../gen/latchkey/flags/resolver/v1/resolver_service_pb.js';
import type { CredentialPrincipal } from '../src/auth/principal.js';
import { compileFlag, type CompiledFlag } from '../src/flags/compile.js';
import type { FlagDefinition } from '../src/flags/model.js';
import { FlagResolver, type CompiledFlags } from '../src/resolver/flag-resolver.js';
import { ResolveTokens } from '../src/resolver/resolve-token.js';
import { resolvedFlagToProto } from '../src/rpc/flag-resolver-service.js';
import { encodeResolveResponseBinary, encodeResolveResponseJson } from '../src/rpc/resolve-response-encoding.js';

const SIZES = process.argv.slice(2).map(Number).filter((n) => n > 0);
const sizes = SIZES.length > 0 ? SIZES : [200, 2000, 10000];
const ROUNDS = Number(process.env.PROFILE_ROUNDS ?? 7);
/** Flags resolved per round and mode (calls = this ÷ catalog size, at least 3). */
const FLAGS_PER_ROUND = Number(process.env.PROFILE_FLAGS_PER_ROUND ?? 400_000);

function definition(i: number): FlagDefinition {
  return {
    id: `flag-${i}`,
    project: 'default',
    description: '',
    state: 'ACTIVE',
    secret: false,
    kind: 'STRING',
    variants: [
      { name: 'control', value: 'control' },
      { name: 'treatment', value: 'treatment' },
    ],
    defaultVariant: 'control',
    rules: [0, 1, 2].map((r) => ({
      name: `rule-${r}`,
      enabled: true,
      environments: [['production'], ['staging'], []][r % 3]!,
      conditions: [{ attribute: 'country', operator: 'IN' as const, values: ['SE', 'NO', 'DK'] }],
      randomizationUnit: '',
      allocations: [
        { variant: 'control', weight: 5000 },
        { variant: 'treatment', weight: 5000 },
      ],
    })),
    salt: randomBytes(8).toString('hex'),
  };
}

function catalogOf(n: number): CompiledFlags {
  const byId = new Map<string, CompiledFlag>();
  for (let i = 0; i < n; i++) byId.set(`flag-${i}`, compileFlag(definition(i)));
  const sorted = [...byId.keys()].sort().map((id) => byId.get(id)!);
  return { flags: () => sorted, flag: (id) => byId.get(id) };
}

const principal: CredentialPrincipal = {
  kind: 'credential',
  name: 'clients/bench/credentials/backend',
  client: 'clients/bench',
  class: 'SECRET',
  environments: ['production'],
  projects: ['*'],
  scopes: ['flags:read'],
};
const context = { targeting_key: 'user-42', country: 'SE' };
const noApplies = { insert: () => Promise.resolve(0) };

type Mode = 'resolve' | '+binary' | '+json' | '+connect bin' | '+connect json';
const MODES: Mode[] = ['resolve', '+binary', '+json', '+connect bin', '+connect json'];

function call(resolver: FlagResolver, mode: Mode): number {
  const result = resolver.resolve(principal, [], context, 'flags');
  switch (mode) {
    case 'resolve':
      return result.resolved.length;
    case '+binary':
      return encodeResolveResponseBinary(result).length;
    case '+json':
      return encodeResolveResponseJson(result).length;
    case '+connect bin':
    case '+connect json': {
      const message = create(ResolveFlagsResponseSchema, {
        resolvedFlags: result.resolved.map(resolvedFlagToProto),
        resolveToken: result.resolveToken,
        resolveId: result.resolveId,
      });
      return mode === '+connect bin' ? toBinary(ResolveFlagsResponseSchema, message).length : toJsonString(ResolveFlagsResponseSchema, message).length;
    }
  }
}

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const rows: Record<string, Record<Mode, number>> = {};
for (const n of sizes) {
  const resolver = new FlagResolver(catalogOf(n), noApplies, () => new Date(), new ResolveTokens(randomBytes(32)));
  const calls = Math.max(3, Math.round(FLAGS_PER_ROUND / n));
  for (const mode of MODES) for (let i = 0; i < calls; i++) call(resolver, mode); // warm-up
  const perFlag: Record<Mode, number[]> = Object.fromEntries(MODES.map((m) => [m, []])) as unknown as Record<Mode, number[]>;
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of MODES) {
      const start = cpuUs();
      for (let i = 0; i < calls; i++) call(resolver, mode);
      perFlag[mode].push((cpuUs() - start) / calls / n);
    }
  }
  rows[n] = Object.fromEntries(MODES.map((m) => [m, median(perFlag[m])])) as Record<Mode, number>;
  const line = MODES.map((m) => `${m} ${rows[n]![m].toFixed(3)}`).join('  ');
  console.log(`${String(n).padStart(6)} flags, CPU µs per flag: ${line}`);
}

// How long one resolve-all holds the event loop: the longest of a series of wall-clock timings.
const largest = Math.max(...sizes);
{
  const resolver = new FlagResolver(catalogOf(largest), noApplies, () => new Date(), new ResolveTokens(randomBytes(32)));
  for (const mode of ['+json', '+binary', '+connect json'] as const) {
    for (let i = 0; i < 5; i++) call(resolver, mode);
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      call(resolver, mode);
      times.push(performance.now() - t);
    }
    console.log(`resolve-all of ${largest} ${mode}: event loop held ${median(times).toFixed(2)} ms median, ${Math.max(...times).toFixed(2)} ms max of 20`);
  }
}

if (sizes.includes(200) && sizes.includes(10000)) {
  for (const mode of MODES) {
    const ratio = (rows[10000]![mode] * 10000) / (rows[200]![mode] * 200);
    console.log(`${mode}: resolve-all of 10000 ÷ resolve-all of 200 = ${ratio.toFixed(1)} (target ≤ 50)`);
  }
}
