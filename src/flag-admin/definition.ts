/**
 * A flag's definition as the admin domain takes it in and stores it (as JSON text), and the
 * bridge to the pure flag module (src/flags): `toDefinition` builds what `validateFlagDefinition`
 * and `compileFlag` take.
 *
 * The stored JSON shape is latchkey's own and changes only with a migration; it is kept apart from
 * the pure module's in-memory types so that those can evolve freely.
 */
import type { FlagDefinition, FlagKind, JsonValue, Operator } from '../flags/model.js';

export interface VariantDef {
  name: string;
  value: JsonValue;
}

export interface ConditionDef {
  attribute: string;
  operator: Operator;
  values: JsonValue[];
}

export interface AllocationDef {
  variant: string;
  weight: number;
}

export interface RuleDef {
  name: string;
  enabled: boolean;
  environments: string[];
  conditions: ConditionDef[];
  /** Empty = `targeting_key`. */
  randomizationUnit: string;
  allocations: AllocationDef[];
}

/** The parts of a flag that decide how it resolves. */
export interface FlagDefinitionParts {
  kind: FlagKind;
  variants: VariantDef[];
  /** Null when there is none (resolution then ends with NO_RULE_MATCH). */
  defaultVariant: string | null;
  rules: RuleDef[];
}

/** The pure module's view of a stored flag (for validation and compilation). */
export function toDefinition(f: FlagDefinitionParts & FlagIdentity): FlagDefinition {
  return {
    id: f.id,
    project: f.projectId,
    description: f.description,
    state: f.state,
    secret: f.secret,
    kind: f.kind,
    variants: f.variants.map((v) => ({ name: v.name, value: v.value })),
    defaultVariant: f.defaultVariant,
    rules: f.rules.map((r) => ({
      name: r.name,
      enabled: r.enabled,
      environments: [...r.environments],
      conditions: r.conditions.map((c) => ({ attribute: c.attribute, operator: c.operator, values: [...c.values] })),
      randomizationUnit: r.randomizationUnit,
      allocations: r.allocations.map((a) => ({ variant: a.variant, weight: a.weight })),
    })),
    salt: f.salt,
  };
}

/** What `toDefinition` needs beside the definition parts. */
export interface FlagIdentity {
  id: string;
  projectId: string;
  description: string;
  state: 'ACTIVE' | 'ARCHIVED';
  secret: boolean;
  salt: string;
}
