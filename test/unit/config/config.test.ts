import { availableParallelism } from 'node:os';
import { ConfigError, parseConfig, rawConfigFromEnv } from '../../../src/config/config.js';

describe('configuration', () => {
  it('has defaults that run on the embedded SQLite store at port 8080', () => {
    expect(parseConfig({})).toEqual({
      port: 8080,
      host: '::',
      databaseUrl: './data/latchkey.db',
      logLevel: 'info',
      corsAllowedOrigins: ['*'],
      shutdownTimeoutMs: 10000,
      bootstrapClientId: undefined,
      bootstrapClientSecret: undefined,
      trustedProxies: [],
      defaultRateLimit: { requests: 6000, windowMs: 60_000 },
      redisUrl: undefined,
      auditValidations: true,
      auditRetention: 90 * 86_400_000,
      firstBytesTimeoutMs: 10_000,
      headersTimeoutMs: 10_000,
      idleTimeoutMs: 65_000,
      bodyTimeoutMs: 30_000,
      maxConnections: 10_000,
      workers: availableParallelism(),
      credentialCacheSize: 1_000_000,
    });
  });

  it('reads the credential cache size from LATCHKEY_CREDENTIAL_CACHE_SIZE', () => {
    expect(parseConfig(rawConfigFromEnv({ LATCHKEY_CREDENTIAL_CACHE_SIZE: ' 250000 ' })).credentialCacheSize).toBe(250_000);
    expect(parseConfig(rawConfigFromEnv({ LATCHKEY_CREDENTIAL_CACHE_SIZE: '1' })).credentialCacheSize).toBe(1);
  });

  it('reads the number of worker processes from LATCHKEY_WORKERS', () => {
    expect(parseConfig(rawConfigFromEnv({ LATCHKEY_WORKERS: ' 3 ' })).workers).toBe(3);
    expect(parseConfig(rawConfigFromEnv({ LATCHKEY_WORKERS: '1' })).workers).toBe(1);
  });

  it('reads the connection limits from LATCHKEY_* variables', () => {
    const raw = rawConfigFromEnv({
      LATCHKEY_FIRST_BYTES_TIMEOUT_MS: '2000',
      LATCHKEY_HEADERS_TIMEOUT_MS: '5000',
      LATCHKEY_IDLE_TIMEOUT_MS: '120000',
      LATCHKEY_BODY_TIMEOUT_MS: ' 15000 ',
      LATCHKEY_MAX_CONNECTIONS: '500',
    });
    expect(parseConfig(raw)).toMatchObject({ firstBytesTimeoutMs: 2000, headersTimeoutMs: 5000, idleTimeoutMs: 120_000, bodyTimeoutMs: 15_000, maxConnections: 500 });
  });

  it('reads LATCHKEY_* variables and ignores empty ones', () => {
    const raw = rawConfigFromEnv({ LATCHKEY_PORT: '9090', LATCHKEY_DATABASE_URL: '', LATCHKEY_CORS_ALLOWED_ORIGINS: 'https://a.example.com, https://*.b.example.com' });
    expect(parseConfig(raw)).toMatchObject({ port: 9090, databaseUrl: './data/latchkey.db', corsAllowedOrigins: ['https://a.example.com', 'https://*.b.example.com'] });
  });

  it('accepts a PostgreSQL URL', () => {
    expect(parseConfig({ databaseUrl: 'postgres://u@db:5432/latchkey' }).databaseUrl).toBe('postgres://u@db:5432/latchkey');
  });

  it.each([
    [{ port: '-1' }, 'LATCHKEY_PORT="-1": must be a whole number between 0 and 65535'],
    [{ port: '65536' }, 'LATCHKEY_PORT="65536": must be a whole number between 0 and 65535'],
    [{ port: '80a' }, 'LATCHKEY_PORT="80a": must be a whole number between 0 and 65535'],
    [{ databaseUrl: 'redis://x' }, 'LATCHKEY_DATABASE_URL="redis://x": must be a postgres:// URL or a SQLite file path'],
    [{ databaseUrl: 'sqlit:./x.db' }, 'LATCHKEY_DATABASE_URL="sqlit:./x.db": must be a postgres:// URL, sqlite:<path>, or a SQLite file path (unknown scheme)'],
    [{ corsAllowedOrigins: 'app.example.com' }, 'LATCHKEY_CORS_ALLOWED_ORIGINS="app.example.com": each origin must look like https://app.example.com, https://*.example.com or *'],
    [{ corsAllowedOrigins: ' , ' }, 'LATCHKEY_CORS_ALLOWED_ORIGINS=" , ": must list at least one origin (or *)'],
    [{ shutdownTimeoutMs: '1.5' }, 'LATCHKEY_SHUTDOWN_TIMEOUT_MS="1.5": must be a whole number of milliseconds'],
    [{ bootstrapClientId: 'ci-admin', bootstrapClientSecret: 'short' }, 'LATCHKEY_BOOTSTRAP_CLIENT_SECRET: must be at least 16 characters'],
    [{ bootstrapClientId: 'ci admin', bootstrapClientSecret: 'long-enough-secret-1' }, 'LATCHKEY_BOOTSTRAP_CLIENT_ID="ci admin": must be 1 to 128 printable characters without spaces'],
    [{ trustedProxies: '10.0.0.0/8, nonsense' }, 'LATCHKEY_TRUSTED_PROXIES="10.0.0.0/8, nonsense": each entry must be an IPv4 or IPv6 address or CIDR range, e.g. 10.0.0.0/8'],
    [{ defaultRateLimit: '10 per second' }, 'LATCHKEY_DEFAULT_RATE_LIMIT="10 per second": must be <requests>/<window>, e.g. 6000/1m or 100/10s (window 1 s to 24 h)'],
    [{ redisUrl: 'localhost:6379' }, 'LATCHKEY_REDIS_URL: must be a redis:// or rediss:// URL'],
    [{ auditRetention: '30m' }, 'LATCHKEY_AUDIT_RETENTION="30m": must be a duration of at least 1h, in hours or days, e.g. 72h or 90d'],
    [{ auditValidations: 'yes' }, 'LATCHKEY_AUDIT_VALIDATIONS="yes": must be true or false'],
    [{ bootstrapClientId: 'ci-admin' }, 'LATCHKEY_BOOTSTRAP_CLIENT_SECRET: set both LATCHKEY_BOOTSTRAP_CLIENT_ID and LATCHKEY_BOOTSTRAP_CLIENT_SECRET, or neither'],
    [{ firstBytesTimeoutMs: '0' }, 'LATCHKEY_FIRST_BYTES_TIMEOUT_MS="0": must be a whole number of milliseconds between 1 and 86400000'],
    [{ headersTimeoutMs: '10s' }, 'LATCHKEY_HEADERS_TIMEOUT_MS="10s": must be a whole number of milliseconds between 1 and 86400000'],
    [{ idleTimeoutMs: '86400001' }, 'LATCHKEY_IDLE_TIMEOUT_MS="86400001": must be a whole number of milliseconds between 1 and 86400000'],
    [{ bodyTimeoutMs: '-5' }, 'LATCHKEY_BODY_TIMEOUT_MS="-5": must be a whole number of milliseconds between 1 and 86400000'],
    [{ maxConnections: '0' }, 'LATCHKEY_MAX_CONNECTIONS="0": must be a whole number between 1 and 1000000'],
    [{ maxConnections: '1e4' }, 'LATCHKEY_MAX_CONNECTIONS="1e4": must be a whole number between 1 and 1000000'],
    [{ workers: '0' }, 'LATCHKEY_WORKERS="0": must be a whole number between 1 and 1024'],
    [{ workers: '2.5' }, 'LATCHKEY_WORKERS="2.5": must be a whole number between 1 and 1024'],
    [{ workers: 'auto' }, 'LATCHKEY_WORKERS="auto": must be a whole number between 1 and 1024'],
    [{ workers: '5000' }, 'LATCHKEY_WORKERS="5000": must be a whole number between 1 and 1024'],
    [{ credentialCacheSize: '0' }, 'LATCHKEY_CREDENTIAL_CACHE_SIZE="0": must be a whole number between 1 and 100000000'],
    [{ credentialCacheSize: '1e6' }, 'LATCHKEY_CREDENTIAL_CACHE_SIZE="1e6": must be a whole number between 1 and 100000000'],
    [{ credentialCacheSize: '-1' }, 'LATCHKEY_CREDENTIAL_CACHE_SIZE="-1": must be a whole number between 1 and 100000000'],
    [{ credentialCacheSize: '100000001' }, 'LATCHKEY_CREDENTIAL_CACHE_SIZE="100000001": must be a whole number between 1 and 100000000'],
  ])('refuses %j with a message naming the variable', (raw, message) => {
    let caught: unknown;
    try {
      parseConfig(raw);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).problems).toEqual([message]);
  });
});
