import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { parseLimit, type Limit } from '../rate-limit/rate-limits.js';
import { parseIpRange } from '../credentials/ip-ranges.js';
import { parseOrigin } from '../credentials/origins.js';
import { CONNECTION_LIMIT_DEFAULTS as LIMITS } from '../server/listener.js';
import { DEFAULT_CREDENTIAL_CACHE_SIZE } from '../client-credentials/credential-cache.js';

/**
 * Runtime configuration. Every value comes from an environment variable
 * (LATCHKEY_*) and may be overridden by a flag of the `latchkey` command; both
 * go through the same schema, so a bad value is refused with the same message
 * whichever way it arrived.
 */
export interface Config {
  /** TCP port for every protocol (gRPC, gRPC-Web, Connect, plain HTTP). 0 = ephemeral. */
  port: number;
  /** Address to bind. */
  host: string;
  /** `postgres://…` for PostgreSQL, otherwise a SQLite file path. */
  databaseUrl: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Browser origins allowed by CORS; `['*']` allows any origin. */
  corsAllowedOrigins: string[];
  /** How long SIGTERM waits for in-flight calls before closing connections. */
  shutdownTimeoutMs: number;
  /** A known admin API client created on an empty database (sandboxes, CI). */
  bootstrapClientId: string | undefined;
  bootstrapClientSecret: string | undefined;
  /** CIDR ranges of reverse proxies whose X-Forwarded-For is believed (SPEC §3). */
  trustedProxies: string[];
  /** Requests per window for credentials without their own `rate_limit`. */
  defaultRateLimit: Limit;
  /** `redis://…`: rate-limit counters shared by every replica. */
  redisUrl: string | undefined;
  /** Whether credential validations are recorded (SPEC §7 wants them; off only to measure the cost). */
  auditValidations: boolean;
  /** How long audit records are kept before the background job removes them, in milliseconds. */
  auditRetention: number;
  /** A new connection must send its first bytes (all of the HTTP/2 preface) within this many ms. */
  firstBytesTimeoutMs: number;
  /** An HTTP/1.1 request must send its complete headers within this many ms (else 408). */
  headersTimeoutMs: number;
  /** An HTTP/1.1 keep-alive connection or an HTTP/2 session with no request open is closed after this many ms. */
  idleTimeoutMs: number;
  /** A request whose body receives no bytes for this many ms is closed (HTTP/1.1) or reset (HTTP/2 stream). */
  bodyTimeoutMs: number;
  /** Open connections accepted at once; further ones are closed as they arrive. */
  maxConnections: number;
  /** Processes serving the port (node:cluster); 1 serves from this process alone. Default: the CPUs. */
  workers: number;
  /** Runtime credentials held in memory at most (per process), least recently used forgotten first. */
  credentialCacheSize: number;
}

/** Where each setting comes from, for messages and the README. */
export const ENV_NAMES: Record<keyof Config, string> = {
  port: 'LATCHKEY_PORT',
  host: 'LATCHKEY_HOST',
  databaseUrl: 'LATCHKEY_DATABASE_URL',
  logLevel: 'LATCHKEY_LOG_LEVEL',
  corsAllowedOrigins: 'LATCHKEY_CORS_ALLOWED_ORIGINS',
  shutdownTimeoutMs: 'LATCHKEY_SHUTDOWN_TIMEOUT_MS',
  bootstrapClientId: 'LATCHKEY_BOOTSTRAP_CLIENT_ID',
  bootstrapClientSecret: 'LATCHKEY_BOOTSTRAP_CLIENT_SECRET',
  trustedProxies: 'LATCHKEY_TRUSTED_PROXIES',
  defaultRateLimit: 'LATCHKEY_DEFAULT_RATE_LIMIT',
  redisUrl: 'LATCHKEY_REDIS_URL',
  auditValidations: 'LATCHKEY_AUDIT_VALIDATIONS',
  auditRetention: 'LATCHKEY_AUDIT_RETENTION',
  firstBytesTimeoutMs: 'LATCHKEY_FIRST_BYTES_TIMEOUT_MS',
  headersTimeoutMs: 'LATCHKEY_HEADERS_TIMEOUT_MS',
  idleTimeoutMs: 'LATCHKEY_IDLE_TIMEOUT_MS',
  bodyTimeoutMs: 'LATCHKEY_BODY_TIMEOUT_MS',
  maxConnections: 'LATCHKEY_MAX_CONNECTIONS',
  workers: 'LATCHKEY_WORKERS',
  credentialCacheSize: 'LATCHKEY_CREDENTIAL_CACHE_SIZE',
};

