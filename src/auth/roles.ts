import { ALL_PERMISSIONS } from './method-policy.js';

export interface RoleDefinition {
  /** `roles/{id}` */
  readonly name: string;
  readonly displayName: string;
  readonly description: string;
  readonly permissions: readonly string[];
}

const only = (...prefixes: string[]) => ALL_PERMISSIONS.filter((p) => prefixes.some((x) => p === x || p.startsWith(`${x}.`)));
const readOnly = (...resources: string[]) => ALL_PERMISSIONS.filter((p) => resources.some((r) => p === `${r}.get` || p === `${r}.list`));

/**
 * Built-in roles (SPEC §5). Every role may read the role catalogue; beyond
 * that each grants exactly the permissions its job needs.
 */
export const BUILT_IN_ROLES: readonly RoleDefinition[] = [
  {
    name: 'roles/admin',
    displayName: 'Administrator',
    description: 'Every management permission.',
    permissions: ALL_PERMISSIONS,
  },
  {
    name: 'roles/flag-editor',
    displayName: 'Flag editor',
    description: 'Creates, changes, archives and deletes flags; reads projects and environments.',
    permissions: [...only('flags'), ...readOnly('projects', 'environments', 'roles')],
  },
  {
    name: 'roles/flag-viewer',
    displayName: 'Flag viewer',
    description: 'Reads flags, projects and environments.',
    permissions: readOnly('flags', 'projects', 'environments', 'roles'),
  },
  {
    name: 'roles/credential-admin',
    displayName: 'Credential administrator',
    description: 'Manages clients and their runtime credentials, reads their usage and SDK events.',
    permissions: [...only('clients', 'credentials'), 'events.list', ...readOnly('projects', 'environments', 'roles')],
  },
  {
    name: 'roles/auditor',
    displayName: 'Auditor',
    description: 'Reads the audit trail, credential usage and SDK events, and the metadata of every credential holder.',
    permissions: [
      'auditEvents.list',
      'credentials.getUsage',
      'events.list',
      ...readOnly('apiClients', 'clients', 'credentials', 'roles', 'projects', 'environments'),
    ],
  },
].map((r) => ({ ...r, permissions: [...new Set(r.permissions)].sort() }));

const byName = new Map(BUILT_IN_ROLES.map((r) => [r.name, r]));

export function roleByName(name: string): RoleDefinition | undefined {
  return byName.get(name);
}

/** The union of a holder's role permissions and extra permissions. */
export function effectivePermissions(roles: readonly string[], extra: readonly string[]): Set<string> {
  const out = new Set<string>(extra);
  for (const r of roles) for (const p of byName.get(r)?.permissions ?? []) out.add(p);
  return out;
}
