/**
 * latchkey flags as Reflag flag definitions (`GET /reflag/features`), which the Node SDK
 * evaluates itself. The translation is exact or it is not made (conditions.ts says which
 * conditions translate); a flag with an untranslatable condition is left out of the definitions,
 * named in the `X-Latchkey-Untranslated-Flags` response header, and still served by latchkey on
 * `features/evaluated`.
 *
 * Reflag's model is "enabled when any targeting rule matches; the config is the first matching
 * variant". latchkey's is "the first rule that applies, holds and takes the unit decides". Each
 * latchkey rule i therefore becomes a filter that holds exactly where rule i decides:
 *
 *   reach(i) ∧ conditions(i) ∧ [unit present ∧ the unit's bucket in the served shares]
 *
 * where reach(i) says that no earlier rule decided or stopped: for each earlier rule j,
 * ¬(conditions(j) ∧ (unit missing ∨ bucket within j's allocations)); a rule that gives every
 * bucket to one variant needs no unit and is just ¬conditions(j). "Stopped" is latchkey's
 * TARGETING_KEY_ERROR: a rule that splits by a unit the context lacks ends the flag without a value
 * (the unit is present when its field is SET and is not `true` or `false`, which latchkey does not
 * bucket). The default variant holds where reach(after the last rule) does.
 *
 * Buckets: latchkey's allocations are cumulative shares of 10000 buckets; a share [lo, hi) becomes
 * `rolloutPercentage(hi × 10) ∧ ¬rolloutPercentage(lo × 10)` on the rule's randomization unit
 * (its Reflag field; `targeting_key` is `user.id`), with the flag id as the key for every rule, so
 * that, as in latchkey, all rules of a flag cut one hash of the unit's value. Reflag hashes with
 * SHA-256 of `<flag id>.<value>` where latchkey uses MurmurHash3 of `<salt>|<value>`: the shares
 * are the same, the users in them are not (README).
 *
 * Per kind (views.ts): a BOOLEAN flag's targeting rules are the regions where it serves `true`; it
 * has no config. A STRING, NUMBER or OBJECT flag's targeting rules are the regions where a rule
 * matched, and its config variants are `{key: variant name, payload: value, filter}` for every
 * rule's every share, then the default variant.
 */
import type { CompiledFlag, CompiledRule } from '../../flags/compile.js';
import { TOTAL_BUCKETS, type FlagDefinition, type JsonValue, type Rule } from '../../flags/model.js';
import { Untranslatable, conditionFilter } from './conditions.js';
import { fieldOf } from './context.js';
import { FALSE, ROLLOUT_SCALE, TRUE, and, context, nodeCount, not, or, rolloutBelow, type ReflagFilter } from './filters.js';
import { viewOf, type FlagView } from './views.js';

/** Filter nodes one flag may become; a larger translation is left out (latchkey still evaluates it). */
export const MAX_FILTER_NODES = 5000;

export interface ReflagFlagDefinition {
  key: string;
  description: string;
  targeting: { version: number; rules: { filter: ReflagFilter }[] };
  config?: { version: number; variants: { key: string; payload: JsonValue; filter: ReflagFilter }[] };
}

export type Translation =
  | { outcome: 'translated'; view: FlagView; definition: ReflagFlagDefinition }
  | { outcome: 'untranslatable'; view: FlagView; reason: string }
  /** Archived, or a stored definition that does not compile: no value to serve, left out. */
  | { outcome: 'unavailable'; view: FlagView };

const PER_BUCKET = ROLLOUT_SCALE / TOTAL_BUCKETS;

/** Holds for units whose bucket is in [lo, hi) (basis points); the top share includes Reflag's top value. */
function share(key: string, field: string, lo: number, hi: number): ReflagFilter {
  const below = (bp: number) => (bp >= TOTAL_BUCKETS ? TRUE : rolloutBelow(key, field, bp * PER_BUCKET));
  return and(below(hi), not(below(lo)));
}

interface TranslatedRule {
  compiled: CompiledRule;
  /** The rule's conditions. */
  when: ReflagFilter;
  /** The unit is present (TRUE for a rule that needs none). */
  unit: ReflagFilter;
  /** Holds where the rule's allocations serve `variant` (given `when` and `unit`). */
  serves: (accept: (variant: string) => boolean) => ReflagFilter;
  /** Holds where the rule decides or stops (given `when`). */
  ends: ReflagFilter;
}

