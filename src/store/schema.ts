/**
 * Kysely table types for latchkey's store: one interface per table and the `Database` map.
 *
 * The SQL is kept portable between SQLite and PostgreSQL:
 * - ids are text;
 * - timestamps are ISO-8601 UTC text with milliseconds, always the same width
 *   (`2026-11-23T09:00:00.000Z`, see `time.ts`), so string order is time order;
 * - booleans are integers 0/1;
 * - lists and maps are JSON text (the repositories parse and validate them).
 *
 * These types describe the schema that `migrations/` create; change them together with a new
 * migration, never by editing a released one.
 */
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** ISO-8601 UTC timestamp text, fixed width (`toDbTime` / `fromDbTime`). */
export type DbTime = string;

/** A boolean stored as an integer: reads as a number, writes only 0 or 1. */
export type DbBool = ColumnType<number, 0 | 1, 0 | 1>;

/** JSON-encoded text (a list or a map). */
export type JsonText = string;

/** Creation and modification bookkeeping shared by the admin resources. */
interface Audited {
  create_time: DbTime;
  update_time: DbTime;
  /** The API client that created the row; null when latchkey itself did (bootstrap, seed). */
  creator: string | null;
  /** The API client that last changed the row; null when latchkey itself did. */
  updater: string | null;
  /** AIP-154 etag: replaced by every write; writes are compare-and-swap on it (store/etag.ts). */
  etag: string;
}

export interface ProjectsTable extends Audited {
  id: string;
  display_name: string;
  description: string;
}

export interface EnvironmentsTable extends Audited {
  id: string;
  display_name: string;
  description: string;
  production: DbBool;
}

export type FlagState = 'ACTIVE' | 'ARCHIVED';

export interface FlagsTable extends Audited {
  id: string;
  project_id: string;
  description: string;
  state: FlagState;
  secret: DbBool;
  /** `BOOLEAN`, `STRING`, `NUMBER` or `OBJECT` (validated by the domain layer). */
  kind: string;
  /** JSON list of `{ name, value }`. */
  variants: JsonText;
  default_variant: string | null;
  /** JSON list of rules, in evaluation order. */
  rules: JsonText;
  /** Salt for bucketing (`<salt>|<unit>`). */
  salt: string;
}

export interface ClientsTable extends Audited {
  id: string;
  display_name: string;
  description: string;
  /** JSON map of string → string. */
  labels: JsonText;
}

export type CredentialClass = 'PUBLISHABLE' | 'SECRET';
export type CredentialState = 'ACTIVE' | 'REVOKED';

export interface ClientCredentialsTable extends Audited {
  client_id: string;
  id: string;
  display_name: string;
  class: CredentialClass;
  /** `KEY_PAIR`, `CLIENT_SECRET`, `UNLEASH`, `PUBLISHABLE_KEY`, `SECRET_KEY` or `IMPORTED`. */
  format: string;
  /** The public `pk_…` half of a key pair; unique when set. */
  public_id: string | null;
  /** JSON list of environment ids. */
  environments: JsonText;
  /** JSON list of project ids; `["*"]` means every project, present and future. */
  projects: JsonText;
  /** JSON list of scopes. */
  scopes: JsonText;
  /** JSON list of origins. */
  allowed_origins: JsonText;
  /** JSON list of CIDR ranges. */
  allowed_ip_ranges: JsonText;
  /** Null (with the window) means the server default. */
  rate_limit_requests: number | null;
  rate_limit_window_ms: number | null;
  expire_time: DbTime | null;
  state: CredentialState;
  revoke_time: DbTime | null;
  last_use_time: DbTime | null;
  secret_hint: string;
}

/**
 * The SHA-256 digests of a credential's live secrets. There are several while a rotation's grace
 * period runs: the old ones then carry an `expire_time`.
 */
export interface CredentialSecretsTable {
  /** Lower-case hex SHA-256 of the secret. */
  digest: string;
  client_id: string;
  credential_id: string;
  expire_time: DbTime | null;
  create_time: DbTime;
}

export interface ApiClientsTable extends Audited {
  id: string;
  /** What the API client authenticates as (OAuth2 `client_id`). */
  client_id: string;
  /** Digest of the API client's secret. */
  secret_digest: string;
  display_name: string;
  description: string;
  /** JSON map of string → string. */
  labels: JsonText;
  /** JSON list of role names (`roles/admin` …). */
  roles: JsonText;
  /** JSON list of extra permissions (`flags.update` …). */
  permissions: JsonText;
  /** Grows by one with every secret rotation; access tokens carry the generation they were issued under. */
  secret_generation: ColumnType<number, number | undefined, number>;
}

export interface AccessTokensTable {
  /** Lower-case hex SHA-256 of the access token. */
  digest: string;
  api_client_id: string;
  expire_time: DbTime;
  create_time: DbTime;
  /** The client's `secret_generation` at issue; the token is valid only while it is still the client's. */
  secret_generation: number;
}

/** Keys every replica shares, created once (e.g. `resolve-token`, the HMAC key of resolve tokens). */
export interface ServerKeysTable {
  id: string;
  /** base64 of the key bytes. */
  key: string;
  create_time: DbTime;
}

export type AuditEventKind = 'ADMIN_CHANGE' | 'CREDENTIAL_VALIDATION';

