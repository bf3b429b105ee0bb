import { createContextValues, type ConnectRouter } from '@connectrpc/connect';
import { compressionBrotli, compressionGzip, connectNodeAdapter } from '@connectrpc/connect-node';
import type { Config } from './config/config.js';
import { createLogger, type Logger } from './logging/logger.js';
import { AuditLog } from './audit/audit-log.js';
import { authInterceptor, recordRefusedAdminChange, type RuntimeAuthenticator } from './auth/auth-interceptor.js';
import { ApiClients } from './iam/api-clients.js';
import { announceOnStderr, bootstrapAdmin, type Announce } from './iam/bootstrap.js';
import { registerApiClientService } from './rpc/api-client-service.js';
import { registerAuditService } from './rpc/audit-service.js';
import { registerAuthService } from './rpc/auth-service.js';
import { oauthTokenRoute } from './routes/oauth-token.js';
import { KyselyApiClientStore } from './store/api-client-store.js';
import { KyselyAuditStore } from './store/audit-store.js';
import { startAuditWriter } from './store/threaded-audit-writer.js';
import { Environments } from './flag-admin/environments.js';
import { FlagCatalog } from './flag-admin/flag-catalog.js';
import { Flags } from './flag-admin/flags.js';
import { Projects } from './flag-admin/projects.js';
import { registerFlagAdminService } from './rpc/flag-admin-service.js';
import { registerFlagResolverService } from './rpc/flag-resolver-service.js';
import { FlagResolver } from './resolver/flag-resolver.js';
import { KyselyFlagApplyStore } from './store/flag-apply-store.js';
import { RESOLVE_TOKEN_KEY_BYTES, ResolveTokens } from './resolver/resolve-token.js';
import { RESOLVE_TOKEN_KEY_ID, loadOrCreateServerKey } from './store/server-key-store.js';
import { confidenceRoutes } from './routes/confidence.js';
import { ofrepRoutes } from './routes/ofrep.js';
import { unleashRoutes } from './routes/unleash/index.js';
import { reflagRoutes } from './routes/reflag/routes.js';
import { KyselyFlagAdminStore } from './store/flag-admin-store.js';
import { RpcRuntimeAuthenticator } from './auth/runtime-auth.js';
import { ClientCredentials } from './client-credentials/client-credentials.js';
import { CredentialCache } from './client-credentials/credential-cache.js';
import { LastUseTracker } from './client-credentials/last-use.js';
import { CredentialValidator } from './client-credentials/validator.js';
import { parseIpRanges } from './credentials/allow-lists.js';
import { registerClientCredentialService } from './rpc/client-credential-service.js';
import { credentialSelfRoute } from './routes/credential-self.js';
import { KyselyCredentialStore } from './store/credential-store.js';
import { SdkEvents } from './events/events.js';
import { registerEventService } from './rpc/event-service.js';
import { KyselyEventStore } from './store/event-store.js';
import { RateLimits } from './rate-limit/rate-limits.js';
import { FailedAttempts } from './rate-limit/failed-attempts.js';
import { Metrics } from './metrics/metrics.js';
import { AuditRetention } from './audit/retention.js';
import { HealthState, registerHealth } from './rpc/health.js';
import { errorInterceptor } from './rpc/errors.js';
import { ReflectionIndex, registerReflection } from './rpc/reflection.js';
import { ALL_SERVICES, LATCHKEY_SERVICES } from './rpc/services.js';
import { CorsPolicy } from './server/cors.js';
import { createHttpHandler } from './server/http-handler.js';
import { createLeanRuntimePath } from './server/lean/lean-runtime-path.js';
import { originalRequestOf } from './server/lean/replayed-request.js';
import { sendJson } from './server/http-util.js';
import { listen } from './server/listener.js';
import { PlainRouter } from './server/plain-routes.js';
import { requestInfoKey, requestInfoOf } from './server/request-info.js';
import { openDatabase, type OpenDatabase } from './store/database.js';
import { migrateToLatest } from './store/migrate.js';
import { seedDefaults } from './store/seed.js';

