/**
 * latchkey flags as Unleash client features (`GET /api/client/features`), evaluated by the server
 * SDK itself. The translation is exact or it is not made:
 *
 * 1. Rules become strategies. A rule that gives every unit one variant is a `default` strategy
 *    with that variant; a rule that splits units is a `flexibleRollout` whose `stickiness` is the
 *    Unleash field of the rule's randomization unit and whose `rollout` is the rule's total weight
 *    in whole percents, with the variants and their weights as strategy variants. The default
 *    variant is a last `default` strategy. Every flexibleRollout of a flag has the flag id as its
 *    `groupId`, so all of them cut one hash of the unit, as latchkey's rules all cut one bucket.
 * 2. Unleash takes the first enabled strategy and has nothing that stops with "disabled", which
 *    latchkey does: a rule serving a BOOLEAN `false`, the `false` share of a split, and a rule whose
 *    unit is missing (TARGETING_KEY_ERROR, no value). Such a region is kept out of every later
 *    strategy by constraints (each later strategy gets a copy per negated condition) and by the
 *    later strategy's own rollout (the unit must be present; the `false` share is kept out of its
 *    percentage). Where that cannot be written (another unit, a share that is not at the top of
 *    the hash range), the flag is untranslatable.
 * 3. An untranslatable flag whose answer does not depend on the context at all (for this
 *    credential's environments) is served as that answer: a `default` strategy with its variant,
 *    or disabled. Any other untranslatable flag is left out, and named in the response header
 *    `X-Latchkey-Untranslated-Flags`.
 *
 * Unleash SDKs hash units with their own function, so a server SDK splits users into the same
 * shares as latchkey but not into the same users (README). Within one rule the shares are exact;
 * across rules splitting the same unit, later strategies use the same hash, so a unit that an
 * earlier rule's share did not take meets the later rule exactly as in latchkey.
 */
import { compileFlag, type CompiledFlag, type CompiledRule } from '../../flags/compile.js';
import type { FlagDefinition, JsonValue, Rule } from '../../flags/model.js';
import { compileCondition } from '../../flags/conditions.js';
import { ALWAYS, Untranslatable, andDnf, conditionToDnf, conjoin, negateDnf, type Clause, type Dnf, type UnleashConstraint } from './constraints.js';
import { contextFieldOf } from './context.js';
import { DISABLED, servedKey, servedOf, type Served, type UnleashPayload } from './served.js';

/** Strategies one flag may become (copies made by negated conditions included). */
export const MAX_STRATEGIES = 100;
/** Basis points per percent: Unleash rolls out whole percents. */
const PER_PERCENT = 100;

export interface UnleashStrategyVariant {
  name: string;
  /** Relative weight (latchkey's basis points); SDKs pick by weight / total. */
  weight: number;
  weightType: 'variable';
  stickiness: string;
  payload?: UnleashPayload;
}

export interface UnleashStrategy {
  name: 'default' | 'flexibleRollout';
  constraints: UnleashConstraint[];
  parameters: Record<string, string>;
  variants: UnleashStrategyVariant[];
}

/** Unleash's clientFeatureSchema. */
export interface UnleashClientFeature {
  name: string;
  type: 'release';
  description: string;
  enabled: boolean;
  stale: false;
  impressionData: false;
  project: string;
  strategies: UnleashStrategy[];
  variants: [];
}

export type FlagTranslation =
  /** Rules translated one to one (or more) into strategies. */
  | { outcome: 'translated'; feature: UnleashClientFeature }
  /** Not translatable, but the same answer for every context: served as that answer. */
  | { outcome: 'constant'; feature: UnleashClientFeature; reason: string }
  /** Neither: left out of the response. */
  | { outcome: 'untranslatable'; reason: string }
  /** Archived, or a stored definition that does not compile: no value to serve, left out. */
  | { outcome: 'unavailable' };

type On = Extract<Served, { enabled: true }>;

interface Candidate {
  constraints: Clause;
  /** flexibleRollout: hash of `stickiness` (1..100) at most `percent`; the field must be present. */
  rollout?: { stickiness: string; percent: number };
  variants: { served: On; weight: number }[];
}

