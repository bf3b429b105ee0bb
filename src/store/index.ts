export * from './schema.js';
export { detectDialect, type SqlDialect } from './dialect.js';
export {
  openDatabase,
  parseDatabaseUrl,
  describePostgresTarget,
  DEFAULT_DATABASE_URL,
  type DatabaseConfig,
  type OpenDatabase,
} from './database.js';
export { migrateToLatest } from './migrate.js';
export { migrationNames } from './migrations/index.js';
export { seedDefaults, DEFAULT_PROJECT_ID, DEFAULT_ENVIRONMENTS, type SeedResult } from './seed.js';
export { toDbTime, fromDbTime, toDbTimeOrNull, fromDbTimeOrNull } from './time.js';
