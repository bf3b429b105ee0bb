import cluster, { type Worker } from 'node:cluster';
import pino from 'pino';
import { prepareStore } from '../app.js';
import type { Config } from '../config/config.js';
import { ApiClients } from '../iam/api-clients.js';
import { announceOnStderr, bootstrapAdmin } from '../iam/bootstrap.js';
import { flushLogger, type Logger } from '../logging/logger.js';
import { countForWorkers } from '../rate-limit/rate-limits.js';
import { KyselyApiClientStore } from '../store/api-client-store.js';
import { openDatabase, type OpenDatabase } from '../store/database.js';
import { relayLines, type LineSink } from './log-relay.js';
import { isWorkerMessage, type PrimaryMessage } from './messages.js';
import { RestartBackoff } from './restart-backoff.js';

/** After the drain and the audit flush have had their time (twice the shutdown timeout), a worker still running is killed. */
const STOP_BACKSTOP_EXTRA_MS = 5_000;

class StartFailure extends Error {}

/**
 * LATCHKEY_WORKERS > 1: this process serves nothing itself. It prepares the store once
 * (migrations, default project and environments), keeps the rate-limit counters every worker
 * shares (rate-limiter-flexible's cluster store), forks the workers, which share the listening
 * port through node:cluster, and once every one of them listens creates the bootstrap admin (SPEC
 * §8: a start that fails, the port taken above all, leaves no admin whose secret nobody saw).
 * It passes failed-attempt blocks from each worker to the others, relays their log lines,
 * replaces a worker that dies (with a back-off), and on SIGTERM or SIGINT stops every worker
 * (each drains and flushes its audit records) and exits once all have.
 * Resolves with the exit code.
 */