/** One line per setting for `latchkey --help` (the default is added from the schema). */
export const SETTING_HELP: Record<keyof Config, string> = {
  port: 'TCP port for every protocol (gRPC, gRPC-Web, Connect, HTTP); 0 picks a free one',
  host: 'address to listen on',
  databaseUrl: 'postgres://… for PostgreSQL, otherwise the path of a SQLite file',
  logLevel: 'fatal, error, warn, info, debug, trace or silent',
  corsAllowedOrigins: 'browser origins allowed by CORS, comma-separated; * allows any',
  shutdownTimeoutMs: 'how long SIGTERM waits for in-flight calls, in milliseconds',
  bootstrapClientId: 'client id of a known admin created on an empty database (with the secret)',
  bootstrapClientSecret: 'its secret, at least 16 characters',
  trustedProxies: 'CIDR ranges of proxies whose X-Forwarded-For is believed, comma-separated',
  defaultRateLimit: 'requests per window for credentials without their own limit',
  redisUrl: 'redis://… to share rate-limit counters between replicas',
  auditValidations: 'whether credential validations are audited (true or false)',
  auditRetention: 'how long audit records are kept, in hours or days (72h, 90d)',
  firstBytesTimeoutMs: 'a new connection must send its first bytes within this many ms',
  headersTimeoutMs: 'an HTTP/1.1 request must send its headers within this many ms',
  idleTimeoutMs: 'an idle keep-alive connection or HTTP/2 session is closed after this many ms',
  bodyTimeoutMs: 'a request body that receives nothing for this many ms is closed',
  maxConnections: 'open connections accepted at once',
  workers: 'processes serving the port; the default is the number of CPUs; 1 = no cluster',
  credentialCacheSize: 'runtime credentials kept in memory per process (about 0.75 KiB each)',
};

const port = z
  .string()
  .trim()
  .regex(/^\d+$/, 'must be a whole number between 0 and 65535')
  .transform(Number)
  .refine((n) => n >= 0 && n <= 65535, 'must be a whole number between 0 and 65535');

const databaseUrl = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .refine(
    (v) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(v) || /^(postgres|postgresql):\/\//i.test(v),
    'must be a postgres:// URL or a SQLite file path',
  )
  // `sqlit:./x.db` is a typo, not a file name: a scheme other than sqlite: is refused, while a
  // Windows drive letter (C:\…) and plain relative paths are left alone.
  .refine(
    (v) => /^[a-z][a-z0-9+.-]*:\/\//i.test(v) || !/^[a-z][a-z0-9+.-]+:/i.test(v) || /^sqlite:/i.test(v),
    'must be a postgres:// URL, sqlite:<path>, or a SQLite file path (unknown scheme)',
  );

/** The most worker processes LATCHKEY_WORKERS may ask for: more is a typo, not a machine (each holds its own caches and connections). */
const MAX_WORKERS = 1024;

/** 100 million cached credentials would take about 75 GB: more is a typo. */
const MAX_CREDENTIAL_CACHE_SIZE = 100_000_000;

/** Node's timers hold at most 2^31-1 ms; a day is far more than any connection limit needs. */
const MAX_TIMEOUT_MS = 86_400_000;