/**
 * A region where latchkey stops with "disabled": `when` holds and, for a split, the unit is
 * missing or its hash is in (lo, hi] (empty when lo === hi).
 */
interface Stop {
  when: Dnf;
  notWhen: Dnf;
  tail?: { stickiness: string; lo: number; hi: number };
}

const untranslatable = (message: string) => new Untranslatable(message);

/** Translates one flag whose rules are already those of the credential's environments. */
export function translateFlag(def: FlagDefinition): FlagTranslation {
  const compiled = compileFlag(def);
  if (compiled.state === 'ARCHIVED' || compiled.compileError !== undefined) return { outcome: 'unavailable' };
  const rules = def.rules.filter((r) => r.enabled === true);
  if (rules.length !== compiled.rules.length) return { outcome: 'unavailable' };
  try {
    return { outcome: 'translated', feature: feature(def, strategiesOf(compiled, rules).map((c) => strategyJson(c, def.id))) };
  } catch (err) {
    if (!(err instanceof Untranslatable)) throw err;
    const constant = constantAnswer(compiled, rules);
    if (constant === undefined) return { outcome: 'untranslatable', reason: err.message };
    return { outcome: 'constant', feature: feature(def, constant.enabled ? [strategyJson({ constraints: [], variants: [{ served: constant, weight: 10000 }] }, def.id)] : []), reason: err.message };
  }
}

function feature(def: FlagDefinition, strategies: UnleashStrategy[]): UnleashClientFeature {
  return {
    name: def.id,
    type: 'release',
    description: def.description,
    enabled: strategies.length > 0,
    stale: false,
    impressionData: false,
    project: def.project,
    strategies,
    variants: [],
  };
}

function strategyJson(c: Candidate, groupId: string): UnleashStrategy {
  const stickiness = c.rollout?.stickiness ?? 'default';
  const variants = c.variants.map(({ served, weight }) => {
    const v: UnleashStrategyVariant = { name: served.variant, weight, weightType: 'variable', stickiness };
    if (served.payload) v.payload = served.payload;
    return v;
  });
  const constraints = c.constraints.map((x) => ({ ...x }));
  if (c.rollout === undefined) return { name: 'default', constraints, parameters: {}, variants };
  return { name: 'flexibleRollout', constraints, parameters: { rollout: String(c.rollout.percent), stickiness, groupId }, variants };
}

function valueOf(flag: CompiledFlag, variant: string): JsonValue {
  return flag.variants.get(variant)!;
}

function conditionsOf(rule: Rule): Dnf {
  let when: Dnf = ALWAYS;
  for (const condition of rule.conditions) {
    try {
      when = andDnf(when, conditionToDnf(condition), MAX_STRATEGIES);
    } catch (err) {
      if (err instanceof Untranslatable) throw untranslatable(`rule ${JSON.stringify(rule.name)}: ${err.message}`);
      throw err;
    }
    if (when.length === 0) break;
  }
  return when;
}

const isAlways = (d: Dnf) => d.length === 1 && d[0]!.length === 0;
const splits = (r: CompiledRule) => r.everyBucket === undefined && r.totalWeight > 0;

