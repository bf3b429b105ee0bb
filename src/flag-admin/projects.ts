import { DomainError, invalidArgument, type FieldViolation } from '../domain/errors.js';
import { checkEtag, CONFLICT, etagMismatch, newEtag, untilSwapped } from '../domain/etag.js';
import { alreadyExists, chooseId, notFound, parseName } from '../domain/names.js';
import { pageOf, pageRequest } from '../domain/paging.js';
import { checkText, MAX_DESCRIPTION, MAX_DISPLAY_NAME } from '../domain/text-limits.js';
import { inUse, maskPaths, NO_CATALOG, type AfterChange } from './common.js';
import type { FlagAdminStore, ProjectRecord } from './model.js';

/** The project every flag belongs to when none is named; it exists from the first start and cannot be deleted. */
export const DEFAULT_PROJECT = 'default';

export interface ProjectInput {
  displayName: string;
  description: string;
}

export const PROJECT_UPDATABLE_FIELDS = ['display_name', 'description'] as const;

export const projectName = (id: string) => `projects/${id}`;

function validate(input: ProjectInput): FieldViolation[] {
  return [
    ...checkText('project.display_name', input.displayName, MAX_DISPLAY_NAME),
    ...checkText('project.description', input.description, MAX_DESCRIPTION),
  ];
}

/** Projects (SPEC §1): groups of flags. */
export class Projects {
  constructor(
    private readonly store: FlagAdminStore,
    private readonly now: () => Date,
    private readonly afterChange: AfterChange = NO_CATALOG,
  ) {}

  async create(requestedId: string, input: ProjectInput, actor: string | null): Promise<ProjectRecord> {
    const id = chooseId(requestedId, 'project_id');
    const violations = validate(input);
    if (violations.length > 0) throw invalidArgument(violations);
    const t = this.now();
    const record: ProjectRecord = { id, ...input, createTime: t, updateTime: t, creator: actor, updater: actor, etag: newEtag() };
    if (!(await this.store.insertProject(record))) throw alreadyExists(projectName(id));
    await this.afterChange();
    return record;
  }

  async get(resourceName: string): Promise<ProjectRecord> {
    const [id] = parseName(resourceName, ['projects']);
    const record = await this.store.getProject(id!);
    if (!record) throw notFound(resourceName);
    return record;
  }

  async list(pageSize: number, pageToken: string) {
    const page = pageRequest(pageSize, pageToken, 'projects');
    const rows = await this.store.listProjects(page.after, page.pageSize + 1);
    return pageOf(rows, page, (r) => r.id, 'projects');
  }

  /** Changes the fields in the mask (compare-and-swap on the etag; with `etag`, only while it is current). */
  async update(resourceName: string, input: ProjectInput, mask: readonly string[], actor: string | null, etag?: string): Promise<ProjectRecord> {
    const [id] = parseName(resourceName, ['projects'], 'project.name');
    const paths = maskPaths(mask, PROJECT_UPDATABLE_FIELDS);
    const next = await untilSwapped(resourceName, async () => {
      const current = await this.store.getProject(id!);
      if (!current) throw notFound(resourceName);
      checkEtag(resourceName, etag, current.etag);
      const next: ProjectRecord = { ...current, updateTime: this.now(), updater: actor, etag: newEtag() };
      if (paths.includes('display_name')) next.displayName = input.displayName;
      if (paths.includes('description')) next.description = input.description;
      const violations = validate(next);
      if (violations.length > 0) throw invalidArgument(violations);
      return (await this.store.updateProject(next, paths, current.etag)) ? next : CONFLICT;
    });
    await this.afterChange();
    return next;
  }

  /** Deletes an empty project; `projects/default` and projects that still have flags are refused. */
  async delete(resourceName: string, etag?: string): Promise<void> {
    const [id] = parseName(resourceName, ['projects']);
    if (id === DEFAULT_PROJECT) {
      throw new DomainError('failed_precondition', 'BUILT_IN_RESOURCE', `${resourceName} is built in and cannot be deleted: flags created without a project go there`, {
        metadata: { resource: resourceName },
      });
    }
    const res = await this.store.deleteProject(id!, this.now(), etag || undefined);
    if (res.outcome === 'not_found') throw notFound(resourceName);
    if (res.outcome === 'etag_mismatch') throw etagMismatch(resourceName);
    if (res.outcome === 'in_use') {
      if (res.flags.length > 0) {
        throw inUse('PROJECT_NOT_EMPTY', resourceName, res, 'delete its flags first (archived flags count too)');
      }
      throw inUse('PROJECT_IN_USE', resourceName, res, 'remove the project from those credentials or delete them first');
    }
    await this.afterChange();
  }
}
