/**
 * The one mapping between a Reflag context and a latchkey evaluation context, used in both
 * directions so that the definitions (evaluated by the SDK) and `features/evaluated` (evaluated
 * by latchkey) agree:
 *
 * - Reflag's context is `{user, company, other}`, and the SDKs see it flattened into dotted fields
 *   whose values are all text (`company.plan` = "pro", `company.seats` = "12", `user.beta` =
 *   "true"): `@reflag/flag-evaluation` flattens it before evaluating, and both SDKs send it as
 *   `context.<field>=<text>` query parameters.
 * - latchkey reads that text as a typed value (`typedValue`): text that is exactly how JavaScript
 *   writes a finite number (`12`, `-1.5`, `1e+21`; not `12.0`, `012`, ` 12` or `0x10`) is that
 *   number, `true` and `false` are booleans, everything else is a string. So latchkey rules written
 *   with numbers and booleans (`company.seats GREATER_THAN 10`, `user.beta EQUALS true`) work for
 *   Reflag SDKs, and a string operand that reads as a number or boolean (`user.id EQUALS "42"`)
 *   never matches a Reflag context: write it as the number 42.
 * - latchkey attributes are the dotted fields themselves (`company.plan`, `user.email`,
 *   `other.region`); `targeting_key`, latchkey's default randomization unit, is the field `user.id`.
 */
import type { EvaluationContext, JsonValue } from '../../flags/model.js';
import { MAX_ATTRIBUTE_DEPTH } from '../../flags/context.js';

/** latchkey's default randomization unit, which Reflag calls `user.id`. */
export const TARGETING_KEY = 'targeting_key';
export const TARGETING_FIELD = 'user.id';

/** At most this many `context.*` parameters are read from one request; the rest are ignored. */
export const MAX_CONTEXT_FIELDS = 256;

/** Whether `text` is exactly how JavaScript writes a finite number (so it round-trips). */
export function isCanonicalNumber(text: string): boolean {
  const n = Number(text);
  return Number.isFinite(n) && String(n) === text;
}

/** A Reflag context value (text) as latchkey reads it. */
export function typedValue(text: string): string | number | boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  return isCanonicalNumber(text) ? Number(text) : text;
}

/**
 * The text a Reflag context carries for a latchkey operand, or undefined when no Reflag context
 * value reads as that operand (a string that reads as a number or boolean).
 */
export function textOf(operand: JsonValue): string | undefined {
  if (typeof operand === 'boolean') return String(operand);
  if (typeof operand === 'number') return Number.isFinite(operand) ? String(operand) : undefined;
  if (typeof operand === 'string') return typeof typedValue(operand) === 'string' ? operand : undefined;
  return undefined;
}

/**
 * Where a latchkey attribute lives in a Reflag context:
 * - `field`: the flattened Reflag field (`targeting_key` is `user.id`);
 * - `absent`: an attribute no Reflag context can carry (below `targeting_key`, which is a
 *   scalar): always missing;
 * - `unsafe`: a one-segment name that Reflag's evaluator finds on Object.prototype
 *   (`constructor`, `toString` …, it tests fields with `in`), so it would not read it as missing.
 */
export type FieldOf = { kind: 'field'; field: string } | { kind: 'absent' } | { kind: 'unsafe' };

export function fieldOf(attribute: string): FieldOf {
  if (attribute === TARGETING_KEY) return { kind: 'field', field: TARGETING_FIELD };
  if (attribute.startsWith(`${TARGETING_KEY}.`)) return { kind: 'absent' };
  if (attribute in Object.prototype) return { kind: 'unsafe' };
  return { kind: 'field', field: attribute };
}

const isObject = (v: unknown): v is Record<string, JsonValue> => typeof v === 'object' && v !== null && !Array.isArray(v);

function define(target: Record<string, JsonValue>, key: string, value: JsonValue): void {
  // defineProperty: a key named `__proto__` stays an ordinary own key (src/flags reads own keys only).
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * The latchkey evaluation context for the `context.*` query parameters a Reflag SDK sends
 * (`context.user.id=u1&context.company.plan=pro`): nested objects with typed leaves, and
 * `targeting_key` set to `user.id`. Every other parameter (`key`, `publishableKey`,
 * `reflag-sdk-version`, `waitForVersion`) is not context. A field given twice, or both as a value
 * and as an object (`context.user=x&context.user.id=y`, which no SDK sends), keeps what came first;
 * a field sent as `targeting_key` is ignored (the SDKs never read one, so honouring it would make
 * latchkey answer differently from the definitions).
 */
export function evaluationContextOfQuery(params: URLSearchParams): EvaluationContext {
  const ctx: EvaluationContext = {};
  let fields = 0;
  for (const [name, text] of params) {
    if (!name.startsWith('context.')) continue;
    if (++fields > MAX_CONTEXT_FIELDS) break;
    const path = name.slice('context.'.length).split('.');
    if (path.length > MAX_ATTRIBUTE_DEPTH || path.some((s) => s === '') || path[0] === TARGETING_KEY) continue;
    let node: Record<string, JsonValue> = ctx;
    let blocked = false;
    for (let i = 0; i < path.length - 1; i++) {
      const segment = path[i]!;
      if (!Object.hasOwn(node, segment)) define(node, segment, {});
      const next = node[segment];
      if (!isObject(next)) {
        blocked = true;
        break;
      }
      node = next;
    }
    const leaf = path[path.length - 1]!;
    if (blocked || Object.hasOwn(node, leaf)) continue;
    define(node, leaf, typedValue(text));
  }
  const user = ctx.user;
  if (isObject(user) && Object.hasOwn(user, 'id') && !isObject(user.id)) define(ctx, TARGETING_KEY, user.id!);
  return ctx;
}
