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
import { allocationOf, bucketOf } from './bucketing.js';
import { answerOf, kindMismatchMessage, type Answer, type CompiledFlag, type CompiledRule } from './compile.js';
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

/**
 * The answer for one flag: `flag` (id), `variant` and `value` (MATCH and DEFAULT only), `reason`,
 * `rule` (MATCH only) and `errorMessage` (TARGETING_KEY_ERROR, TYPE_MISMATCH, ERROR,
 * FLAG_NOT_FOUND; never a secret). Every field is present, undefined where it does not apply.
 * Usually one of the compiled flag's own frozen answers (PRECOMPUTED_ANSWERS in compile.ts): never
 * mutate one.
 */
export type Resolution = Answer;

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
  return answerOf(flagId, 'FLAG_NOT_FOUND', { errorMessage: `flag ${JSON.stringify(flagId)} not found` });
}

/** Resolves one flag. Never throws. */
export function resolveFlag(flag: CompiledFlag, context: unknown, environmentsApply: EnvironmentsApply, options?: ResolveOptions): Resolution {
  try {
    const expect = options?.expectKind;
    if (expect !== undefined) {
      const mismatch = mismatchOf(flag, expect);
      if (mismatch !== undefined) return mismatch;
    }
    if (flag.state === 'ARCHIVED') return flag.answers.archived;
    if (flag.compileError !== undefined) return flag.answers.noRuleDecided;

    // A context that is not an object (only possible when a caller bypasses the types) has no attributes.
    const ctx = isJsonObject(context) ? context : undefined;
    // Indexed loops over compiled flags throughout: see FROZEN_ARRAYS in compile.ts.
    const rules = flag.rules;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (!rule.everyEnvironment && !environmentsApply(rule.environments)) continue;
      if (!allHold(rule, ctx)) continue;
      if (rule.everyBucketAnswer !== undefined) return rule.everyBucketAnswer;
      if (rule.totalWeight <= 0) continue;
      const unit = unitValue(readAttribute(ctx, rule.unitPath));
      if (unit === undefined) return rule.unitMissing;
      const allocation = allocationOf(rule.allocations, bucketOf(flag.salt, unit, flag.saltPrefix));
      if (allocation !== undefined) return allocation.answer;
    }
    return flag.answers.noRuleDecided;
  } catch (err) {
    return answerOf(flag.id, 'ERROR', { errorMessage: `flag ${JSON.stringify(flag.id)} could not be resolved: ${messageOf(err)}` });
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
  for (let i = 0; i < conditions.length; i++) {
    const c = conditions[i]!;
    if (!c.test(readAttribute(ctx, c.path))) return false;
  }
  return true;
}

/** TYPE_MISMATCH when the flag is not of the kind the caller resolves it as; the common two are precomputed. */
function mismatchOf(flag: CompiledFlag, expect: ExpectKind): Resolution | undefined {
  if (expect === 'flag') return flag.answers.notAFlag;
  if (expect === 'config') return flag.answers.notAConfig;
  const message = kindMismatchMessage(flag.kind, expect);
  return message === undefined ? undefined : answerOf(flag.id, 'TYPE_MISMATCH', { errorMessage: `flag ${JSON.stringify(flag.id)} ${message}` });
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  try {
    return String(err);
  } catch {
    return 'unknown error';
  }
}
