import { createContextValues, type ConnectRouter } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { Config } from './config/config.js';
import { createLogger, type Logger } from './logging/logger.js';
import { HealthState, registerHealth } from './rpc/health.js';
import { errorInterceptor } from './rpc/errors.js';
import { ReflectionIndex, registerReflection } from './rpc/reflection.js';
import { ALL_SERVICES, LATCHKEY_SERVICES } from './rpc/services.js';
import { CorsPolicy } from './server/cors.js';
import { createHttpHandler } from './server/http-handler.js';
import { sendJson } from './server/http-util.js';
import { listen } from './server/listener.js';
import { PlainRouter } from './server/plain-routes.js';
import { requestInfoKey, requestInfoOf } from './server/request-info.js';
import { openDatabase, type OpenDatabase } from './store/database.js';
import { migrateToLatest } from './store/migrate.js';
import { seedDefaults } from './store/seed.js';

/** Largest request message any protocol accepts; larger ones are refused with RESOURCE_EXHAUSTED. */
const READ_MAX_BYTES = 4 * 1024 * 1024;

export interface AppOptions {
  logger?: Logger;
  /** The clock; tests replace it. */
  now?: () => Date;
}

export interface App {
  readonly port: number;
  readonly logger: Logger;
  readonly database: OpenDatabase;
  /** Stops serving: health turns NOT_SERVING, in-flight calls drain, then the store closes. Safe to call twice. */
  close(): Promise<void>;
}

/** Opens the store (migrating and seeding it) and serves every protocol on one port. */
export async function startApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const now = options.now ?? (() => new Date());

  const database = await openDatabase({ url: config.databaseUrl });
  try {
    const applied = await migrateToLatest(database.db);
    if (applied.length > 0) logger.info({ migrations: applied }, 'applied migrations');
    const seeded = await seedDefaults(database.db, now());
    if (seeded.projects.length + seeded.environments.length > 0) logger.info(seeded, 'created default project and environments');
  } catch (err) {
    await database.close();
    throw err;
  }

  const health = new HealthState(new Set(ALL_SERVICES.map((s) => s.typeName)));
  const reflection = new ReflectionIndex(ALL_SERVICES.map((s) => s.typeName));

  const routes = (router: ConnectRouter) => {
    // Services whose methods later work implements answer UNIMPLEMENTED until then.
    for (const service of LATCHKEY_SERVICES) router.service(service, {});
    registerHealth(router, health);
    registerReflection(router, reflection);
  };

  const rpc = connectNodeAdapter({
    routes,
    interceptors: [errorInterceptor(logger)],
    readMaxBytes: READ_MAX_BYTES,
    contextValues: (req) => createContextValues().set(requestInfoKey, requestInfoOf(req)),
  });

  const plainRoutes = new PlainRouter().add({
    method: 'GET',
    path: '/healthz',
    async handle(_req, res) {
      if (!health.isServing()) {
        sendJson(res, 503, { status: 'NOT_SERVING', reason: 'shutting down' });
        return;
      }
      try {
        await database.ping();
        sendJson(res, 200, { status: 'SERVING' });
      } catch (err) {
        logger.warn({ err }, 'health check: database unreachable');
        sendJson(res, 503, { status: 'NOT_SERVING', reason: 'database unreachable' });
      }
    },
  });

  const handler = createHttpHandler({ cors: new CorsPolicy(config.corsAllowedOrigins), plainRoutes, rpc, logger });
  let listener;
  try {
    listener = await listen(handler, config.port, config.host);
  } catch (err) {
    await database.close();
    throw new Error(`cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`);
  }
  logger.info({ port: listener.port, host: config.host, database: database.dialect }, 'latchkey is listening (gRPC, gRPC-Web, Connect; HTTP/2 and HTTP/1.1)');

  let closing: Promise<void> | undefined;
  return {
    port: listener.port,
    logger,
    database,
    close() {
      closing ??= (async () => {
        health.stopServing();
        await listener.drain(config.shutdownTimeoutMs);
        await database.close();
        logger.info('latchkey stopped');
      })();
      return closing;
    },
  };
}