/** Largest request message any protocol accepts; larger ones are refused with RESOURCE_EXHAUSTED. */
const READ_MAX_BYTES = 4 * 1024 * 1024;
/** Request and response compressions the RPC protocols accept (the adapter's defaults, shared with the lean path). */
const ACCEPT_COMPRESSION = [compressionGzip, compressionBrotli] as const;
/** How often each replica checks the change log for other replicas' credential changes. */
const CHANGE_POLL_MS = 500;
/** How long the audit writer thread may take to finish its batch and exit before it is terminated. */
const AUDIT_THREAD_EXIT_MS = 1_000;
/** How often last-use times gathered in memory are written. */
const LAST_USE_FLUSH_MS = 5_000;

export interface AppOptions {
  logger?: Logger;
  /** The clock; tests replace it. */
  now?: () => Date;
  /** Where first-start admin credentials are shown once (before they are committed); defaults to stderr. */
  announce?: Announce;
  /** Audit writer tuning (tests use a small queue to exercise overflow). */
  audit?: ConstructorParameters<typeof AuditLog>[2];
  /**
   * This process is one of LATCHKEY_WORKERS cluster workers (src/cluster/): the primary has
   * migrated and seeded the store and creates the bootstrap admin once every worker listens, and
   * it keeps the rate-limit counters all workers share.
   */
  worker?: boolean;
  /**
   * Serve ResolveFlags, ResolveConfigs and ApplyFlags on the lean runtime path (src/server/lean/),
   * the Connect adapter taking every other call; false sends every call through the adapter
   * (tests run both and compare). Default true.
   */
  leanRuntimePath?: boolean;
}

export interface App {
  readonly port: number;
  readonly logger: Logger;
  readonly database: OpenDatabase;
  readonly audit: AuditLog;
  readonly retention: AuditRetention;
  /** The failed-attempt blocks; cluster workers tell each other of theirs through it. */
  readonly failures: FailedAttempts;
  /** Stops serving: health turns NOT_SERVING, in-flight calls drain, then the store closes. Safe to call twice. */
  close(): Promise<void>;
}

/** Brings the store to the latest schema and creates the default project and environments (once per start, before serving). */
export async function prepareStore(database: OpenDatabase, logger: Logger, now: Date): Promise<void> {
  const applied = await migrateToLatest(database.db);
  if (applied.length > 0) logger.info({ migrations: applied }, 'applied migrations');
  const seeded = await seedDefaults(database.db, now);
  if (seeded.projects.length + seeded.environments.length > 0) logger.info(seeded, 'created default project and environments');
}

