/**
 * Flag kinds and the variant values each admits. The kind is what SDKs type a flag by
 * (getBooleanValue, getStringValue …), so every variant value must be of it: a flag never answers
 * a boolean one time and a string the next.
 */
import { isJsonObject } from './json.js';
import { FLAG_KINDS, type FlagKind, type JsonValue } from './model.js';

const KIND_SET: ReadonlySet<string> = new Set(FLAG_KINDS);

export function isFlagKind(value: unknown): value is FlagKind {
  return typeof value === 'string' && KIND_SET.has(value);
}

/** Why `value` cannot be a variant value of a `kind` flag, or undefined when it can. */
export function variantValueProblem(kind: FlagKind, value: JsonValue): string | undefined {
  switch (kind) {
    case 'BOOLEAN':
      return typeof value === 'boolean' ? undefined : 'a BOOLEAN flag needs a boolean value';
    case 'STRING':
      return typeof value === 'string' ? undefined : 'a STRING flag needs a string value';
    case 'NUMBER':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : 'a NUMBER flag needs a finite number value';
    case 'OBJECT':
      return isJsonObject(value) ? undefined : 'an OBJECT flag (remote config) needs an object value (not a list, not null)';
  }
}
