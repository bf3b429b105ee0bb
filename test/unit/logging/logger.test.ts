import { createLogger, requestLogger } from '../../../src/logging/logger.js';

/** A pino destination that keeps the JSON lines it is given. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, stream: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } };
}

describe('createLogger', () => {
  it('writes JSON lines with the service name and an ISO time', () => {
    const { lines, stream } = capture();
    createLogger('info', stream).info({ port: 8080 }, 'listening');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ service: 'latchkey', msg: 'listening', port: 8080, level: 30 });
    expect(lines[0]!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('redacts secrets anywhere one level down, should a header or message object ever be logged', () => {
    const { lines, stream } = capture();
    createLogger('info', stream).info(
      {
        authorization: 'Bearer top',
        req: { headers: { authorization: 'Bearer nested', 'x-client-secret': 'sk_nested', accept: '*/*' } },
        message: { clientSecret: 'cs', client_secret: 'cs2', secret: 's', flags: ['flags/a'] },
      },
      'oops',
    );
    expect(lines[0]).toMatchObject({
      authorization: '[redacted]',
      req: { headers: { authorization: '[redacted]', 'x-client-secret': '[redacted]', accept: '*/*' } },
      message: { clientSecret: '[redacted]', client_secret: '[redacted]', secret: '[redacted]', flags: ['flags/a'] },
    });
    expect(JSON.stringify(lines[0])).not.toMatch(/top|nested|"cs"|"cs2"|"s"/);
  });
});

describe('requestLogger', () => {
  it('keeps the request fields and redacts the top-level secret names', () => {
    const { lines, stream } = capture();
    const log = requestLogger(createLogger('info', stream));
    log.info({ requestId: 'r1', procedure: '/p.S/M', status: 200, authorization: 'Bearer x', secret: 'y', clientSecret: 'z', client_secret: 'w' }, 'request');
    expect(lines[0]).toMatchObject({
      service: 'latchkey',
      msg: 'request',
      requestId: 'r1',
      procedure: '/p.S/M',
      status: 200,
      authorization: '[redacted]',
      secret: '[redacted]',
      clientSecret: '[redacted]',
      client_secret: '[redacted]',
    });
  });
});
