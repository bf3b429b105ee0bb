import cluster from 'node:cluster';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  ConfigError,
  ENV_NAMES,
  SETTING_HELP,
  parseConfig,
  rawConfigFromEnv,
  settingDefault,
  type Config,
  type RawConfig,
} from './config/config.js';
import { startApp } from './app.js';
import { runPrimary } from './cluster/primary.js';
import { runWorker } from './cluster/worker.js';
import { announceOnStderr, resetBootstrapAdmin } from './iam/bootstrap.js';
import { ApiClients } from './iam/api-clients.js';
import { MonotonicIds } from './domain/monotonic-ids.js';
import { createLogger, flushLogger, type Logger } from './logging/logger.js';
import { KyselyApiClientStore } from './store/api-client-store.js';
import { KyselyAuditStore } from './store/audit-store.js';
import { describePostgresTarget, openDatabase, parseDatabaseUrl, type OpenDatabase } from './store/database.js';
import { migrateToLatest } from './store/migrate.js';
import { seedDefaults } from './store/seed.js';

/** The version in package.json, which `latchkey --version` shows. */
export function version(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

const COMMANDS: readonly [string, string][] = [
  ['serve', 'run the server (the default command)'],
  ['migrate', 'apply the database migrations, create the default project and'],
  ['', 'environments, say what was done, and exit'],
  ['admin reset-bootstrap', 'give apiClients/bootstrap-admin roles/admin and a new secret'],
  ['', '(creating it if it is missing) and print them once on stderr: the'],
  ['', 'recovery for a lost admin, with access to the database only'],
  ['help', 'show this help (also -h, --help)'],
  ['version', 'show the version (also --version)'],
];

const SHORT_USAGE = 'usage: latchkey [serve | migrate | admin reset-bootstrap | help | version] [flags]';

function flagName(key: keyof Config): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The text of `latchkey --help`: every command, and every setting with its flag, variable and default. */
export function helpText(): string {
  const keys = Object.keys(ENV_NAMES) as (keyof Config)[];
  const settings = keys.flatMap((key) => {
    const fallback = settingDefault(key);
    const shown = fallback === undefined || fallback === '' ? '(none)' : fallback;
    return [`  --${flagName(key).padEnd(26)}${ENV_NAMES[key].padEnd(34)}${shown}`, `      ${SETTING_HELP[key]}`];
  });
  return [
    `latchkey ${version()}: a self-hosted feature-flag service`,
    '',
    'usage: latchkey [command] [flags]',
    '',
    'commands:',
    ...COMMANDS.map(([name, text]) => `  ${name.padEnd(23)}${text}`),
    '',
    'settings (each flag, as --flag value or --flag=value, overrides its environment variable):',
    `  ${'flag'.padEnd(28)}${'environment variable'.padEnd(34)}default`,
    ...settings,
    '',
    'The JSON log goes to stdout; messages for people (errors, an admin secret shown once)',
    'to stderr. Exit codes: 0 done, 1 runtime failure (database unreachable, port taken),',
    '2 bad usage or configuration. SIGTERM or SIGINT drains in-flight calls, then exits 0.',
    'With LATCHKEY_WORKERS above 1, signal the process started (the primary): it stops every',
    'worker and exits once all have.',
    '',
  ].join('\n');
}

type Command = 'serve' | 'migrate' | 'reset-bootstrap' | 'help' | 'version';

function commandOf(positionals: string[]): Command | string {
  const [first, ...rest] = positionals;
  if (first === undefined) return 'serve';
  if (first === 'help') return 'help';
  if (first === 'admin') {
    if (rest.length === 1 && rest[0] === 'reset-bootstrap') return 'reset-bootstrap';
    return rest.length === 0 ? 'the admin command needs a subcommand: reset-bootstrap' : `unknown command ${JSON.stringify(positionals.join(' '))}`;
  }
  if ((first === 'serve' || first === 'migrate' || first === 'version') && rest.length === 0) return first;
  return `unknown command ${JSON.stringify(positionals.join(' '))}`;
}

function usageError(message: string): number {
  process.stderr.write(`latchkey: ${message}\n${SHORT_USAGE}\nRun \`latchkey --help\` for every command and setting.\n`);
  return 2;
}

/** Exit codes: 0 ok, 1 runtime failure (database unreachable, port taken), 2 bad usage or configuration. */
export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const keys = Object.keys(ENV_NAMES) as (keyof Config)[];
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
        ...Object.fromEntries(keys.map((k) => [flagName(k), { type: 'string' as const }])),
      },
    });
  } catch (err) {
    // Node adds advice about `--` that does not apply to latchkey's flags.
    return usageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  const command = parsed.values.help ? 'help' : parsed.values.version ? 'version' : commandOf(parsed.positionals);
  if (command === 'help') {
    process.stdout.write(helpText());
    return 0;
  }
  if (command === 'version') {
    process.stdout.write(`latchkey ${version()}\n`);
    return 0;
  }
  if (command !== 'serve' && command !== 'migrate' && command !== 'reset-bootstrap') return usageError(command);

  const raw: RawConfig = rawConfigFromEnv(env);
  const fromFlag = new Set<keyof Config>();
  for (const key of keys) {
    const value = (parsed.values as Record<string, string | boolean | undefined>)[flagName(key)];
    if (typeof value === 'string') {
      raw[key] = value;
      fromFlag.add(key);
    }
  }
  let config: Config;
  try {
    config = parseConfig(raw, (key) => (fromFlag.has(key) ? `--${flagName(key)}` : ENV_NAMES[key]));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`latchkey: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  const logger = createLogger(config.logLevel);
  if (command === 'migrate') return migrate(config, logger);
  if (command === 'reset-bootstrap') return resetBootstrap(config, logger);
  return serve(config, logger);
}

/** The database as people name it: the SQLite path, or PostgreSQL's host, port and database (never a password). */
function describeDatabase(url: string): string {
  const target = parseDatabaseUrl(url);
  return target.dialect === 'postgres' ? `the PostgreSQL database ${describePostgresTarget(target.url)}` : `the SQLite database ${target.path}`;
}

/** Runs `fn` on the open database, reporting a failure on stderr and in the log (exit code 1). */
async function withDatabase(config: Config, logger: Logger, what: string, fn: (database: OpenDatabase) => Promise<void>): Promise<number> {
  try {
    const database = await openDatabase({ url: config.databaseUrl });
    try {
      await fn(database);
    } finally {
      await database.close();
    }
    return 0;
  } catch (err) {
    logger.fatal({ err: { message: (err as Error).message } }, `${what} failed`);
    process.stderr.write(`latchkey: ${(err as Error).message}\n`);
    return 1;
  } finally {
    flushLogger(logger);
  }
}

async function migrate(config: Config, logger: Logger): Promise<number> {
  return withDatabase(config, logger, 'migration', async (database) => {
    const before = new Set((await database.db.introspection.getTables()).map((t) => t.name));
    const applied = await migrateToLatest(database.db);
    const tables = (await database.db.introspection.getTables()).map((t) => t.name).filter((t) => !before.has(t)).sort();
    const seeded = await seedDefaults(database.db, new Date());
    logger.info({ migrations: applied, tables }, applied.length > 0 ? 'applied migrations' : 'database is up to date');
    if (seeded.projects.length + seeded.environments.length > 0) logger.info(seeded, 'created default project and environments');
    const list = (items: string[], prefix = '') => (items.length > 0 ? items.map((i) => prefix + i).join(', ') : 'none');
    const lines =
      applied.length === 0 && seeded.projects.length + seeded.environments.length === 0
        ? [`latchkey: ${describeDatabase(config.databaseUrl)} is up to date; nothing to apply or create`]
        : [
            `latchkey: migrated ${describeDatabase(config.databaseUrl)}`,
            `  applied migrations:   ${list(applied)}`,
            `  created tables:       ${list(tables)}`,
            `  created projects:     ${list(seeded.projects, 'projects/')}`,
            `  created environments: ${list(seeded.environments, 'environments/')}`,
          ];
    process.stderr.write(`${lines.join('\n')}\n`);
  });
}

async function resetBootstrap(config: Config, logger: Logger): Promise<number> {
  const target = parseDatabaseUrl(config.databaseUrl);
  // A mistyped path must not create a new database and an admin for it.
  if (target.dialect === 'sqlite' && target.path !== ':memory:' && !existsSync(target.path)) {
    process.stderr.write(
      `latchkey: no SQLite database at ${target.path}; set LATCHKEY_DATABASE_URL (or --database-url) to the database the server uses\n`,
    );
    return 1;
  }
  const seeded =
    config.bootstrapClientId !== undefined && config.bootstrapClientSecret !== undefined
      ? { clientId: config.bootstrapClientId, secret: config.bootstrapClientSecret }
      : undefined;
  return withDatabase(config, logger, 'reset-bootstrap', async (database) => {
    const applied = await migrateToLatest(database.db);
    if (applied.length > 0) logger.info({ migrations: applied }, 'applied migrations');
    const now = new Date();
    await seedDefaults(database.db, now);
    const apiClients = new ApiClients(new KyselyApiClientStore(database.db), () => new Date());
    const action = await resetBootstrapAdmin(apiClients, logger, { seeded, announce: announceOnStderr });
    // In the audit trail like a change made through the API; there is no API client behind it.
    await new KyselyAuditStore(database.db).insertBatch([
      {
        id: new MonotonicIds('a').next(now),
        kind: 'ADMIN_CHANGE',
        time: now,
        actor: null,
        method: 'latchkey admin reset-bootstrap',
        resource: 'apiClients/bootstrap-admin',
        outcome: 'OK',
        requestId: null,
        clientAddress: null,
        origin: null,
        userAgent: `latchkey/${version()} (${action})`,
        credential: null,
        client: null,
        digestPrefix: null,
      },
    ]);
  });
}

async function serve(config: Config, logger: Logger): Promise<number> {
  // A worker runs this same command (node:cluster forks it with the primary's arguments and environment).
  if (cluster.isWorker) return runWorker(config, logger);
  if (config.workers > 1) return runPrimary(config, logger);
  let app;
  try {
    app = await startApp(config, { logger });
  } catch (err) {
    logger.fatal({ err: { message: (err as Error).message } }, 'cannot start');
    flushLogger(logger);
    process.stderr.write(`latchkey: ${(err as Error).message}\n`);
    return 1;
  }
  const started = app;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      // The handlers stay installed: a second signal (npm forwards the SIGINT a terminal already
      // sent the whole process group, or an impatient operator) must not kill an undrained server.
      if (stopping) {
        logger.info({ signal }, 'already shutting down');
        return;
      }
      stopping = true;
      logger.info({ signal }, 'shutting down: draining in-flight calls');
      started.close().then(
        () => {
          flushLogger(logger);
          resolve(0);
        },
        (err: unknown) => {
          logger.error({ err }, 'error during shutdown');
          flushLogger(logger);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

if (require.main === module) {
  main(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`latchkey: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
