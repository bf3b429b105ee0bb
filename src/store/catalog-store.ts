import type { Kysely } from 'kysely';
import type { Catalog } from '../client-credentials/client-credentials.js';
import type { Database } from './schema.js';

/** Environments and projects as they are in the database now, for validating credential settings. */
export class KyselyCatalog implements Catalog {
  constructor(private readonly db: Kysely<Database>) {}

  async snapshot() {
    const [environments, projects] = await Promise.all([
      this.db.selectFrom('environments').select(['id', 'production']).execute(),
      this.db.selectFrom('projects').select('id').execute(),
    ]);
    return {
      environments: new Map(environments.map((e) => [e.id, e.production === 1])),
      projects: new Set(projects.map((p) => p.id)),
    };
  }
}