/** A connection timeout: whole milliseconds, at least 1 (a limit cannot be switched off). */
const timeoutMs = (fallback: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number of milliseconds between 1 and ${MAX_TIMEOUT_MS}`)
    .transform(Number)
    .refine((n) => n >= 1 && n <= MAX_TIMEOUT_MS, `must be a whole number of milliseconds between 1 and ${MAX_TIMEOUT_MS}`)
    .default(String(fallback));

// The same origin patterns as credential allow-lists (src/credentials/origins.ts).
const origin = z
  .string()
  .refine((v) => v === '*' || parseOrigin(v, true).ok, 'each origin must look like https://app.example.com, https://*.example.com or *');

const schema = z.object({
  port: port.default('8080'),
  // Every address, IPv6 and IPv4 (a dual-stack socket; IPv4 alone where the host has no IPv6).
  host: z.string().trim().min(1, 'must not be empty').default('::'),
  databaseUrl: databaseUrl.default('./data/latchkey.db'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  corsAllowedOrigins: z
    .string()
    .default('*')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    )
    .pipe(z.array(origin).min(1, 'must list at least one origin (or *)')),
  shutdownTimeoutMs: z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number of milliseconds')
    .transform(Number)
    .default('10000'),
  // Seeded values are taken as given (SPEC §5): any printable id, a secret of at least 16 characters.
  bootstrapClientId: z
    .string()
    .regex(/^[\x21-\x7e]{1,128}$/, 'must be 1 to 128 printable characters without spaces')
    .refine((v) => !v.includes(':'), 'must not contain ":" (it separates id and secret in Basic auth)')
    .optional(),
  bootstrapClientSecret: z
    .string()
    .regex(/^[\x21-\x7e]*$/, 'must be printable characters without spaces')
    .min(16, 'must be at least 16 characters')
    .max(512, 'must be at most 512 characters')
    .optional(),
  trustedProxies: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    )
    // The same parser as credential allow-lists, so the pipeline can never disagree with what was accepted here.
    .pipe(z.array(z.string().refine((v) => parseIpRange(v).ok, 'each entry must be an IPv4 or IPv6 address or CIDR range, e.g. 10.0.0.0/8'))),
  defaultRateLimit: z
    .string()
    .default('6000/1m')
    .transform((v, ctx) => {
      const limit = parseLimit(v);
      if (!limit) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be <requests>/<window>, e.g. 6000/1m or 100/10s (window 1 s to 24 h)' });
        return z.NEVER;
      }
      return limit;
    }),
  redisUrl: z
    .string()
    .trim()
    .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL')
    .optional(),
  auditValidations: z
    .enum(['true', 'false'], { errorMap: () => ({ message: 'must be true or false' }) })
    .default('true')
    .transform((v) => v === 'true'),
  auditRetention: z
    .string()
    .default('90d')
    .transform((v, ctx) => {
      const m = /^(\d+)(h|d)$/.exec(v.trim());
      const ms = m ? Number(m[1]) * (m[2] === 'h' ? 3_600_000 : 86_400_000) : 0;
      if (ms < 3_600_000) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be a duration of at least 1h, in hours or days, e.g. 72h or 90d' });
        return z.NEVER;
      }
      return ms;
    }),
  firstBytesTimeoutMs: timeoutMs(LIMITS.firstBytesTimeoutMs),
  headersTimeoutMs: timeoutMs(LIMITS.headersTimeoutMs),
  idleTimeoutMs: timeoutMs(LIMITS.idleTimeoutMs),
  bodyTimeoutMs: timeoutMs(LIMITS.bodyTimeoutMs),
  maxConnections: z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number between 1 and 1000000')
    .transform(Number)
    .refine((n) => n >= 1 && n <= 1_000_000, 'must be a whole number between 1 and 1000000')
    .default(String(LIMITS.maxConnections)),
  workers: z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number between 1 and ${MAX_WORKERS}`)
    .transform(Number)
    .refine((n) => n >= 1 && n <= MAX_WORKERS, `must be a whole number between 1 and ${MAX_WORKERS}`)
    .default(() => String(availableParallelism())),
  credentialCacheSize: z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number between 1 and ${MAX_CREDENTIAL_CACHE_SIZE}`)
    .transform(Number)
    .refine((n) => n >= 1 && n <= MAX_CREDENTIAL_CACHE_SIZE, `must be a whole number between 1 and ${MAX_CREDENTIAL_CACHE_SIZE}`)
    .default(String(DEFAULT_CREDENTIAL_CACHE_SIZE)),
}).superRefine((c, ctx) => {
  if ((c.bootstrapClientId === undefined) !== (c.bootstrapClientSecret === undefined)) {
    const missing = c.bootstrapClientId === undefined ? 'bootstrapClientId' : 'bootstrapClientSecret';
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: [missing], message: 'set both LATCHKEY_BOOTSTRAP_CLIENT_ID and LATCHKEY_BOOTSTRAP_CLIENT_SECRET, or neither' });
  }
});

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Raw values as strings, keyed like Config; flags win over the environment. */
export type RawConfig = Partial<Record<keyof Config, string>>;

export function rawConfigFromEnv(env: NodeJS.ProcessEnv): RawConfig {
  const raw: RawConfig = {};
  for (const [key, name] of Object.entries(ENV_NAMES) as [keyof Config, string][]) {
    const value = env[name];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  return raw;
}

/** Validates raw values; throws ConfigError naming every bad value and its source. */
export function parseConfig(raw: RawConfig, sourceOf: (key: keyof Config) => string = (k) => ENV_NAMES[k]): Config {
  const result = schema.safeParse(raw);
  if (result.success) {
    return {
      ...result.data,
      bootstrapClientId: result.data.bootstrapClientId,
      bootstrapClientSecret: result.data.bootstrapClientSecret,
      redisUrl: result.data.redisUrl,
    };
  }
  const problems = result.error.issues.map((issue) => {
    const key = issue.path[0] as keyof Config;
    // Secrets are named, never echoed.
    const given = key === 'bootstrapClientSecret' || key === 'redisUrl' ? undefined : raw[key];
    return `${sourceOf(key)}${given === undefined ? '' : `=${JSON.stringify(given)}`}: ${issue.message}`;
  });
  throw new ConfigError(problems);
}

/** A setting's default as it would be written in its variable (undefined: unset), for `latchkey --help`. */
export function settingDefault(key: keyof Config): string | undefined {
  let field: z.ZodTypeAny | undefined = schema.innerType().shape[key];
  while (field) {
    if (field instanceof z.ZodDefault) return String(field._def.defaultValue());
    field = field instanceof z.ZodEffects ? field.innerType() : field instanceof z.ZodPipeline ? field._def.in : undefined;
  }
  return undefined;
}
