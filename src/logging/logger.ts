import pino, { type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Structured JSON lines. Credentials never reach the logger: request logging
 * records the procedure, status and request id only, and these paths are
 * redacted as a second line of defence should a header object ever be logged.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'latchkey' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'authorization',
          '*.authorization',
          '*.headers.authorization',
          '*["x-client-secret"]',
          '*.headers["x-client-secret"]',
          'secret',
          '*.secret',
          'client_secret',
          '*.client_secret',
          'clientSecret',
          '*.clientSecret',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
