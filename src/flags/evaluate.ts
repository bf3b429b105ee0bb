/**
 * Resolution of compiled flags against an evaluation context (SPEC §6).
 *
 * For each enabled rule, in order:
 * 1. it must apply to the credential's environments (the caller's SPEC §4 callback);
 * 2. all its conditions must hold;
 * 3. its allocations must take the unit's bucket: then the rule decides the variant (MATCH).
 *    A unit whose bucket falls outside the allocations goes on to the next rule.
 * No rule decided: the default variant (DEFAULT), or nothing (NO_RULE_MATCH) without one.
 *
 * A rule that reaches step 3 but cannot read its randomization unit (missing, null, empty string,
 * or not a string/number) stops the flag with TARGETING_KEY_ERROR, rather than falling through to
 * later rules or the default: serving a fallback would silently put every keyless user in one arm
 * of an experiment. A rule that sends every bucket to one variant needs no unit (any unit would get
 * that variant), and a rule with no positive weight takes no unit; neither reads it.
 *
 * Resolution never throws: an unexpected failure for one flag (including in the callback) becomes
 * reason ERROR with a message, so one flag's failure never fails the others.
 */
import { bucketOf, allocate } from './bucketing.js';
import type { CompiledFlag, CompiledRule } from './compile.js';
import { conditionHolds } from './conditions.js';
import { readAttribute } from './context.js';
import { isJsonObject } from './json.js';
import type { FlagKind, JsonValue } from './model.js';

export const RESOLVE_REASONS = [
  'MATCH',
  'DEFAULT',
  'NO_RULE_MATCH',
  'FLAG_ARCHIVED',
  'FLAG_NOT_FOUND',
  'TARGETING_KEY_ERROR',
  'TYPE_MISMATCH',
  'ERROR',
] as const;
export type ResolveReason = (typeof RESOLVE_REASONS)[number];

export interface Resolution {
  /** Flag id. */
  flag: string;
  /** Set for MATCH and DEFAULT only. */
  variant?: string;
  /** The variant's value (frozen; shared between requests); set with `variant`. */
  value?: JsonValue;
  reason: ResolveReason;
  /** Name of the rule that matched; set for MATCH only. */
  rule?: string;
  /** Why, for TARGETING_KEY_ERROR, TYPE_MISMATCH, ERROR and FLAG_NOT_FOUND. Never holds a secret. */
  errorMessage?: string;
}

/** SPEC §4 for the requesting credential: does a rule with these environments apply? */
export type EnvironmentsApply = (ruleEnvironments: readonly string[]) => boolean;

/**
 * What the caller resolves the flag as: `flag` (ResolveFlags and the compatibility routes: any kind
 * but OBJECT), `config` (ResolveConfigs: OBJECT only), or one exact kind (a typed SDK call).
 */
export type ExpectKind = 'flag' | 'config' | FlagKind;

export interface ResolveOptions {
  /** When set and the flag's kind differs, the answer is TYPE_MISMATCH (checked before anything else). */
  expectKind?: ExpectKind;
}

/** The resolution for a flag that does not exist or that the credential may not see. */
export function flagNotFound(flagId: string): Resolution {
  return { flag: flagId, reason: 'FLAG_NOT_FOUND', errorMessage: `flag ${JSON.stringify(flagId)} not found` };
}

/** Resolves one flag. Never throws. */
export function resolveFlag(
  flag: CompiledFlag,
  context: unknown,
  environmentsApply: EnvironmentsApply,
  options: ResolveOptions = {},
): Resolution {
  const id = flag.id;
  try {
    const mismatch = options.expectKind === undefined ? undefined : kindMismatch(flag.kind, options.expectKind);
    if (mismatch !== undefined) return { flag: id, reason: 'TYPE_MISMATCH', errorMessage: `flag ${JSON.stringify(id)} ${mismatch}` };
    if (flag.state === 'ARCHIVED') return { flag: id, reason: 'FLAG_ARCHIVED' };
    if (flag.compileError !== undefined) return { flag: id, reason: 'ERROR', errorMessage: flag.compileError };

    // A context that is not an object (only possible when a caller bypasses the types) has no attributes.
    const ctx = isJsonObject(context) ? context : undefined;
    // Indexed loops over compiled flags throughout: see FROZEN_ARRAYS in compile.ts.
    const rules = flag.rules;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (!environmentsApply(rule.environments)) continue;
      if (!allHold(rule, ctx)) continue;
      if (rule.everyBucket !== undefined) return served(flag, rule.everyBucket, 'MATCH', rule.name);
      if (rule.totalWeight <= 0) continue;
      const unit = unitValue(readAttribute(ctx, rule.unitPath));
      if (unit === undefined) {
        return {
          flag: id,
          reason: 'TARGETING_KEY_ERROR',
          errorMessage:
            `rule ${JSON.stringify(rule.name)} splits units by ${JSON.stringify(rule.unitAttribute)}, ` +
            'which the evaluation context must carry as a non-empty string or a number',
        };
      }
      const variant = allocate(rule.allocations, bucketOf(flag.salt, unit));
      if (variant !== undefined) return served(flag, variant, 'MATCH', rule.name);
    }
    if (flag.defaultVariant !== undefined) return served(flag, flag.defaultVariant, 'DEFAULT', undefined);
    return { flag: id, reason: 'NO_RULE_MATCH' };
  } catch (err) {
    return { flag: id, reason: 'ERROR', errorMessage: `flag ${JSON.stringify(id)} could not be resolved: ${messageOf(err)}` };
  }
}

/** Resolves each flag independently, in the order given. Never throws. */
export function resolveFlags(
  flags: readonly CompiledFlag[],
  context: unknown,
  environmentsApply: EnvironmentsApply,
  options: ResolveOptions = {},
): Resolution[] {
  return flags.map((f) => resolveFlag(f, context, environmentsApply, options));
}

/**
 * A randomization unit as bucketed: a non-empty string as is, a finite number as `String(n)`
 * (`42` and `"42"` share a bucket; `1.0` is `"1"`). Anything else is no unit. An empty string is no
 * unit either: SDKs send `""` for "no targeting key", and bucketing all of those together would put
 * every anonymous user in the same variant.
 */
export function unitValue(value: JsonValue | undefined): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function allHold(rule: CompiledRule, ctx: unknown): boolean {
  const conditions = rule.conditions;
  for (let i = 0; i < conditions.length; i++) if (!conditionHolds(conditions[i]!, ctx)) return false;
  return true;
}

function served(flag: CompiledFlag, variant: string, reason: 'MATCH' | 'DEFAULT', rule: string | undefined): Resolution {
  if (!flag.variants.has(variant)) throw new Error(`variant ${JSON.stringify(variant)} is missing`);
  const out: Resolution = { flag: flag.id, variant, value: flag.variants.get(variant)!, reason };
  if (rule !== undefined) out.rule = rule;
  return out;
}

function kindMismatch(kind: FlagKind, expect: ExpectKind): string | undefined {
  if (expect === 'flag') return kind === 'OBJECT' ? 'is a remote config (kind OBJECT); resolve it with ResolveConfigs' : undefined;
  if (expect === 'config') return kind === 'OBJECT' ? undefined : `is a flag of kind ${kind}, not a remote config; resolve it with ResolveFlags`;
  return kind === expect ? undefined : `is of kind ${kind}, not ${expect}`;
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  try {
    return String(err);
  } catch {
    return 'unknown error';
  }
}
