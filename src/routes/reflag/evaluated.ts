/**
 * latchkey's resolution (FlagResolver.resolve, the evaluation every protocol shares) in the shape
 * of Reflag's `features/evaluated`: `{key, isEnabled, targetingVersion, ruleEvaluationResults,
 * missingContextFields, config?: {key, version, payload}}` per flag key.
 *
 * - BOOLEAN flags: `isEnabled` is "the flag serves `true`"; no config.
 * - STRING, NUMBER and OBJECT flags: `isEnabled` is "a rule matched" (reason MATCH); `config` is
 *   the served variant, `{key: variant name, payload: value}`, also when the default variant is
 *   served (Reflag evaluates a config apart from the targeting).
 * - No value (no rule matched and no default, or TARGETING_KEY_ERROR: a rule splits by a unit the
 *   context lacks): disabled, no config.
 * - Archived flags, flags that fail to evaluate, and OBJECT flags for a credential without
 *   `configs:read` are left out, as they are left out of the definitions.
 *
 * `ruleEvaluationResults` line up with the targeting rules of the definitions (views.ts `slots`);
 * `missingContextFields` are the Reflag fields the flag's rules read that the context lacks.
 */
import { readAttribute } from '../../flags/context.js';
import type { EvaluationContext, JsonValue } from '../../flags/model.js';
import type { ResolvedFlag } from '../../resolver/model.js';
import type { FlagView } from './views.js';

export interface ReflagEvaluatedFlag {
  key: string;
  isEnabled: boolean;
  targetingVersion: number;
  ruleEvaluationResults: boolean[];
  missingContextFields: string[];
  config?: { key: string; version: number; payload: JsonValue };
}

const SERVED = new Set<ResolvedFlag['reason']>(['MATCH', 'DEFAULT', 'NO_RULE_MATCH', 'TARGETING_KEY_ERROR']);

export function evaluatedFlag(view: FlagView, resolved: ResolvedFlag, context: EvaluationContext): ReflagEvaluatedFlag | undefined {
  if (!SERVED.has(resolved.reason)) return undefined;
  const hasValue = resolved.variant !== undefined && resolved.value !== undefined;
  const enabledValue = hasValue && view.enabledValue(resolved.value);
  const boolean = view.compiled.kind === 'BOOLEAN';
  const isEnabled = boolean ? enabledValue : resolved.reason === 'MATCH';
  const ruleEvaluationResults = view.slots.map((slot) =>
    'default' in slot ? resolved.reason === 'DEFAULT' && enabledValue : resolved.reason === 'MATCH' && resolved.rule === slot.rule && enabledValue,
  );
  const missing = new Set<string>();
  for (const { path, field } of view.attributes) if (readAttribute(context, path) === undefined) missing.add(field);
  const out: ReflagEvaluatedFlag = {
    key: view.compiled.id,
    isEnabled,
    targetingVersion: view.version,
    ruleEvaluationResults,
    missingContextFields: [...missing],
  };
  if (!boolean && hasValue) out.config = { key: resolved.variant!, version: view.version, payload: resolved.value! };
  return out;
}
