/**
 * Reading attributes from an evaluation context by dotted path (`user.country`, `targeting_key`).
 *
 * Only own properties of JSON objects are followed (`Object.hasOwn`), so `__proto__`,
 * `constructor`, `toString` … are ordinary keys: missing unless the context really carries them
 * (a context parsed from JSON may hold an own `__proto__` key, and then that value is read, as data).
 * Nothing inherited from Object.prototype is ever reached, so a rule can neither read nor be fooled
 * by prototype properties.
 *
 * Paths walk objects only, never arrays: `tags.0` does not index a list (list attributes are tested
 * with CONTAINS). A dot always separates segments; a context key that itself contains a dot cannot be
 * addressed. Both keep paths unambiguous.
 */
import { isJsonObject } from './json.js';
import type { JsonValue } from './model.js';

/** One segment: letters, digits, `_` and `-`, as context keys of the SDKs look. */
const SEGMENT = /^[A-Za-z0-9_-]{1,64}$/;
/** Deeper contexts than this are not addressable; bounds the walk and the path syntax. */
export const MAX_ATTRIBUTE_DEPTH = 10;

/** An attribute path parsed once (at compile time), walked per request. */
export type AttributePath = readonly string[];

/** Why `path` is not a valid attribute path, or undefined when it is. */
export function attributePathProblem(path: string): string | undefined {
  if (path === '') return 'must not be empty';
  const segments = path.split('.');
  if (segments.length > MAX_ATTRIBUTE_DEPTH) return `at most ${MAX_ATTRIBUTE_DEPTH} dotted segments`;
  if (!segments.every((s) => SEGMENT.test(s))) {
    return 'must be dot-separated segments of 1 to 64 letters, digits, "_" or "-", e.g. user.country';
  }
  return undefined;
}

/** The segments of a valid path; throws on an invalid one (validation reports it first). */
export function parseAttributePath(path: string): AttributePath {
  const problem = attributePathProblem(path);
  if (problem !== undefined) throw new Error(`attribute path ${JSON.stringify(path)} ${problem}`);
  return Object.freeze(path.split('.'));
}

/**
 * The value at `path`, or `undefined` when any segment is missing or a non-object is in the way.
 * `null` is returned as `null` (present but null); callers decide what that means.
 * Never throws for JSON data.
 */
export function readAttribute(context: unknown, path: AttributePath): JsonValue | undefined {
  let current: unknown = context;
  // An indexed loop: paths are frozen arrays (see FROZEN_ARRAYS in compile.ts).
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    if (!isJsonObject(current) || !Object.hasOwn(current, segment)) return undefined;
    current = current[segment];
  }
  return current as JsonValue | undefined;
}
