import cluster from 'node:cluster';
import { startApp, type App } from '../app.js';
import type { Config } from '../config/config.js';
import { flushLogger, type Logger } from '../logging/logger.js';
import { isPrimaryMessage, type WorkerMessage } from './messages.js';

function tell(message: WorkerMessage): void {
  // The primary may be gone (then this worker is shutting down anyway).
  if (process.connected) process.send?.(message);
}

/**
 * One of LATCHKEY_WORKERS processes (see primary.ts): serves the shared port with the store the
 * primary prepared, and stops (draining its calls, flushing its audit records) on SIGTERM or
 * SIGINT, or when the primary goes away. Its log lines carry `worker`, its cluster id.
 * Resolves with the exit code.
 */
export async function runWorker(config: Config, baseLogger: Logger): Promise<number> {
  const logger = baseLogger.child({ worker: cluster.worker?.id });
  let stopRequested: string | undefined;
  let requestStop: ((reason: string) => void) | undefined;
  const stopped = new Promise<string>((resolve) => {
    requestStop = resolve;
  });
  const stop = (reason: string) => {
    // A terminal's Ctrl-C reaches every process of the group, and the primary passes it on too.
    if (stopRequested !== undefined) {
      logger.info({ signal: reason }, 'already shutting down');
      return;
    }
    stopRequested = reason;
    requestStop?.(reason);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // The primary died without stopping this worker (SIGKILL, a crash): nobody would ever stop it.
  process.on('disconnect', () => stop('primary exited'));

  let app: App;
  try {
    app = await startApp(config, { logger, worker: true });
  } catch (err) {
    const message = (err as Error).message;
    logger.fatal({ err: { message } }, 'cannot start');
    flushLogger(logger);
    // The primary shows it to the operator, once, whichever worker failed.
    tell({ latchkey: 'failed', message });
    return 1;
  }

  app.failures.onBlock = (key, untilMs) => tell({ latchkey: 'blocked', key, untilMs });
  process.on('message', (message: unknown) => {
    if (isPrimaryMessage(message)) app.failures.noteBlock(message.key, message.untilMs, Date.now());
  });
  tell({ latchkey: 'started', port: app.port });

  const reason = await stopped;
  logger.info({ signal: reason }, 'shutting down: draining in-flight calls');
  try {
    await app.close();
    flushLogger(logger);
    return 0;
  } catch (err) {
    logger.error({ err }, 'error during shutdown');
    flushLogger(logger);
    return 1;
  }
}