export async function runPrimary(config: Config, logger: Logger): Promise<number> {
  let phase: 'preparing' | 'starting' | 'serving' | 'stopping' = 'preparing';
  const stopping = () => phase === 'stopping';
  let requestStop: () => void = () => undefined;
  const stopRequested = new Promise<'stopping'>((resolve) => {
    requestStop = () => resolve('stopping');
  });
  // Installed first: a signal while the store is prepared must not kill the primary half-way.
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping()) {
      logger.info({ signal }, 'already shutting down');
      return;
    }
    phase = 'stopping';
    logger.info({ signal }, 'shutting down: draining in-flight calls');
    requestStop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const fail = (message: string): number => {
    logger.fatal({ err: { message } }, 'cannot start');
    flushLogger(logger);
    process.stderr.write(`latchkey: ${message}\n`);
    return 1;
  };
  const finish = (code: number): number => {
    logger.info('latchkey stopped');
    flushLogger(logger);
    return code;
  };

  let database: OpenDatabase | undefined;
  try {
    database = await openDatabase({ url: config.databaseUrl });
    await prepareStore(database, logger, new Date());
  } catch (err) {
    await database?.close().catch(() => undefined);
    return fail((err as Error).message);
  }
  if (stopping()) {
    await database.close();
    return finish(0);
  }
  // Before any worker asks it for a count.
  countForWorkers();

  const sink = (logger as unknown as Record<symbol, LineSink>)[pino.symbols.streamSym]!;
  const relays = new Set<Promise<void>>();
  const backoff = new RestartBackoff();
  const restarts = new Set<NodeJS.Timeout>();
  /** Workers (by cluster id) that serve the port. */
  const started = new Set<number>();
  let port = 0;
  let settleStartup: (outcome: 'started' | StartFailure) => void = () => undefined;
  const startup = new Promise<'started' | StartFailure>((resolve) => {
    settleStartup = resolve;
  });
  let exitCode = 0;
  let allExited: () => void = () => undefined;
  // Tracked here, not read from cluster.workers: node removes a worker from that list only once
  // its IPC channel has closed too, which may come after its 'exit'.
  const live = new Set<Worker>();
  const liveWorkers = () => [...live];

  // Workers write their log to a pipe this process reads (see log-relay.ts); stderr (messages
  // for people, a crash's stack) is this process's own.
  cluster.setupPrimary({ stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const fork = (): Worker => {
    const worker = cluster.fork();
    live.add(worker);
    const relay = relayLines(worker.process.stdout!, sink);
    relays.add(relay);
    void relay.then(() => relays.delete(relay));
    // Sending to a worker that has just died must not take the primary down.
    worker.on('error', (err: Error) => logger.warn({ worker: worker.id, err: { message: err.message } }, 'worker IPC error'));
    return worker;
  };

  cluster.on('message', (worker, message: unknown) => {
    if (!isWorkerMessage(message)) return; // rate-limiter-flexible's own messages
    if (message.latchkey === 'started') {
      started.add(worker.id);
      port = message.port;
      if (phase === 'starting' && started.size === config.workers) settleStartup('started');
    } else if (message.latchkey === 'failed') {
      if (phase === 'starting') settleStartup(new StartFailure(message.message));
      else logger.error({ worker: worker.id, err: { message: message.message } }, 'a replacement worker cannot start');
    } else {
      const notice: PrimaryMessage = { latchkey: 'blocked', key: message.key, untilMs: message.untilMs };
      for (const other of liveWorkers()) if (other !== worker && other.isConnected()) other.send(notice);
    }
  });

  cluster.on('exit', (worker, code, signal) => {
    live.delete(worker);
    started.delete(worker.id);
    if (phase === 'stopping') {
      // A worker still starting when told to stop has no handler yet: SIGTERM's default ends it, harmlessly.
      if (code !== 0 && signal !== 'SIGTERM') exitCode = 1;
      if (liveWorkers().length === 0) allExited();
      return;
    }
    if (phase === 'starting') {
      settleStartup(new StartFailure(`worker ${worker.id} exited (${signal ?? `code ${code}`}) before it listened`));
      return;
    }
    const restartInMs = backoff.next(Date.now());
    logger.error({ worker: worker.id, pid: worker.process.pid, code, signal, restartInMs }, 'worker exited unexpectedly; starting a replacement');
    const timer = setTimeout(() => {
      restarts.delete(timer);
      if (phase === 'serving') fork();
    }, restartInMs);
    restarts.add(timer);
  });

  /** SIGTERM to every worker; resolves once all have exited and their last log lines are in. */
  const stopWorkers = async (): Promise<void> => {
    phase = 'stopping';
    for (const timer of restarts) clearTimeout(timer);
    restarts.clear();
    const workers = liveWorkers();
    if (workers.length > 0) {
      const exited = new Promise<void>((resolve) => {
        allExited = resolve;
      });
      for (const worker of workers) worker.process.kill('SIGTERM');
      const backstop = setTimeout(() => {
        for (const worker of liveWorkers()) {
          logger.error({ worker: worker.id }, 'worker did not stop in time; killing it');
          worker.process.kill('SIGKILL');
        }
      }, config.shutdownTimeoutMs * 2 + STOP_BACKSTOP_EXTRA_MS);
      await exited;
      clearTimeout(backstop);
    }
    await Promise.all(relays);
  };

  phase = 'starting';
  for (let i = 0; i < config.workers; i++) fork();
  const outcome = await Promise.race([startup, stopRequested]);
  if (outcome instanceof StartFailure) {
    await stopWorkers();
    await database.close();
    return fail(outcome.message);
  }
  if (outcome === 'started') {
    // Every worker holds the port: only now is the first admin created and its secret shown, once.
    try {
      const apiClients = new ApiClients(new KyselyApiClientStore(database.db), () => new Date());
      const seeded =
        config.bootstrapClientId !== undefined && config.bootstrapClientSecret !== undefined
          ? { clientId: config.bootstrapClientId, secret: config.bootstrapClientSecret }
          : undefined;
      await bootstrapAdmin(apiClients, logger, { seeded, announce: announceOnStderr, port });
    } catch (err) {
      await stopWorkers();
      await database.close();
      return fail((err as Error).message);
    }
  }
  // The workers have connections of their own; this one was for the preparation and the bootstrap.
  await database.close();
  if (!stopping()) {
    phase = 'serving';
    logger.info(
      { port, host: config.host, database: database.dialect, workers: config.workers },
      'latchkey is listening (gRPC, gRPC-Web, Connect; HTTP/2 and HTTP/1.1)',
    );
    await stopRequested;
  }
  await stopWorkers();
  return finish(exitCode);
}
