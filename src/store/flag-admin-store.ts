import type { Kysely, Selectable, Transaction } from 'kysely';
import type { FlagDefinitionParts } from '../flag-admin/definition.js';
import type { ChangeEntity, DeleteOutcome, EnvironmentRecord, FlagAdminStore, FlagRecord, ProjectRecord } from '../flag-admin/model.js';
import type { Database, EnvironmentsTable, FlagsTable, ProjectsTable } from './schema.js';
import { fromDbTime, toDbTime } from './time.js';
import { changesSince, latestChange, recordChange } from './change-log.js';
import { changedColumns } from './swap.js';
import { isForeignKeyViolation, isUniqueViolation } from './unique-violation.js';

/** Rolls a transaction back and carries a result out of it. */
class Abort<T> {
  constructor(readonly result: T) {}
}

async function inTransaction<T>(db: Kysely<Database>, fn: (tx: Transaction<Database>) => Promise<T>): Promise<T> {
  try {
    return await db.transaction().execute(fn);
  } catch (err) {
    if (err instanceof Abort) return err.result as T;
    throw err;
  }
}

function projectFromRow(r: Selectable<ProjectsTable>): ProjectRecord {
  return {
    id: r.id,
    displayName: r.display_name,
    description: r.description,
    createTime: fromDbTime(r.create_time),
    updateTime: fromDbTime(r.update_time),
    creator: r.creator,
    updater: r.updater,
    etag: r.etag,
  };
}

function projectToRow(p: ProjectRecord): Selectable<ProjectsTable> {
  return {
    id: p.id,
    display_name: p.displayName,
    description: p.description,
    create_time: toDbTime(p.createTime),
    update_time: toDbTime(p.updateTime),
    creator: p.creator,
    updater: p.updater,
    etag: p.etag,
  };
}

function environmentFromRow(r: Selectable<EnvironmentsTable>): EnvironmentRecord {
  return {
    id: r.id,
    displayName: r.display_name,
    description: r.description,
    production: r.production === 1,
    createTime: fromDbTime(r.create_time),
    updateTime: fromDbTime(r.update_time),
    creator: r.creator,
    updater: r.updater,
    etag: r.etag,
  };
}

function environmentToRow(e: EnvironmentRecord) {
  return {
    id: e.id,
    display_name: e.displayName,
    description: e.description,
    production: (e.production ? 1 : 0) as 0 | 1,
    create_time: toDbTime(e.createTime),
    update_time: toDbTime(e.updateTime),
    creator: e.creator,
    updater: e.updater,
    etag: e.etag,
  };
}

function flagFromRow(r: Selectable<FlagsTable>): FlagRecord {
  return {
    id: r.id,
    projectId: r.project_id,
    description: r.description,
    state: r.state,
    secret: r.secret === 1,
    kind: r.kind as FlagDefinitionParts['kind'],
    variants: JSON.parse(r.variants) as FlagDefinitionParts['variants'],
    defaultVariant: r.default_variant,
    rules: JSON.parse(r.rules) as FlagDefinitionParts['rules'],
    salt: r.salt,
    createTime: fromDbTime(r.create_time),
    updateTime: fromDbTime(r.update_time),
    creator: r.creator,
    updater: r.updater,
    etag: r.etag,
  };
}

function flagToRow(f: FlagRecord) {
  return {
    id: f.id,
    project_id: f.projectId,
    description: f.description,
    state: f.state,
    secret: (f.secret ? 1 : 0) as 0 | 1,
    kind: f.kind,
    variants: JSON.stringify(f.variants),
    default_variant: f.defaultVariant,
    rules: JSON.stringify(f.rules),
    salt: f.salt,
    create_time: toDbTime(f.createTime),
    update_time: toDbTime(f.updateTime),
    creator: f.creator,
    updater: f.updater,
    etag: f.etag,
  };
}

/** Environment ids named by the rules stored in a flag row's `rules` JSON. */
function ruleEnvironments(rulesJson: string): string[] {
  const rules = JSON.parse(rulesJson) as Array<{ environments?: unknown }>;
  return rules.flatMap((r) => (Array.isArray(r.environments) ? (r.environments as string[]) : []));
}

/**
 * Projects, environments and flags over Kysely (SQLite and PostgreSQL). Every write appends a
 * change_log row in its transaction, so every replica's flag catalog can pick the change up.
 *
 * Races between writers are closed with row locks that work on both dialects: a flag write
 * touches (`update … set update_time = update_time`) the environment rows its rules name, and
 * deleting an environment deletes the row before looking for flags that name it, so the two
 * serialise on that row (SQLite serialises every write anyway). A flag's project is guarded by
 * the foreign key.
 */
export class KyselyFlagAdminStore implements FlagAdminStore {
  constructor(private readonly db: Kysely<Database>) {}

  private changed(tx: Transaction<Database>, entity: ChangeEntity, key: string, now: Date) {
    return recordChange(tx, entity, key, now);
  }

