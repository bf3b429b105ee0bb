/**
 * Runtime scopes of client credentials (SPEC §3): `flags:read`,
 * `configs:read`, `logs:write`, and `admin`, which stands for every runtime
 * scope and is for SECRET credentials only (a PUBLISHABLE credential ships in
 * browsers and app bundles, so it must never hold more than it needs).
 */

export const RUNTIME_SCOPES = ['flags:read', 'configs:read', 'logs:write'] as const;
export type RuntimeScope = (typeof RUNTIME_SCOPES)[number];

export const ADMIN_SCOPE = 'admin';
export type Scope = RuntimeScope | typeof ADMIN_SCOPE;

export const ALL_SCOPES: readonly Scope[] = [...RUNTIME_SCOPES, ADMIN_SCOPE];

export type CredentialClass = 'PUBLISHABLE' | 'SECRET';

export function isScope(value: string): value is Scope {
  return (ALL_SCOPES as readonly string[]).includes(value);
}

/**
 * Whether `granted` allows `needed`. `admin` covers every runtime scope; it
 * is itself needed only where a method asks for `admin` explicitly.
 */
export function hasScope(granted: readonly string[], needed: Scope): boolean {
  return granted.includes(needed) || granted.includes(ADMIN_SCOPE);
}

/** The runtime scopes `granted` amounts to, `admin` expanded (for GET /v1/credential and listings). */
export function effectiveScopes(granted: readonly string[]): RuntimeScope[] {
  return RUNTIME_SCOPES.filter((s) => hasScope(granted, s));
}

export interface ScopeViolation {
  /** Position in the requested list; absent for a problem with the list as a whole. */
  index?: number;
  description: string;
}

/** Problems with a requested scope list for a credential of class `cls`; empty when it is valid. */
export function validateScopes(requested: readonly string[], cls: CredentialClass): ScopeViolation[] {
  const violations: ScopeViolation[] = [];
  if (requested.length === 0) violations.push({ description: `required: any of ${ALL_SCOPES.join(', ')}` });
  requested.forEach((scope, index) => {
    if (!isScope(scope)) violations.push({ index, description: `unknown scope ${JSON.stringify(scope)}; the scopes are ${ALL_SCOPES.join(', ')}` });
    else if (scope === ADMIN_SCOPE && cls === 'PUBLISHABLE') violations.push({ index, description: 'admin is for SECRET credentials only' });
  });
  return violations;
}