function strategiesOf(flag: CompiledFlag, rules: readonly Rule[]): Candidate[] {
  const out: Candidate[] = [];
  const stops: Stop[] = [];
  const splitFields = new Set<string>();
  const push = (candidate: Candidate) => {
    let set = [candidate];
    for (const stop of stops) set = set.flatMap((s) => guard(s, stop));
    out.push(...set);
    if (out.length > MAX_STRATEGIES) throw untranslatable(`it needs more than ${MAX_STRATEGIES} Unleash strategies`);
  };
  const stop = (when: Dnf, tail?: Stop['tail']) => stops.push({ when, notWhen: negateDnf(when, MAX_STRATEGIES), ...(tail && { tail }) });

  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    const cr = flag.rules[i]!;
    const when = conditionsOf(rule);
    if (when.length === 0) continue; // never applies to an Unleash context
    const unconditional = isAlways(when);

    if (cr.everyBucket !== undefined) {
      const served = servedOf(cr.everyBucket, valueOf(flag, cr.everyBucket));
      if (served.enabled) for (const clause of when) push({ constraints: clause, variants: [{ served, weight: 10000 }] });
      else stop(when);
      if (unconditional) return out;
      continue;
    }
    if (cr.totalWeight <= 0) continue;

    const field = contextFieldOf(cr.unitAttribute);
    if (field === undefined) {
      // Its unit is never in an Unleash context: latchkey always stops here with TARGETING_KEY_ERROR.
      stop(when);
      if (unconditional) return out;
      continue;
    }
    const total = cr.totalWeight;
    if (total % PER_PERCENT !== 0) throw untranslatable(`rule ${JSON.stringify(rule.name)} allocates ${total / 100} %; Unleash rolls out whole percents`);
    const allocations = cr.allocations.map((a) => ({ weight: a.weight, served: servedOf(a.variant, valueOf(flag, a.variant)) }));
    const fresh = !splitFields.has(field);
    splitFields.add(field);
    const splitLater = flag.rules.slice(i + 1).some((r) => splits(r) && contextFieldOf(r.unitAttribute) === field);
    let enabledEnd = 0;
    if (fresh) {
      // No earlier rule cut this unit's hash: within the rule only the shares matter, so the
      // enabled variants take the bottom of the range together (one strategy, weighted variants).
      const merged: { served: On; weight: number }[] = [];
      for (const a of allocations) {
        if (!a.served.enabled) continue;
        const same = merged.find((m) => m.served.variant === (a.served as On).variant);
        if (same) same.weight += a.weight;
        else merged.push({ served: a.served, weight: a.weight });
        enabledEnd += a.weight;
      }
      if (enabledEnd % PER_PERCENT !== 0) throw untranslatable(`rule ${JSON.stringify(rule.name)} enables ${enabledEnd / 100} % of units; Unleash rolls out whole percents`);
      if (enabledEnd > 0) for (const clause of when) push({ constraints: clause, rollout: { stickiness: field, percent: enabledEnd / PER_PERCENT }, variants: merged });
      const disabled = total - enabledEnd;
      // The disabled share sits above the enabled one; with no later rule on this unit it can sit
      // at the very top of the range, out of the way of later strategies' percentages.
      const tail =
        disabled === 0 || splitLater
          ? { stickiness: field, lo: enabledEnd / PER_PERCENT, hi: total / PER_PERCENT }
          : { stickiness: field, lo: 100 - disabled / PER_PERCENT, hi: 100 };
      stop(when, tail);
    } else {
      // An earlier rule cut this hash: every share keeps its place, as latchkey's buckets do.
      let cumulative = 0;
      let disabledSeen = false;
      for (const a of allocations) {
        cumulative += a.weight;
        if (!a.served.enabled) {
          disabledSeen = true;
          continue;
        }
        if (disabledSeen) throw untranslatable(`rule ${JSON.stringify(rule.name)} enables a share above a disabled one on a unit an earlier rule also splits`);
        if (cumulative % PER_PERCENT !== 0) throw untranslatable(`rule ${JSON.stringify(rule.name)} has a share ending at ${cumulative / 100} %; Unleash rolls out whole percents`);
        for (const clause of when) push({ constraints: clause, rollout: { stickiness: field, percent: cumulative / PER_PERCENT }, variants: [{ served: a.served, weight: a.weight }] });
        enabledEnd = cumulative;
      }
      stop(when, { stickiness: field, lo: enabledEnd / PER_PERCENT, hi: total / PER_PERCENT });
    }
    if (unconditional && total >= 10000) return out;
  }
  if (flag.defaultVariant !== undefined) {
    const served = servedOf(flag.defaultVariant, valueOf(flag, flag.defaultVariant));
    if (served.enabled) push({ constraints: [], variants: [{ served, weight: 10000 }] });
  }
  return out;
}

