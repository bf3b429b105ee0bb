import { createContextKey } from '@connectrpc/connect';

/** An API client authenticated on the management API. */
export interface ApiClientPrincipal {
  readonly kind: 'apiClient';
  /** `apiClients/{id}`: recorded as creator/updater and as the audit actor. */
  readonly name: string;
  readonly permissions: ReadonlySet<string>;
}

/** A runtime client credential that passed validation (SPEC §3). */
export interface CredentialPrincipal {
  readonly kind: 'credential';
  /** `clients/{client}/credentials/{credential}` */
  readonly name: string;
  /** `clients/{client}` */
  readonly client: string;
  readonly class: 'PUBLISHABLE' | 'SECRET';
  readonly environments: readonly string[];
  /** Project ids, or `['*']` for every project, present and future. */
  readonly projects: readonly string[];
  readonly scopes: readonly string[];
}

export type Principal = ApiClientPrincipal | CredentialPrincipal;

/** Set by the auth interceptor; handlers read it from `ctx.values`, never from globals. */
export const principalKey = createContextKey<Principal | undefined>(undefined, { description: 'latchkey principal' });

export function apiClientOf(values: { get<T>(key: { id: symbol; defaultValue: T }): T }): ApiClientPrincipal {
  const p = values.get(principalKey);
  if (p?.kind !== 'apiClient') throw new Error('no API client principal in context: is the method in METHOD_POLICIES?');
  return p;
}

export function credentialOf(values: { get<T>(key: { id: symbol; defaultValue: T }): T }): CredentialPrincipal {
  const p = values.get(principalKey);
  if (p?.kind !== 'credential') throw new Error('no credential principal in context: is the method in METHOD_POLICIES?');
  return p;
}