/** Opens the store (migrating and seeding it) and serves every protocol on one port. */
export async function startApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const now = options.now ?? (() => new Date());

  const database = await openDatabase({ url: config.databaseUrl });
  let resolveTokens: ResolveTokens;
  try {
    if (!options.worker) await prepareStore(database, logger, now());
    // The key that signs resolve tokens, shared by every replica on this database; kept in memory.
    resolveTokens = new ResolveTokens(await loadOrCreateServerKey(database.db, RESOLVE_TOKEN_KEY_ID, RESOLVE_TOKEN_KEY_BYTES, now()));
  } catch (err) {
    await database.close();
    throw err;
  }

  const apiClients = new ApiClients(new KyselyApiClientStore(database.db), now);
  // Projects, environments and flags; the catalog holds them compiled in memory for the resolver,
  // refreshed after each local write and every 500 ms from change_log for other replicas' writes.
  const flagAdminStore = new KyselyFlagAdminStore(database.db);
  const flagCatalog = new FlagCatalog(flagAdminStore, { onError: (err) => logger.warn({ err }, 'flag catalog refresh failed') });
  try {
    await flagCatalog.load();
  } catch (err) {
    await database.close();
    throw err;
  }
  flagCatalog.startPolling();
  const resolver = new FlagResolver(flagCatalog, new KyselyFlagApplyStore(database.db), now, resolveTokens);
  const flagAdmin = {
    projects: new Projects(flagAdminStore, now, flagCatalog.changed),
    environments: new Environments(flagAdminStore, now, flagCatalog.changed),
    flags: new Flags(flagAdminStore, now, flagCatalog.changed),
  };
  const seededAdmin =
    config.bootstrapClientId !== undefined && config.bootstrapClientSecret !== undefined
      ? { clientId: config.bootstrapClientId, secret: config.bootstrapClientSecret }
      : undefined;
  const auditStore = new KyselyAuditStore(database.db);
  // Reads (AuditService, retention) use this thread's connection; batches are written on their own thread.
  let auditWriter;
  try {
    auditWriter = await startAuditWriter(config.databaseUrl, auditStore);
  } catch (err) {
    await database.close();
    throw err;
  }
  const audit = new AuditLog(auditWriter, logger, options.audit);

  // Runtime credentials: served from memory, invalidated at once locally and within
  // CHANGE_POLL_MS on other replicas (SPEC §3: revocation within one second everywhere).
  const credentialStore = new KyselyCredentialStore(database.db, database.native);
  const credentialCache = new CredentialCache(credentialStore, config.credentialCacheSize);
  await credentialCache.start(CHANGE_POLL_MS, (err) => logger.warn({ err }, 'credential change poll failed'));
  const lastUse = new LastUseTracker(credentialStore);
  lastUse.start(LAST_USE_FLUSH_MS, (err) => logger.warn({ err }, 'writing last-use times failed; will retry'));
  const trustedProxies = parseIpRanges(config.trustedProxies);
  if (!trustedProxies.ok) throw new Error('LATCHKEY_TRUSTED_PROXIES passed validation but does not parse'); // config.ts uses the same parser
  const rateLimits = RateLimits.create({ redisUrl: config.redisUrl, logger, countedByPrimary: options.worker });
  // Failed-attempt budgets (SPEC §3), one per client address and per API client id, shared by the
  // runtime pipeline, the token endpoint, AuthService and management authentication.
  const failures = new FailedAttempts(rateLimits, config.defaultRateLimit);
  const throttle = { failures, trustedProxies: trustedProxies.ranges, now };
  const metrics = new Metrics(audit);
  const validator = new CredentialValidator({
    cache: credentialCache,
    trustedProxies: trustedProxies.ranges,
    audit,
    lastUse,
    limits: rateLimits,
    defaultLimit: config.defaultRateLimit,
    failures,
    now,
    observe: (outcome) => metrics.observeValidation(outcome),
    auditValidations: config.auditValidations,
  });
  const retention = new AuditRetention(auditStore, config.auditRetention, now, logger);
  retention.start();
  const runtime: RuntimeAuthenticator = new RpcRuntimeAuthenticator(validator);
  const clientCredentials = new ClientCredentials(credentialStore, flagCatalog, now, (change) => credentialCache.evict([change]));
  const sdkEvents = new SdkEvents(new KyselyEventStore(database.db), now);

  const health = new HealthState(new Set(ALL_SERVICES.map((s) => s.typeName)));
  const reflection = new ReflectionIndex(ALL_SERVICES.map((s) => s.typeName));

  const routes = (router: ConnectRouter) => {
    // Services whose methods later work implements answer UNIMPLEMENTED until then.
    registerApiClientService(router, apiClients);
    registerAuthService(router, apiClients, throttle);
    registerAuditService(router, {
      store: auditStore,
      flush: () => audit.flush(),
      // Usage reads the newest use noted in memory first: last_use_time is written every few seconds, not per request.
      lastUseOf: async (name) => lastUse.pendingUse(name) ?? (await clientCredentials.getCredential(name)).lastUseTime,
      now,
    });
    registerClientCredentialService(router, clientCredentials);
    registerEventService(router, sdkEvents);
    registerFlagAdminService(router, flagAdmin);
    registerFlagResolverService(router, resolver);
    registerHealth(router, health);
    registerReflection(router, reflection);
  };

  const rpc = connectNodeAdapter({
    acceptCompression: [...ACCEPT_COMPRESSION],
    routes,
    interceptors: [errorInterceptor(logger, recordRefusedAdminChange(audit, now)), authInterceptor({ apiClients, runtime, audit, now, throttle })],
    readMaxBytes: READ_MAX_BYTES,
    // A request the lean path replays to the adapter is found under the request it stands for.
    contextValues: (req) => createContextValues().set(requestInfoKey, requestInfoOf(originalRequestOf(req))),
  });

  const plainRoutes = new PlainRouter().add(oauthTokenRoute(apiClients, throttle)).add(credentialSelfRoute(validator)).add({
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

  // What a person who opens the server's address in a browser sees.
  plainRoutes.add({
    method: 'GET',
    path: '/',
    handle(_req, res) {
      sendJson(res, 200, {
        service: 'latchkey',
        protocols: ['gRPC', 'gRPC-Web', 'Connect'],
        services: LATCHKEY_SERVICES.map((s) => s.typeName),
        routes: ['GET /healthz', 'GET /metrics', 'POST /v1/oauth/token', 'GET /v1/credential', 'POST /v1/flags:resolve', 'POST /v1/flags:apply'],
        // Where the SDKs teams already run point their base URL (README: "Connecting the SDKs you already run").
        compatibility: {
          openfeature: 'POST /ofrep/v1/evaluate/flags, POST /ofrep/v1/evaluate/flags/{key}',
          unleash: 'GET /api/client/features, GET|POST /api/frontend',
          reflag: 'GET /reflag/features, GET /reflag/features/evaluated, GET /reflag/sse/server, GET /reflag/sse/client',
          confidence: 'POST /v1/flags:resolve, POST /v1/flags:apply',
        },
      });
    },
  });
  for (const route of confidenceRoutes(validator, resolver)) plainRoutes.add(route);
  for (const route of ofrepRoutes(validator, resolver, flagCatalog)) plainRoutes.add(route);
  for (const route of unleashRoutes(validator, resolver)) plainRoutes.add(route);
  // Reflag's SDKs under /reflag/; its live-update streams are ended before the server drains.
  const reflag = reflagRoutes({ validator, resolver, catalog: flagCatalog, events: sdkEvents });
  for (const route of reflag.routes) plainRoutes.add(route);
  plainRoutes.add({
    method: 'GET',
    path: '/metrics',
    async handle(_req, res) {
      const body = await metrics.registry.metrics();
      res.setHeader('content-type', metrics.registry.contentType);
      res.end(body);
    },
  });
  const handler = createHttpHandler({
    cors: new CorsPolicy(config.corsAllowedOrigins),
    plainRoutes,
    rpc,
    leanRpc:
      options.leanRuntimePath === false
        ? undefined
        : createLeanRuntimePath({ resolver, runtime, logger, adapter: rpc, readMaxBytes: READ_MAX_BYTES, acceptCompression: ACCEPT_COMPRESSION }),
    rpcPaths: new Set(ALL_SERVICES.flatMap((s) => s.methods.map((m) => `/${s.typeName}/${m.name}`))),
    logger,
    observe: (procedure, code) => metrics.observeRequest(procedure, code),
  });
  let listener;
  try {
    listener = await listen(handler, config.port, config.host, {
      firstBytesTimeoutMs: config.firstBytesTimeoutMs,
      headersTimeoutMs: config.headersTimeoutMs,
      idleTimeoutMs: config.idleTimeoutMs,
      bodyTimeoutMs: config.bodyTimeoutMs,
      maxConnections: config.maxConnections,
      logger,
    });
  } catch (err) {
    credentialCache.stop();
    flagCatalog.stopPolling();
    retention.stop();
    await lastUse.close();
    await rateLimits.close();
    await auditWriter.close(AUDIT_THREAD_EXIT_MS);
    await database.close();
    throw new Error(`cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`);
  }
  let closing: Promise<void> | undefined;
  const app: App = {
    port: listener.port,
    logger,
    database,
    audit,
    retention,
    failures,
    close() {
      closing ??= (async () => {
        health.stopServing();
        reflag.updates.close();
        await listener.drain(config.shutdownTimeoutMs);
        credentialCache.stop();
        flagCatalog.stopPolling();
        retention.stop();
        await lastUse.close();
        await rateLimits.close();
        // The audit trail gets the shutdown timeout again: in-flight calls may have used all of
        // it, and their records are what is left to write. A store that does not answer costs
        // that long and no longer (the records not written are counted in the log).
        await audit.close(config.shutdownTimeoutMs);
        await auditWriter.close(AUDIT_THREAD_EXIT_MS);
        await database.close();
        logger.info(options.worker ? 'worker stopped' : 'latchkey stopped');
      })();
      return closing;
    },
  };

  // A worker's primary creates the bootstrap admin, once every worker holds the port.
  if (options.worker) {
    logger.info({ port: listener.port, pid: process.pid }, 'worker started');
    return app;
  }
  // Only now that the port is held (SPEC §8): a start that fails before this point, the port
  // taken above all, leaves no admin behind whose secret was never shown.
  try {
    await bootstrapAdmin(apiClients, logger, { seeded: seededAdmin, announce: options.announce ?? announceOnStderr, port: listener.port });
  } catch (err) {
    await app.close();
    throw err;
  }
  logger.info({ port: listener.port, host: config.host, database: database.dialect }, 'latchkey is listening (gRPC, gRPC-Web, Connect; HTTP/2 and HTTP/1.1)');
  return app;
}
