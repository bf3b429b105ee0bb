/**
 * Runtime scopes a client credential may hold (SPEC §3). `admin` stands for
 * every runtime scope and is for SECRET credentials only.
 */
export const RUNTIME_SCOPES = ['flags:read', 'configs:read', 'logs:write'] as const;
export type RuntimeScope = (typeof RUNTIME_SCOPES)[number];
export const ADMIN_SCOPE = 'admin';

export function hasScope(granted: readonly string[], needed: RuntimeScope): boolean {
  return granted.includes(needed) || granted.includes(ADMIN_SCOPE);
}