export interface AuditEventsTable {
  /** Sortable id (src/domain/monotonic-ids.ts): id order is event-time order. */
  id: string;
  kind: AuditEventKind;
  event_time: DbTime;
  /** The API client behind an admin change. */
  actor: string | null;
  /** The RPC or route, e.g. `/latchkey.flags.resolver.v1.FlagResolverService/ResolveFlags`. */
  method: string;
  /** The resource an admin change touched. */
  resource: string | null;
  /** `OK` or the refusal reason (`CREDENTIAL_REVOKED` …). */
  outcome: string;
  request_id: string | null;
  client_address: string | null;
  origin: string | null;
  user_agent: string | null;
  /** Credential name (`clients/…/credentials/…`), when the credential was found. */
  credential: string | null;
  /** Client name (`clients/…`), when the credential was found. */
  client: string | null;
  /** First 8 hex characters of the digest of a secret that matched no credential. */
  digest_prefix: string | null;
}

/**
 * Successful validations counted per credential, outcome, method, address, origin, user agent and
 * minute (SPEC §7): one row per tuple and minute, which every process adds its counts to.
 */
export interface AuditValidationCountsTable {
  /** `v<13-digit minute start ms><26 hex of the tuple's digest>` (src/audit/validation-count.ts). */
  id: string;
  /** Start of the minute counted. */
  event_time: DbTime;
  first_time: DbTime;
  last_time: DbTime;
  count: number;
  credential: string;
  client: string | null;
  outcome: string;
  method: string;
  client_address: string | null;
  origin: string | null;
  user_agent: string | null;
}

/** The last count batch applied per audit writer (one per AuditLog), so a batch sent again is skipped. */
export interface AuditCountWritersTable {
  writer: string;
  seq: number;
  update_time: DbTime;
}

/** Addresses and origins each credential was used from: a new row marks a first use (kept individually). */
export interface CredentialSightingsTable {
  credential: string;
  /** `address` or `origin`. */
  kind: string;
  value: string;
  first_time: DbTime;
}

export interface SdkEventsTable {
  id: string;
  kind: string;
  level: string | null;
  message: string;
  /** JSON map. */
  attributes: JsonText;
  event_time: DbTime;
  receive_time: DbTime;
  credential: string;
  client: string;
  sdk: string | null;
}

export interface FlagAppliesTable {
  id: string;
  resolve_token: string;
  flag: string;
  variant: string | null;
  credential: string;
  apply_time: DbTime;
  receive_time: DbTime;
}

/**
 * One row per change to a cached entity. Every replica polls rows with `seq` above the last one it
 * saw and drops those keys from its in-memory caches (SPEC §3: revocation within one second).
 */
export interface ChangeLogTable {
  seq: Generated<number>;
  /** What changed: `credential`, `flag`, `api_client` … */
  entity: string;
  /** Which one, e.g. the credential name. */
  entity_key: string;
  change_time: DbTime;
}

export interface Database {
  projects: ProjectsTable;
  environments: EnvironmentsTable;
  flags: FlagsTable;
  clients: ClientsTable;
  client_credentials: ClientCredentialsTable;
  credential_secrets: CredentialSecretsTable;
  api_clients: ApiClientsTable;
  access_tokens: AccessTokensTable;
  audit_events: AuditEventsTable;
  sdk_events: SdkEventsTable;
  flag_applies: FlagAppliesTable;
  change_log: ChangeLogTable;
  server_keys: ServerKeysTable;
  audit_validation_counts: AuditValidationCountsTable;
  audit_count_writers: AuditCountWritersTable;
  credential_sightings: CredentialSightingsTable;
}

export type TableName = keyof Database;

export type ProjectRow = Selectable<ProjectsTable>;
export type NewProjectRow = Insertable<ProjectsTable>;
export type ProjectUpdate = Updateable<ProjectsTable>;
export type EnvironmentRow = Selectable<EnvironmentsTable>;
export type NewEnvironmentRow = Insertable<EnvironmentsTable>;
export type EnvironmentUpdate = Updateable<EnvironmentsTable>;
export type FlagRow = Selectable<FlagsTable>;
export type NewFlagRow = Insertable<FlagsTable>;
export type FlagUpdate = Updateable<FlagsTable>;
export type ClientRow = Selectable<ClientsTable>;
export type NewClientRow = Insertable<ClientsTable>;
export type ClientUpdate = Updateable<ClientsTable>;
export type ClientCredentialRow = Selectable<ClientCredentialsTable>;
export type NewClientCredentialRow = Insertable<ClientCredentialsTable>;
export type ClientCredentialUpdate = Updateable<ClientCredentialsTable>;
export type CredentialSecretRow = Selectable<CredentialSecretsTable>;
export type NewCredentialSecretRow = Insertable<CredentialSecretsTable>;
export type ApiClientRow = Selectable<ApiClientsTable>;
export type NewApiClientRow = Insertable<ApiClientsTable>;
export type ApiClientUpdate = Updateable<ApiClientsTable>;
export type AccessTokenRow = Selectable<AccessTokensTable>;
export type NewAccessTokenRow = Insertable<AccessTokensTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
export type NewAuditEventRow = Insertable<AuditEventsTable>;
export type SdkEventRow = Selectable<SdkEventsTable>;
export type NewSdkEventRow = Insertable<SdkEventsTable>;
export type FlagApplyRow = Selectable<FlagAppliesTable>;
export type NewFlagApplyRow = Insertable<FlagAppliesTable>;
export type ChangeLogRow = Selectable<ChangeLogTable>;
export type NewChangeLogRow = Insertable<ChangeLogTable>;
