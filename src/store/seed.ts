import type { Kysely } from 'kysely';
import { newEtag } from '../domain/etag.js';
import type { Database } from './schema.js';
import { toDbTime } from './time.js';

export const DEFAULT_PROJECT_ID = 'default';

export const DEFAULT_ENVIRONMENTS: ReadonlyArray<{ id: string; displayName: string; production: 0 | 1 }> = [
  { id: 'development', displayName: 'Development', production: 0 },
  { id: 'staging', displayName: 'Staging', production: 0 },
  { id: 'production', displayName: 'Production', production: 1 },
];

export interface SeedResult {
  /** Ids of the projects this call created (empty when they already existed). */
  projects: string[];
  /** Ids of the environments this call created. */
  environments: string[];
}

/**
 * Creates the `default` project and the `development`, `staging` and `production` environments
 * when they are missing (SPEC §1). Existing rows are left as they are, even if an admin changed
 * them. Idempotent and safe when several replicas start at once (`insert … on conflict do nothing`).
 */
export async function seedDefaults(db: Kysely<Database>, now: Date): Promise<SeedResult> {
  const time = toDbTime(now);
  const projects = await db
    .insertInto('projects')
    .values({
      id: DEFAULT_PROJECT_ID,
      display_name: 'Default',
      description: '',
      create_time: time,
      update_time: time,
      creator: null,
      updater: null,
      etag: newEtag(),
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .execute();
  const environments = await db
    .insertInto('environments')
    .values(
      DEFAULT_ENVIRONMENTS.map((env) => ({
        id: env.id,
        display_name: env.displayName,
        description: '',
        production: env.production,
        create_time: time,
        update_time: time,
        creator: null,
        updater: null,
        etag: newEtag(),
      })),
    )
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .execute();
  return { projects: projects.map((r) => r.id), environments: environments.map((r) => r.id) };
}
