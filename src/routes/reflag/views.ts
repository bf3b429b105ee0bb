/**
 * A flag as one credential sees it (its visible rules, compiled), and what the Reflag routes
 * derive from that view, computed once per flag version and credential environments:
 *
 * - `version`: the number Reflag calls the targeting version (and the config version): a
 *   fingerprint of the view (48 bits of its SHA-256), equal on every replica and across restarts,
 *   and different whenever a rule, variant or default that applies to these environments changes.
 *   It is not a counter: Reflag's SDKs only pass it along in their check events.
 * - `slots`: which latchkey rules the Reflag targeting rules stand for, in order, so that the
 *   `ruleEvaluationResults` of `features/evaluated` line up with the `rules` of `features`:
 *   - a BOOLEAN flag: one targeting rule per latchkey rule that can serve `true`, and one for the
 *     default variant when it is `true` (enabled = the flag serves `true`);
 *   - any other kind: one per latchkey rule that takes units (enabled = a rule matched).
 * - `attributes`: the context attributes the rules read (conditions and randomization units), for
 *   Reflag's `missingContextFields`.
 */
import { createHash } from 'node:crypto';
import { compileFlag, type CompiledFlag } from '../../flags/compile.js';
import { parseAttributePath, type AttributePath } from '../../flags/context.js';
import { fieldOf } from './context.js';
import type { FlagDefinition, JsonValue } from '../../flags/model.js';

export type Slot = { rule: string } | { default: true };

export interface FlagView {
  readonly definition: FlagDefinition;
  readonly compiled: CompiledFlag;
  readonly version: number;
  readonly slots: readonly Slot[];
  /** Attributes the rules read (latchkey path, parsed) and the Reflag field that carries each. */
  readonly attributes: readonly { readonly path: AttributePath; readonly field: string }[];
  /** Whether the served value counts as enabled (BOOLEAN: `true`; other kinds: always, a matched rule decides). */
  readonly enabledValue: (value: JsonValue | undefined) => boolean;
}

/** 48 bits: a safe integer, and collisions between two versions of one flag are out of reach. */
export function fingerprint(def: FlagDefinition): number {
  return createHash('sha256').update(JSON.stringify(def)).digest().readUIntBE(0, 6);
}

const servesTrue = (flag: CompiledFlag, variant: string) => flag.variants.get(variant) === true;

export function viewOf(def: FlagDefinition): FlagView {
  const compiled = compileFlag(def);
  const boolean = compiled.kind === 'BOOLEAN';
  const slots: Slot[] = [];
  const attributes = new Set<string>();
  for (const rule of compiled.rules) {
    const takes = rule.everyBucket !== undefined || rule.totalWeight > 0;
    if (!takes) continue; // latchkey skips it: it reads nothing and decides nothing
    for (const c of rule.conditions) attributes.add(c.path.join('.'));
    if (rule.everyBucket === undefined) attributes.add(rule.unitAttribute);
    if (!boolean) slots.push({ rule: rule.name });
    else if (rule.everyBucket !== undefined ? servesTrue(compiled, rule.everyBucket) : rule.allocations.some((a) => servesTrue(compiled, a.variant))) slots.push({ rule: rule.name });
  }
  if (boolean && compiled.defaultVariant !== undefined && servesTrue(compiled, compiled.defaultVariant)) slots.push({ default: true });
  return {
    definition: def,
    compiled,
    version: fingerprint(def),
    slots,
    attributes: [...attributes].map((a) => {
      const where = fieldOf(a);
      return { path: parseAttributePath(a), field: where.kind === 'field' ? where.field : a };
    }),
    enabledValue: boolean ? (value) => value === true : () => true,
  };
}

/**
 * Views cached per flag version and credential environments. The catalog hands out one
 * definition object per flag version and `FlagResolver.definitions` copies it shallowly, so its
 * `variants` array identifies the version (a new version brings a new array; a miss only costs a
 * compilation). Entries go with the flag version they belong to (a WeakMap).
 */
export class FlagViews<T extends object = FlagView> {
  private readonly cache = new WeakMap<object, Map<string, T>>();

  constructor(private readonly make: (def: FlagDefinition) => T) {}

  /**
   * The entry for `def` (a flag version) seen with `environments`. `view` builds the definition the
   * entry is made from (the flag with its rules for these environments) on a miss only.
   */
  get(def: FlagDefinition, environments: readonly string[], view: () => FlagDefinition = () => def): T {
    const key = environments.join('\u0000');
    let perEnvironments = this.cache.get(def.variants);
    if (perEnvironments === undefined) {
      perEnvironments = new Map();
      this.cache.set(def.variants, perEnvironments);
    }
    let v = perEnvironments.get(key);
    if (v === undefined) {
      v = this.make(view());
      perEnvironments.set(key, v);
    }
    return v;
  }
}
