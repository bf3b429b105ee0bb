/**
 * Projects, environments and flags as the flag admin domain sees them, and the storage it needs
 * (implemented over Kysely in src/store/flag-admin-store.ts). No protobuf or Kysely types here.
 */
import type { ChangeRow } from '../changes/change-feed.js';
import type { FlagDefinitionParts } from './definition.js';

/** What every admin resource carries (SPEC §1). `creator`/`updater` are null for built-ins. */
export interface Audited {
  createTime: Date;
  updateTime: Date;
  creator: string | null;
  updater: string | null;
  /** AIP-154: replaced by every write; writes are compare-and-swap on it (src/domain/etag.ts). */
  etag: string;
}

export interface ProjectRecord extends Audited {
  id: string;
  displayName: string;
  description: string;
}

export interface EnvironmentRecord extends Audited {
  id: string;
  displayName: string;
  description: string;
  production: boolean;
}

export type FlagState = 'ACTIVE' | 'ARCHIVED';

/** A stored flag: its definition (kind, variants, default variant, rules) plus bookkeeping. */
export interface FlagRecord extends Audited, FlagDefinitionParts {
  id: string;
  projectId: string;
  description: string;
  state: FlagState;
  secret: boolean;
  /** Bucketing salt, generated at creation and never changed. */
  salt: string;
}

/** Why a delete did not happen. */
export type DeleteOutcome =
  | { outcome: 'deleted' }
  | { outcome: 'not_found' }
  /** The delete named an etag that is no longer the resource's. */
  | { outcome: 'etag_mismatch' }
  /** Still referenced: flag ids and (active) credential names, each sorted. */
  | { outcome: 'in_use'; flags: string[]; credentials: string[] };

/** Entities recorded in change_log by the flag admin domain. */
export type ChangeEntity = 'flag' | 'project' | 'environment';

export type { ChangeRow } from '../changes/change-feed.js';

/**
 * Storage for projects, environments and flags. Every write appends a change_log row
 * (entity `project` | `environment` | `flag`, key = id) in the same transaction.
 */
export interface FlagAdminStore {
  /** False when the id is taken. */
  insertProject(record: ProjectRecord): Promise<boolean>;
  getProject(id: string): Promise<ProjectRecord | undefined>;
  /** Ordered by id, after `after`, at most `limit`. */
  listProjects(after: string | undefined, limit: number): Promise<ProjectRecord[]>;
  /**
   * Writes the `fields` (update-mask paths) of `record`, only if the stored etag is still
   * `expectedEtag`; false when it is not (or the project is gone).
   */
  updateProject(record: ProjectRecord, fields: readonly string[], expectedEtag: string): Promise<boolean>;
  /** Refused (`in_use`) while flags belong to it or active credentials name it; with `etag`, only while it is that. */
  deleteProject(id: string, now: Date, etag?: string): Promise<DeleteOutcome>;

  insertEnvironment(record: EnvironmentRecord): Promise<boolean>;
  getEnvironment(id: string): Promise<EnvironmentRecord | undefined>;
  listEnvironments(after: string | undefined, limit: number): Promise<EnvironmentRecord[]>;
  /** Every environment id, for validating flag rules. */
  environmentIds(): Promise<string[]>;
  /** Like updateProject. */
  updateEnvironment(record: EnvironmentRecord, fields: readonly string[], expectedEtag: string): Promise<boolean>;
  /** Refused (`in_use`) while a flag rule or an active credential names it; with `etag`, only while it is that. */
  deleteEnvironment(id: string, now: Date, etag?: string): Promise<DeleteOutcome>;

  /**
   * Inserts a flag. `environments` are the ids its rules name: they are checked (and locked
   * against deletion) in the same transaction. Returns `exists` for a taken id, `no_project` or
   * `no_environment` when what it references vanished since validation.
   */
  insertFlag(record: FlagRecord, environments: readonly string[]): Promise<'ok' | 'exists' | 'no_project' | 'no_environment'>;
  getFlag(id: string): Promise<FlagRecord | undefined>;
  /** Ordered by id, after `after`, at most `limit`; `projectId` undefined = every project. */
  listFlags(filter: { projectId: string | undefined; showArchived: boolean }, after: string | undefined, limit: number): Promise<FlagRecord[]>;
  /**
   * Writes the `fields` (update-mask paths) of `record`, only if the stored etag is still
   * `expectedEtag` (`conflict` when it is not, or the flag is gone); same checks as insertFlag.
   */
  updateFlag(record: FlagRecord, fields: readonly string[], expectedEtag: string, environments: readonly string[]): Promise<'ok' | 'conflict' | 'no_environment'>;
  /** With `etag`, deletes only while the flag's etag is still that. */
  deleteFlag(id: string, now: Date, etag?: string): Promise<boolean>;

  /** Everything the flag catalog holds, read consistently, and the change_log position it reflects. */
  snapshot(): Promise<{ seq: number; projects: ProjectRecord[]; environments: EnvironmentRecord[]; flags: FlagRecord[] }>;
  /** change_log rows of the flag admin entities with seq > `after` or in `also`, in seq order. */
  changesSince(after: number, also: readonly number[]): Promise<ChangeRow[]>;
}
