/**
 * A flag definition as the pure flag module sees it (SPEC §6): plain data, no protobuf, Connect or
 * Kysely types. The RPC layer converts `latchkey.flags.admin.v1.Flag` to and from this shape and the
 * store keeps its own JSON shape; this module only validates, compiles and evaluates it.
 *
 * Semantics are written down next to the code in ./README.md.
 */

/** A JSON value: what a `google.protobuf.Value` carries, and what an evaluation context is made of. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type JsonObject = { [key: string]: JsonValue };

/** The evaluation context of a resolve request (a `google.protobuf.Struct`): a JSON object. */
export type EvaluationContext = JsonObject;

export const FLAG_STATES = ['ACTIVE', 'ARCHIVED'] as const;
export type FlagState = (typeof FLAG_STATES)[number];

export const FLAG_KINDS = ['BOOLEAN', 'STRING', 'NUMBER', 'OBJECT'] as const;
/** Type of every variant value. `OBJECT` flags are remote configs (resolved with ResolveConfigs). */
export type FlagKind = (typeof FLAG_KINDS)[number];

export const OPERATORS = [
  'EQUALS',
  'NOT_EQUALS',
  'IN',
  'NOT_IN',
  'CONTAINS',
  'STARTS_WITH',
  'ENDS_WITH',
  'MATCHES',
  'LESS_THAN',
  'LESS_THAN_OR_EQUAL',
  'GREATER_THAN',
  'GREATER_THAN_OR_EQUAL',
  'SEMVER_EQUALS',
  'SEMVER_LESS_THAN',
  'SEMVER_LESS_THAN_OR_EQUAL',
  'SEMVER_GREATER_THAN',
  'SEMVER_GREATER_THAN_OR_EQUAL',
  'EXISTS',
  'NOT_EXISTS',
] as const;
export type Operator = (typeof OPERATORS)[number];

/** The attribute that buckets units when a rule names none (SPEC §6). */
export const DEFAULT_RANDOMIZATION_UNIT = 'targeting_key';

/** Bucketing resolution: weights are basis points of this many buckets. */
export const TOTAL_BUCKETS = 10000;

export interface Variant {
  /** Unique within the flag; `[A-Za-z0-9_.-]{1,63}`. */
  name: string;
  /** Of the flag's kind (validated). */
  value: JsonValue;
}

export interface Allocation {
  /** Name of a variant of the same flag. */
  variant: string;
  /** Basis points (0..10000); a rule's weights sum to at most 10000. */
  weight: number;
}

export interface Condition {
  /** Dotted attribute path into the evaluation context, e.g. `user.country`. */
  attribute: string;
  operator: Operator;
  /** One operand for comparisons, the candidates for IN/NOT_IN, none for EXISTS/NOT_EXISTS. */
  values: JsonValue[];
}

export interface Rule {
  /** Non-empty and unique within the flag (it names the rule in reports and resolutions). */
  name: string;
  /** Disabled rules are skipped (and left out of the compiled flag). */
  enabled: boolean;
  /** Environment ids; empty = every environment (SPEC §4). */
  environments: string[];
  /** All must hold; an empty list always holds. */
  conditions: Condition[];
  /** Attribute path used for bucketing; `''` means `targeting_key`, as in the proto. */
  randomizationUnit: string;
  /** Walked in order, accumulating weights (see bucketing.ts). */
  allocations: Allocation[];
}

export interface FlagDefinition {
  /** Flag id (`flags/{id}` without the collection). */
  id: string;
  /** Project id (without `projects/`). */
  project: string;
  description: string;
  state: FlagState;
  /** Only SECRET credentials see a secret flag; the caller filters, this module does not. */
  secret: boolean;
  kind: FlagKind;
  variants: Variant[];
  /** Served with reason DEFAULT when no rule matches. `undefined`, `null` and `''` all mean none. */
  defaultVariant?: string | null;
  /** Ordered: the first rule that applies, holds and takes the unit wins. */
  rules: Rule[];
  /** Per-flag bucketing salt, so that two flags split the same users independently. */
  salt: string;
}