  /** Ids of the active credentials whose JSON list `column` names `id`. */
  private async credentialsNaming(tx: Transaction<Database>, column: 'environments' | 'projects', id: string): Promise<string[]> {
    const rows = await tx
      .selectFrom('client_credentials')
      .select(['client_id', 'id', column])
      .where('state', '=', 'ACTIVE')
      .orderBy('client_id')
      .orderBy('id')
      .execute();
    return rows
      .filter((r) => (JSON.parse((r as Record<string, string>)[column]!) as string[]).includes(id))
      .map((r) => `clients/${r.client_id}/credentials/${r.id}`);
  }

  // --- projects ---

  async insertProject(record: ProjectRecord) {
    try {
      await this.db.transaction().execute(async (tx) => {
        await tx.insertInto('projects').values(projectToRow(record)).execute();
        await this.changed(tx, 'project', record.id, record.createTime);
      });
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async getProject(id: string) {
    const row = await this.db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
    return row && projectFromRow(row);
  }

  async listProjects(after: string | undefined, limit: number) {
    let q = this.db.selectFrom('projects').selectAll().orderBy('id').limit(limit);
    if (after !== undefined) q = q.where('id', '>', after);
    return (await q.execute()).map(projectFromRow);
  }

  async updateProject(record: ProjectRecord, fields: readonly string[], expectedEtag: string) {
    return this.db.transaction().execute(async (tx) => {
      const res = await tx
        .updateTable('projects')
        .set(changedColumns(projectToRow(record), fields))
        .where('id', '=', record.id)
        .where('etag', '=', expectedEtag)
        .executeTakeFirst();
      if (res.numUpdatedRows === 0n) return false;
      await this.changed(tx, 'project', record.id, record.updateTime);
      return true;
    });
  }

  /** With `etag`: whether the row `id` of `table` is missing, or there with another etag. */
  private async etagOutcome(tx: Transaction<Database>, table: 'projects' | 'environments', id: string, etag: string | undefined): Promise<DeleteOutcome | undefined> {
    if (etag === undefined) return undefined;
    const row = await tx.selectFrom(table).select('etag').where('id', '=', id).executeTakeFirst();
    if (!row) return { outcome: 'not_found' };
    return row.etag === etag ? undefined : { outcome: 'etag_mismatch' };
  }

  async deleteProject(id: string, now: Date, etag?: string): Promise<DeleteOutcome> {
    const attempt = () =>
      inTransaction<DeleteOutcome>(this.db, async (tx) => {
        const refused = await this.etagOutcome(tx, 'projects', id, etag);
        if (refused) return refused;
        const flags = await tx.selectFrom('flags').select('id').where('project_id', '=', id).orderBy('id').execute();
        const credentials = await this.credentialsNaming(tx, 'projects', id);
        if (flags.length > 0 || credentials.length > 0) throw new Abort<DeleteOutcome>({ outcome: 'in_use', flags: flags.map((f) => f.id), credentials });
        let q = tx.deleteFrom('projects').where('id', '=', id);
        if (etag !== undefined) q = q.where('etag', '=', etag);
        const res = await q.executeTakeFirst();
        if (res.numDeletedRows === 0n) return etag === undefined ? { outcome: 'not_found' } : ((await this.etagOutcome(tx, 'projects', id, etag)) ?? { outcome: 'etag_mismatch' });
        await this.changed(tx, 'project', id, now);
        return { outcome: 'deleted' };
      });
    try {
      return await attempt();
    } catch (err) {
      // A flag created in the project between the check and the delete: answer as if seen.
      if (isForeignKeyViolation(err)) return attempt();
      throw err;
    }
  }

  // --- environments ---

  async insertEnvironment(record: EnvironmentRecord) {
    try {
      await this.db.transaction().execute(async (tx) => {
        await tx.insertInto('environments').values(environmentToRow(record)).execute();
        await this.changed(tx, 'environment', record.id, record.createTime);
      });
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async getEnvironment(id: string) {
    const row = await this.db.selectFrom('environments').selectAll().where('id', '=', id).executeTakeFirst();
    return row && environmentFromRow(row);
  }

  async listEnvironments(after: string | undefined, limit: number) {
    let q = this.db.selectFrom('environments').selectAll().orderBy('id').limit(limit);
    if (after !== undefined) q = q.where('id', '>', after);
    return (await q.execute()).map(environmentFromRow);
  }

  async environmentIds() {
    return (await this.db.selectFrom('environments').select('id').orderBy('id').execute()).map((r) => r.id);
  }

  async updateEnvironment(record: EnvironmentRecord, fields: readonly string[], expectedEtag: string) {
    return this.db.transaction().execute(async (tx) => {
      const res = await tx
        .updateTable('environments')
        .set(changedColumns(environmentToRow(record), fields))
        .where('id', '=', record.id)
        .where('etag', '=', expectedEtag)
        .executeTakeFirst();
      if (res.numUpdatedRows === 0n) return false;
      await this.changed(tx, 'environment', record.id, record.updateTime);
      return true;
    });
  }

  async deleteEnvironment(id: string, now: Date, etag?: string): Promise<DeleteOutcome> {
    return inTransaction<DeleteOutcome>(this.db, async (tx) => {
      // Delete first: the row lock makes a concurrent flag write that names this environment
      // either finish before (and be seen below) or find the environment gone.
      let q = tx.deleteFrom('environments').where('id', '=', id);
      if (etag !== undefined) q = q.where('etag', '=', etag);
      const res = await q.executeTakeFirst();
      if (res.numDeletedRows === 0n) return etag === undefined ? { outcome: 'not_found' } : ((await this.etagOutcome(tx, 'environments', id, etag)) ?? { outcome: 'etag_mismatch' });
      const flags = (await tx.selectFrom('flags').select(['id', 'rules']).orderBy('id').execute())
        .filter((f) => ruleEnvironments(f.rules).includes(id))
        .map((f) => f.id);
      const credentials = await this.credentialsNaming(tx, 'environments', id);
      if (flags.length > 0 || credentials.length > 0) throw new Abort<DeleteOutcome>({ outcome: 'in_use', flags, credentials });
      await this.changed(tx, 'environment', id, now);
      return { outcome: 'deleted' };
    });
  }

  // --- flags ---

  /** Locks the named environments against deletion; false when one of them does not exist. */
  private async holdEnvironments(tx: Transaction<Database>, environments: readonly string[]): Promise<boolean> {
    const ids = [...new Set(environments)];
    if (ids.length === 0) return true;
    const res = await tx
      .updateTable('environments')
      .set((eb) => ({ update_time: eb.ref('update_time') }))
      .where('id', 'in', ids)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === ids.length;
  }

  async insertFlag(record: FlagRecord, environments: readonly string[]) {
    type R = 'ok' | 'exists' | 'no_project' | 'no_environment';
    try {
      return await inTransaction<R>(this.db, async (tx) => {
        if (!(await this.holdEnvironments(tx, environments))) throw new Abort<R>('no_environment');
        await tx.insertInto('flags').values(flagToRow(record)).execute();
        await this.changed(tx, 'flag', record.id, record.createTime);
        return 'ok';
      });
    } catch (err) {
      if (isUniqueViolation(err)) return 'exists';
      if (isForeignKeyViolation(err)) return 'no_project';
      throw err;
    }
  }

  async getFlag(id: string) {
    const row = await this.db.selectFrom('flags').selectAll().where('id', '=', id).executeTakeFirst();
    return row && flagFromRow(row);
  }

  async listFlags(filter: { projectId: string | undefined; showArchived: boolean }, after: string | undefined, limit: number) {
    let q = this.db.selectFrom('flags').selectAll().orderBy('id').limit(limit);
    if (filter.projectId !== undefined) q = q.where('project_id', '=', filter.projectId);
    if (!filter.showArchived) q = q.where('state', '=', 'ACTIVE');
    if (after !== undefined) q = q.where('id', '>', after);
    return (await q.execute()).map(flagFromRow);
  }

  async updateFlag(record: FlagRecord, fields: readonly string[], expectedEtag: string, environments: readonly string[]) {
    type R = 'ok' | 'conflict' | 'no_environment';
    return inTransaction<R>(this.db, async (tx) => {
      if (!(await this.holdEnvironments(tx, environments))) throw new Abort<R>('no_environment');
      const res = await tx
        .updateTable('flags')
        .set(changedColumns(flagToRow(record), fields))
        .where('id', '=', record.id)
        .where('etag', '=', expectedEtag)
        .executeTakeFirst();
      if (res.numUpdatedRows === 0n) throw new Abort<R>('conflict');
      await this.changed(tx, 'flag', record.id, record.updateTime);
      return 'ok';
    });
  }

  async deleteFlag(id: string, now: Date, etag?: string) {
    return this.db.transaction().execute(async (tx) => {
      let q = tx.deleteFrom('flags').where('id', '=', id);
      if (etag !== undefined) q = q.where('etag', '=', etag);
      const res = await q.executeTakeFirst();
      if (res.numDeletedRows === 0n) return false;
      await this.changed(tx, 'flag', id, now);
      return true;
    });
  }

  // --- catalog ---

  async snapshot() {
    // One snapshot on PostgreSQL (repeatable read); SQLite's WAL readers see one anyway.
    return this.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .setAccessMode('read only')
      .execute(async (tx) => {
        const seq = await latestChange(tx);
        const projects = (await tx.selectFrom('projects').selectAll().orderBy('id').execute()).map(projectFromRow);
        const environments = (await tx.selectFrom('environments').selectAll().orderBy('id').execute()).map(environmentFromRow);
        const flags = (await tx.selectFrom('flags').selectAll().orderBy('id').execute()).map(flagFromRow);
        return { seq, projects, environments, flags };
      });
  }

  changesSince(after: number, also: readonly number[]) {
    return changesSince(this.db, after, also);
  }
}