function translateRule(flagId: string, rule: Rule, compiled: CompiledRule): TranslatedRule {
  // A rule with no positive weight never decides, stops or reads anything (latchkey skips it).
  if (compiled.everyBucket === undefined && compiled.totalWeight <= 0) return { compiled, when: FALSE, unit: TRUE, serves: () => FALSE, ends: FALSE };
  const when = and(...rule.conditions.map((c) => conditionFilter(c)));
  if (compiled.everyBucket !== undefined) {
    const only = compiled.everyBucket;
    return { compiled, when, unit: TRUE, serves: (accept) => (accept(only) ? TRUE : FALSE), ends: TRUE };
  }
  const where = fieldOf(compiled.unitAttribute);
  if (where.kind === 'unsafe') throw new Untranslatable(`rule ${JSON.stringify(rule.name)} splits by ${compiled.unitAttribute}, which Reflag's evaluator finds on every object`);
  if (where.kind === 'absent') {
    // No Reflag context carries the unit: where the conditions hold, latchkey always stops here.
    return { compiled, when, unit: FALSE, serves: () => FALSE, ends: TRUE };
  }
  const field = where.field;
  const unit = and(context(field, 'SET', []), not(context(field, 'ANY_OF', ['true', 'false'])));
  const serves = (accept: (variant: string) => boolean) => {
    const ranges: [number, number][] = [];
    let cumulative = 0;
    for (const a of compiled.allocations) {
      const lo = cumulative;
      cumulative += a.weight;
      if (!accept(a.variant)) continue;
      const last = ranges[ranges.length - 1];
      if (last && last[1] === lo) last[1] = cumulative;
      else ranges.push([lo, cumulative]);
    }
    return or(...ranges.map(([lo, hi]) => share(flagId, field, lo, hi)));
  };
  return { compiled, when, unit, serves, ends: or(not(unit), share(flagId, field, 0, compiled.totalWeight)) };
}

function variantValue(flag: CompiledFlag, variant: string): JsonValue {
  return flag.variants.get(variant)!;
}

export function translateFlag(def: FlagDefinition): Translation {
  const view = viewOf(def);
  const flag = view.compiled;
  if (flag.state === 'ARCHIVED' || flag.compileError !== undefined) return { outcome: 'unavailable', view };
  const rules = def.rules.filter((r) => r.enabled === true);
  if (rules.length !== flag.rules.length) return { outcome: 'unavailable', view };
  try {
    const translated = rules.map((r, i) => translateRule(flag.id, r, flag.rules[i]!));
    // reach[i]: no rule before i decided or stopped; reach[n]: the default variant's region.
    const reach: ReflagFilter[] = [TRUE];
    for (const t of translated) reach.push(and(reach[reach.length - 1]!, not(and(t.when, t.ends))));
    const region = (i: number, accept: (variant: string) => boolean) => {
      const t = translated[i]!;
      return and(reach[i]!, t.when, t.unit, t.serves(accept));
    };
    const index = new Map(flag.rules.map((r, i) => [r.name, i]));
    const afterAll = reach[translated.length]!;
    const targeting = view.slots.map((slot) => {
      if ('default' in slot) return { filter: afterAll };
      const i = index.get(slot.rule)!;
      return { filter: flag.kind === 'BOOLEAN' ? region(i, (v) => variantValue(flag, v) === true) : region(i, () => true) };
    });
    const out: ReflagFlagDefinition = { key: def.id, description: def.description, targeting: { version: view.version, rules: targeting } };
    if (flag.kind !== 'BOOLEAN') {
      const variants: { key: string; payload: JsonValue; filter: ReflagFilter }[] = [];
      translated.forEach((t, i) => {
        const names = t.compiled.everyBucket !== undefined ? [t.compiled.everyBucket] : [...new Set(t.compiled.allocations.map((a) => a.variant))];
        for (const name of names) {
          const filter = region(i, (v) => v === name);
          if (filter !== FALSE) variants.push({ key: name, payload: variantValue(flag, name), filter });
        }
      });
      if (flag.defaultVariant !== undefined && afterAll !== FALSE) {
        variants.push({ key: flag.defaultVariant, payload: variantValue(flag, flag.defaultVariant), filter: afterAll });
      }
      out.config = { version: view.version, variants };
    }
    const nodes = out.targeting.rules.reduce((n, r) => n + nodeCount(r.filter), 0) + (out.config?.variants ?? []).reduce((n, v) => n + nodeCount(v.filter), 0);
    if (nodes > MAX_FILTER_NODES) throw new Untranslatable(`its Reflag filters would have ${nodes} nodes (at most ${MAX_FILTER_NODES})`);
    return { outcome: 'translated', view, definition: out };
  } catch (err) {
    if (err instanceof Untranslatable) return { outcome: 'untranslatable', view, reason: err.message };
    throw err;
  }
}