/** `s` with the region `stop` taken out, as strategies (none when nothing of `s` is left). */
function guard(s: Candidate, stop: Stop): Candidate[] {
  // Disjoint from the region, or already inside one negated clause: unchanged.
  if (stop.when.every((clause) => conjoin(s.constraints, clause) === undefined)) return [s];
  const inside = stop.notWhen.some((clause) => {
    const c = conjoin(s.constraints, clause);
    return c !== undefined && c.length === s.constraints.length;
  });
  if (inside) return [s];
  const restricted = stop.tail ? restrict(s, stop.tail) : undefined;
  // Already splitting by the unit, outside the disabled share: the region is out of reach.
  if (restricted && s.rollout && restricted.rollout!.percent === s.rollout.percent) return [s];
  const out: Candidate[] = [];
  for (const clause of stop.notWhen) {
    const constraints = conjoin(s.constraints, clause);
    if (constraints !== undefined) out.push({ ...s, constraints });
  }
  if (restricted) out.push(restricted);
  return out;
}

/** `s` where the unit is present and its hash is outside (lo, hi]; undefined when nothing is left. */
function restrict(s: Candidate, tail: NonNullable<Stop['tail']>): Candidate | undefined {
  if (s.rollout && s.rollout.stickiness !== tail.stickiness) {
    throw untranslatable(`a rule splitting by ${tail.stickiness} can stop without a value where a later rule splitting by ${s.rollout.stickiness} applies`);
  }
  const percent = s.rollout?.percent ?? 100;
  const rollout = (p: number) => ({ ...s, rollout: { stickiness: tail.stickiness, percent: p } });
  if (tail.lo === tail.hi || percent <= tail.lo) return rollout(percent);
  if (percent <= tail.hi) return tail.lo === 0 ? undefined : rollout(tail.lo);
  throw untranslatable(`a disabled share of ${tail.stickiness} lies below a later rule's share`);
}

/** Whether a rule's conditions hold for every Unleash context, for none, or depend on it (only attributes Unleash never carries are decided). */
function foldedConditions(rule: Rule): 'never' | 'always' | 'maybe' {
  let state: 'always' | 'maybe' = 'always';
  for (const condition of rule.conditions) {
    if (contextFieldOf(condition.attribute) !== undefined) state = 'maybe';
    else if (!compileCondition(condition).test(undefined)) return 'never';
  }
  return state;
}

/** The one answer the flag gives every context, or undefined when answers may differ. */
function constantAnswer(flag: CompiledFlag, rules: readonly Rule[]): Served | undefined {
  const answers = new Map<string, Served>();
  const add = (s: Served) => answers.set(servedKey(s), s);
  const done = () => (answers.size === 1 ? [...answers.values()][0] : undefined);
  for (let i = 0; i < rules.length; i++) {
    const state = foldedConditions(rules[i]!);
    const cr = flag.rules[i]!;
    if (state === 'never') continue;
    if (cr.everyBucket !== undefined) {
      add(servedOf(cr.everyBucket, valueOf(flag, cr.everyBucket)));
      if (state === 'always') return done();
      continue;
    }
    if (cr.totalWeight <= 0) continue;
    add(DISABLED); // the unit may be missing
    const reachable = contextFieldOf(cr.unitAttribute) !== undefined;
    if (reachable) for (const a of cr.allocations) add(servedOf(a.variant, valueOf(flag, a.variant)));
    if (state === 'always' && (!reachable || cr.totalWeight >= 10000)) return done();
  }
  add(flag.defaultVariant === undefined ? DISABLED : servedOf(flag.defaultVariant, valueOf(flag, flag.defaultVariant)));
  return done();
}

/**
 * Translations cached per flag definition and credential environments. The catalog hands out one
 * definition object per flag version, and `FlagResolver.definitions` copies it shallowly, so its
 * `variants` array identifies the version (a new version brings a new array; a cache miss only
 * costs a translation).
 */
export class UnleashTranslator {
  private readonly cache = new WeakMap<object, Map<string, FlagTranslation>>();

  translate(def: FlagDefinition, environments: readonly string[]): FlagTranslation {
    const key = environments.join('\u0000');
    let perEnvironments = this.cache.get(def.variants);
    if (perEnvironments === undefined) {
      perEnvironments = new Map();
      this.cache.set(def.variants, perEnvironments);
    }
    let t = perEnvironments.get(key);
    if (t === undefined) {
      t = translateFlag(def);
      perEnvironments.set(key, t);
    }
    return t;
  }
}
