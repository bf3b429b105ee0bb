import { DomainError, invalidArgument, type FieldViolation } from '../domain/errors.js';
import { checkEtag, CONFLICT, etagMismatch, newEtag, untilSwapped } from '../domain/etag.js';
import { alreadyExists, chooseId, notFound, parseName } from '../domain/names.js';
import { pageOf, pageRequest } from '../domain/paging.js';
import { checkText, MAX_DESCRIPTION, MAX_DISPLAY_NAME } from '../domain/text-limits.js';
import { inUse, maskPaths, NO_CATALOG, type AfterChange } from './common.js';
import type { EnvironmentRecord, FlagAdminStore } from './model.js';

/**
 * The environments that exist from the first start. They cannot be deleted: every start seeds
 * missing ones again, so a deletion would silently come undone at the next restart.
 */
export const BUILT_IN_ENVIRONMENTS: readonly string[] = ['development', 'staging', 'production'];

export interface EnvironmentInput {
  displayName: string;
  description: string;
  production: boolean;
}

export const ENVIRONMENT_UPDATABLE_FIELDS = ['display_name', 'description', 'production'] as const;

export const environmentName = (id: string) => `environments/${id}`;

function validate(input: EnvironmentInput): FieldViolation[] {
  return [
    ...checkText('environment.display_name', input.displayName, MAX_DISPLAY_NAME),
    ...checkText('environment.description', input.description, MAX_DESCRIPTION),
  ];
}

/** Environments (SPEC §1, §4): what flag rules and credentials are bound to. */
export class Environments {
  constructor(
    private readonly store: FlagAdminStore,
    private readonly now: () => Date,
    private readonly afterChange: AfterChange = NO_CATALOG,
  ) {}

  async create(requestedId: string, input: EnvironmentInput, actor: string | null): Promise<EnvironmentRecord> {
    const id = chooseId(requestedId, 'environment_id');
    const violations = validate(input);
    if (violations.length > 0) throw invalidArgument(violations);
    const t = this.now();
    const record: EnvironmentRecord = { id, ...input, createTime: t, updateTime: t, creator: actor, updater: actor, etag: newEtag() };
    if (!(await this.store.insertEnvironment(record))) throw alreadyExists(environmentName(id));
    await this.afterChange();
    return record;
  }

  async get(resourceName: string): Promise<EnvironmentRecord> {
    const [id] = parseName(resourceName, ['environments']);
    const record = await this.store.getEnvironment(id!);
    if (!record) throw notFound(resourceName);
    return record;
  }

  async list(pageSize: number, pageToken: string) {
    const page = pageRequest(pageSize, pageToken, 'environments');
    const rows = await this.store.listEnvironments(page.after, page.pageSize + 1);
    return pageOf(rows, page, (r) => r.id, 'environments');
  }

  /** Changes the fields in the mask; `production` marks (or unmarks) a production environment. */
  async update(resourceName: string, input: EnvironmentInput, mask: readonly string[], actor: string | null, etag?: string): Promise<EnvironmentRecord> {
    const [id] = parseName(resourceName, ['environments'], 'environment.name');
    const paths = maskPaths(mask, ENVIRONMENT_UPDATABLE_FIELDS);
    const next = await untilSwapped(resourceName, async () => {
      const current = await this.store.getEnvironment(id!);
      if (!current) throw notFound(resourceName);
      checkEtag(resourceName, etag, current.etag);
      const next: EnvironmentRecord = { ...current, updateTime: this.now(), updater: actor, etag: newEtag() };
      if (paths.includes('display_name')) next.displayName = input.displayName;
      if (paths.includes('description')) next.description = input.description;
      if (paths.includes('production')) next.production = input.production;
      const violations = validate(next);
      if (violations.length > 0) throw invalidArgument(violations);
      return (await this.store.updateEnvironment(next, paths, current.etag)) ? next : CONFLICT;
    });
    await this.afterChange();
    return next;
  }

  /** Deletes an environment no flag rule and no active credential names; built-ins are refused. */
  async delete(resourceName: string, etag?: string): Promise<void> {
    const [id] = parseName(resourceName, ['environments']);
    if (BUILT_IN_ENVIRONMENTS.includes(id!)) {
      throw new DomainError(
        'failed_precondition',
        'BUILT_IN_RESOURCE',
        `${resourceName} is built in and cannot be deleted (it would be created again at the next start); leave its rules and credentials empty instead`,
        { metadata: { resource: resourceName } },
      );
    }
    const res = await this.store.deleteEnvironment(id!, this.now(), etag || undefined);
    if (res.outcome === 'not_found') throw notFound(resourceName);
    if (res.outcome === 'etag_mismatch') throw etagMismatch(resourceName);
    if (res.outcome === 'in_use') {
      throw inUse('ENVIRONMENT_IN_USE', resourceName, res, 'remove it from those flag rules and credentials first');
    }
    await this.afterChange();
  }
}
