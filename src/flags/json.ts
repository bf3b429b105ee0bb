import type { JsonObject, JsonValue } from './model.js';

/** A scalar a condition can compare for equality. `null` is not one: absence is tested with EXISTS. */
export type Scalar = string | number | boolean;

/** A JSON object: not null, not an array. */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isScalar(value: unknown): value is Scalar {
  const t = typeof value;
  return t === 'string' || t === 'boolean' || (t === 'number' && Number.isFinite(value as number));
}

/**
 * A deep copy of a JSON value, frozen. Compiled flags hand the same variant value to every request;
 * freezing means no caller can change what the next request is served, and copying means the
 * caller's own definition object is left as it was.
 */
export function frozenCopy(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return Object.freeze(value.map(frozenCopy)) as JsonValue[];
  if (isJsonObject(value)) {
    const out: JsonObject = {};
    for (const key of Object.keys(value)) {
      // defineProperty, not assignment: a key named `__proto__` stays an ordinary own key.
      Object.defineProperty(out, key, { value: frozenCopy(value[key] as JsonValue), enumerable: true });
    }
    return Object.freeze(out);
  }
  return value;
}
