import { parseArgs } from 'node:util';
import { ConfigError, ENV_NAMES, parseConfig, rawConfigFromEnv, type Config, type RawConfig } from './config/config.js';
import { startApp } from './app.js';
import { createLogger, flushLogger } from './logging/logger.js';
import { openDatabase } from './store/database.js';
import { migrateToLatest } from './store/migrate.js';
import { seedDefaults } from './store/seed.js';

const USAGE = `usage: latchkey <command> [flags]

commands:
  serve     run the server (default)
  migrate   apply database migrations and exit

flags (each overrides its environment variable):
${(Object.entries(ENV_NAMES) as [keyof Config, string][])
  .map(([key, env]) => `  --${flagName(key).padEnd(24)} ${env}`)
  .join('\n')}
  --help`;

function flagName(key: keyof Config): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
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
        help: { type: 'boolean' },
        ...Object.fromEntries(keys.map((k) => [flagName(k), { type: 'string' as const }])),
      },
    });
  } catch (err) {
    process.stderr.write(`latchkey: ${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const command = parsed.positionals[0] ?? 'serve';
  if (!['serve', 'migrate'].includes(command) || parsed.positionals.length > 1) {
    process.stderr.write(`latchkey: unknown command ${JSON.stringify(parsed.positionals.join(' '))}\n\n${USAGE}\n`);
    return 2;
  }

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
  if (command === 'migrate') {
    try {
      const database = await openDatabase({ url: config.databaseUrl });
      try {
        const applied = await migrateToLatest(database.db);
        await seedDefaults(database.db, new Date());
        logger.info({ migrations: applied }, applied.length > 0 ? 'applied migrations' : 'database is up to date');
      } finally {
        await database.close();
      }
      return 0;
    } catch (err) {
      logger.fatal({ err: { message: (err as Error).message } }, 'migration failed');
      process.stderr.write(`latchkey: ${(err as Error).message}\n`);
      return 1;
    }
  }

  let app;
  try {
    app = await startApp(config, { logger });
  } catch (err) {
    logger.fatal({ err: { message: (err as Error).message } }, 'cannot start');
    process.stderr.write(`latchkey: ${(err as Error).message}\n`);
    return 1;
  }
  const started = app;
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
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
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
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
