/**
 * What every RPC method requires, in one table (SPEC §5): a management
 * permission, a runtime scope (and class), or nothing (public). The auth
 * interceptor refuses any method that is missing from this table, so a new
 * method is unreachable until someone decides who may call it.
 */
import type { RuntimeScope } from '../credentials/scopes.js';

export type MethodPolicy =
  /** No credential: token exchange, health, reflection. */
  | { readonly access: 'public' }
  /** An API client with `permission`; `mutates` marks calls recorded in the admin audit trail. */
  | { readonly access: 'management'; readonly permission: string; readonly mutates: boolean }
  /** A runtime client credential with `scope`; `secretOnly` refuses PUBLISHABLE credentials. */
  | { readonly access: 'runtime'; readonly scope: RuntimeScope; readonly secretOnly: boolean };

const pub = { access: 'public' } as const;
const read = (permission: string): MethodPolicy => ({ access: 'management', permission, mutates: false });
const write = (permission: string): MethodPolicy => ({ access: 'management', permission, mutates: true });
const runtime = (scope: RuntimeScope, secretOnly = false): MethodPolicy => ({ access: 'runtime', scope, secretOnly });

const IAM = 'latchkey.iam.v1';
const CLIENTS = 'latchkey.clients.v1.ClientCredentialService';
const FLAGS = 'latchkey.flags.admin.v1.FlagAdminService';
const RESOLVER = 'latchkey.flags.resolver.v1.FlagResolverService';

export const METHOD_POLICIES: Readonly<Record<string, MethodPolicy>> = {
  [`/${IAM}.ApiClientService/CreateApiClient`]: write('apiClients.create'),
  [`/${IAM}.ApiClientService/GetApiClient`]: read('apiClients.get'),
  [`/${IAM}.ApiClientService/ListApiClients`]: read('apiClients.list'),
  [`/${IAM}.ApiClientService/UpdateApiClient`]: write('apiClients.update'),
  [`/${IAM}.ApiClientService/DeleteApiClient`]: write('apiClients.delete'),
  [`/${IAM}.ApiClientService/RotateApiClientSecret`]: write('apiClients.rotateSecret'),
  [`/${IAM}.ApiClientService/ListRoles`]: read('roles.list'),
  [`/${IAM}.ApiClientService/GetRole`]: read('roles.get'),
  [`/${IAM}.AuthService/RequestAccessToken`]: pub,

  [`/${CLIENTS}/CreateClient`]: write('clients.create'),
  [`/${CLIENTS}/GetClient`]: read('clients.get'),
  [`/${CLIENTS}/ListClients`]: read('clients.list'),
  [`/${CLIENTS}/UpdateClient`]: write('clients.update'),
  [`/${CLIENTS}/DeleteClient`]: write('clients.delete'),
  [`/${CLIENTS}/CreateClientCredential`]: write('credentials.create'),
  [`/${CLIENTS}/GetClientCredential`]: read('credentials.get'),
  [`/${CLIENTS}/ListClientCredentials`]: read('credentials.list'),
  [`/${CLIENTS}/UpdateClientCredential`]: write('credentials.update'),
  [`/${CLIENTS}/RevokeClientCredential`]: write('credentials.revoke'),
  [`/${CLIENTS}/RotateClientCredential`]: write('credentials.rotate'),
  [`/${CLIENTS}/ImportClientCredential`]: write('credentials.import'),
  [`/${CLIENTS}/DeleteClientCredential`]: write('credentials.delete'),

  [`/${FLAGS}/CreateProject`]: write('projects.create'),
  [`/${FLAGS}/GetProject`]: read('projects.get'),
  [`/${FLAGS}/ListProjects`]: read('projects.list'),
  [`/${FLAGS}/UpdateProject`]: write('projects.update'),
  [`/${FLAGS}/DeleteProject`]: write('projects.delete'),
  [`/${FLAGS}/CreateEnvironment`]: write('environments.create'),
  [`/${FLAGS}/GetEnvironment`]: read('environments.get'),
  [`/${FLAGS}/ListEnvironments`]: read('environments.list'),
  [`/${FLAGS}/UpdateEnvironment`]: write('environments.update'),
  [`/${FLAGS}/DeleteEnvironment`]: write('environments.delete'),
  [`/${FLAGS}/CreateFlag`]: write('flags.create'),
  [`/${FLAGS}/GetFlag`]: read('flags.get'),
  [`/${FLAGS}/ListFlags`]: read('flags.list'),
  [`/${FLAGS}/UpdateFlag`]: write('flags.update'),
  [`/${FLAGS}/ArchiveFlag`]: write('flags.archive'),
  [`/${FLAGS}/DeleteFlag`]: write('flags.delete'),

  [`/${RESOLVER}/ResolveFlags`]: runtime('flags:read'),
  [`/${RESOLVER}/ApplyFlags`]: runtime('flags:read'),
  [`/${RESOLVER}/ResolveConfigs`]: runtime('configs:read'),
  [`/${RESOLVER}/ListFlagDefinitions`]: runtime('flags:read', true),

  ['/latchkey.events.v1.EventService/PublishEvents']: runtime('logs:write'),
  ['/latchkey.events.v1.EventService/ListEvents']: read('events.list'),

  ['/latchkey.audit.v1.AuditService/ListAuditEvents']: read('auditEvents.list'),
  ['/latchkey.audit.v1.AuditService/GetCredentialUsage']: read('credentials.getUsage'),

  ['/grpc.health.v1.Health/Check']: pub,
  ['/grpc.health.v1.Health/Watch']: pub,
  ['/grpc.reflection.v1.ServerReflection/ServerReflectionInfo']: pub,
  ['/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo']: pub,
};

/** Every management permission that exists, derived from the table. */
export const ALL_PERMISSIONS: readonly string[] = [
  ...new Set(
    Object.values(METHOD_POLICIES).flatMap((p) => (p.access === 'management' ? [p.permission] : [])),
  ),
].sort();
