import pino, { type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Field names that may hold a credential, wherever they appear in a logged object. */
const SECRET_FIELDS = ['authorization', 'secret', 'client_secret', 'clientSecret'];

/**
 * Structured JSON lines. Credentials never reach the logger: request logging
 * records the procedure, status and request id only, and these paths are
 * redacted as a second line of defence should a header object ever be logged.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  // Buffered, asynchronous writes to stdout: lines are written in chunks of at least 8 KiB, or
  // every 100 ms when fewer arrive, so a log line per request does not cost a write syscall per
  // request. pino flushes this destination on process exit; `flushLogger` does it at shutdown.
  destination ??= pino.destination({ dest: 1, sync: false, minLength: 8192, periodicFlush: 100 });
  return pino(
    {
      level,
      base: { service: 'latchkey' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          ...SECRET_FIELDS,
          ...SECRET_FIELDS.map((f) => `*.${f}`),
          '*.headers.authorization',
          '*["x-client-secret"]',
          '*.headers["x-client-secret"]',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/**
 * The logger for the one line per request. Its fields are fixed scalars (request id, procedure,
 * status, code, reason, peer, duration), never a header or message object, so only top-level
 * paths are redacted: pino's wildcard paths copy and walk every logged object, which costs four
 * times the rest of the line and would be paid on every request.
 */
export function requestLogger(logger: Logger): Logger {
  return logger.child({}, { redact: { paths: SECRET_FIELDS, censor: '[redacted]' } });
}

/** Writes out buffered log lines (call before the process exits). */
export function flushLogger(logger: Logger): void {
  logger.flush();
}
