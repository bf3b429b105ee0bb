/**
 * latchkey conditions as Reflag filters, exactly or not at all. "Exactly" means: for every context
 * a Reflag SDK can produce (flattened text fields, see context.ts), the filter holds if and only
 * if latchkey's condition holds for that context as latchkey reads it (`typedValue`).
 *
 * | latchkey | Reflag filter |
 * |---|---|
 * | EQUALS v | `IS` text(v) |
 * | NOT_EQUALS v | `negation(IS text(v))` (also holds when the field is missing, as in latchkey) |
 * | IN [v…] | `ANY_OF` [text(v)…] |
 * | NOT_IN [v…] | `negation(ANY_OF …)` |
 * | CONTAINS s, s of ASCII non-letters with one character that is not a digit, `.`, `+` or `-` | `CONTAINS` s |
 * | EQUALS / IN of a string that reads as a number or boolean (`"42"`, `"true"`), CONTAINS of a number or boolean | constant false (never holds for a Reflag context) |
 * | any other CONTAINS, STARTS_WITH, ENDS_WITH, MATCHES, LESS_THAN…GREATER_THAN_OR_EQUAL, SEMVER_*, EXISTS, NOT_EXISTS | none: untranslatable |
 *
 * Why the others cannot be written exactly: Reflag's CONTAINS ignores case; its GT and LT read any
 * text JavaScript's `Number()` accepts (`"0x10"`, `" 5"`, `""`), which latchkey reads as strings;
 * SET is false for an empty value that latchkey counts as present, and a field holding an object
 * (`user.address` when the context has `user.address.city`) is missing to Reflag but present to
 * latchkey; Reflag has no prefix, suffix, regex or version operators.
 */
import { compileCondition } from '../../flags/conditions.js';
import type { Condition, JsonValue } from '../../flags/model.js';
import { fieldOf, textOf } from './context.js';
import { FALSE, TRUE, context, not, type ReflagFilter } from './filters.js';

export class Untranslatable extends Error {}

/** ASCII characters that no case mapping changes or produces, so Reflag's case-insensitive CONTAINS reads them as written. */
const CASELESS_ASCII = /^[\x20-\x40\x5b-\x60\x7b-\x7e]*$/;
/** Characters of the text forms of numbers and booleans that are not letters: a needle made of these alone could sit inside "12.5". */
const NUMERIC_TEXT_CHARS = /^[0-9.+-]*$/;

function texts(values: readonly JsonValue[]): string[] {
  const out = new Set<string>();
  for (const v of values) {
    const t = textOf(v);
    if (t !== undefined) out.add(t);
  }
  return [...out];
}

/** The condition as a filter; throws Untranslatable when no filter says exactly the same. */
export function conditionFilter(condition: Condition): ReflagFilter {
  const where = fieldOf(condition.attribute);
  const what = `${condition.operator} on ${condition.attribute}`;
  if (where.kind === 'unsafe') throw new Untranslatable(`${what}: Reflag's evaluator finds ${JSON.stringify(condition.attribute)} on every object`);
  // No Reflag context carries the attribute: latchkey's own predicate on a missing value decides it.
  if (where.kind === 'absent') return compileCondition(condition).test(undefined) ? TRUE : FALSE;
  const field = where.field;
  const v = condition.values[0];
  switch (condition.operator) {
    case 'EQUALS':
    case 'NOT_EQUALS': {
      const t = v === undefined ? undefined : textOf(v);
      const holds = t === undefined ? FALSE : context(field, 'IS', [t]);
      return condition.operator === 'EQUALS' ? holds : not(holds);
    }
    case 'IN':
    case 'NOT_IN': {
      const ts = texts(condition.values);
      const holds = ts.length === 0 ? FALSE : context(field, 'ANY_OF', ts);
      return condition.operator === 'IN' ? holds : not(holds);
    }
    case 'CONTAINS': {
      if (typeof v !== 'string') return FALSE; // a number or boolean is only ever contained in a list, and Reflag contexts carry none
      if (!CASELESS_ASCII.test(v)) throw new Untranslatable(`${what}: Reflag's CONTAINS ignores case, and ${JSON.stringify(v)} has letters (or characters outside ASCII)`);
      if (NUMERIC_TEXT_CHARS.test(v)) throw new Untranslatable(`${what}: ${JSON.stringify(v)} could be found inside a number, which latchkey reads as a number and never as text`);
      return context(field, 'CONTAINS', [v]);
    }
    case 'STARTS_WITH':
    case 'ENDS_WITH':
    case 'MATCHES':
      throw new Untranslatable(`${what}: Reflag has no prefix, suffix or pattern operator`);
    case 'LESS_THAN':
    case 'LESS_THAN_OR_EQUAL':
    case 'GREATER_THAN':
    case 'GREATER_THAN_OR_EQUAL':
      throw new Untranslatable(`${what}: Reflag's GT and LT also read text latchkey reads as a string (such as "0x10" or " 5")`);
    case 'SEMVER_EQUALS':
    case 'SEMVER_LESS_THAN':
    case 'SEMVER_LESS_THAN_OR_EQUAL':
    case 'SEMVER_GREATER_THAN':
    case 'SEMVER_GREATER_THAN_OR_EQUAL':
      throw new Untranslatable(`${what}: Reflag has no semantic-version operator`);
    case 'EXISTS':
    case 'NOT_EXISTS':
      throw new Untranslatable(`${what}: Reflag's SET is false for an empty value and for a field holding an object, which latchkey counts as present`);
  }
}
