import type { CredentialPrincipal } from '../../../src/auth/principal.js';
import type { Condition, FlagDefinition, Rule } from '../../../src/flags/model.js';

/** A valid STRING flag with variants a, b, c and no rules; override what a test needs. */
export function flagDef(overrides: Partial<FlagDefinition> = {}): FlagDefinition {
  return {
    id: 'checkout',
    project: 'default',
    description: '',
    state: 'ACTIVE',
    secret: false,
    kind: 'STRING',
    variants: [
      { name: 'a', value: 'A' },
      { name: 'b', value: 'B' },
      { name: 'c', value: 'C' },
    ],
    defaultVariant: undefined,
    rules: [],
    salt: 'a3f9c2e1b7d04856',
    ...overrides,
  };
}

/** An enabled rule for every environment, no conditions, everything to variant `a`. */
export function ruleDef(overrides: Partial<Rule> = {}): Rule {
  return {
    name: 'r',
    enabled: true,
    environments: [],
    conditions: [],
    randomizationUnit: '',
    allocations: [{ variant: 'a', weight: 10000 }],
    ...overrides,
  };
}

export function cond(attribute: string, operator: Condition['operator'], ...values: Condition['values']): Condition {
  return { attribute, operator, values };
}

/** The SPEC §4 callback of a credential with no environment restriction on rules that name none. */
export const anyEnv = (): boolean => true;

/** A SECRET production credential of client `app` that sees every project, scope flags:read; override what a test needs. */
export function principalDef(overrides: Partial<CredentialPrincipal> = {}): CredentialPrincipal {
  return {
    kind: 'credential',
    name: 'clients/app/credentials/backend',
    client: 'clients/app',
    class: 'SECRET',
    environments: ['production'],
    projects: ['*'],
    scopes: ['flags:read'],
    ...overrides,
  };
}
