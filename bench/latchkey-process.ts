import { join } from 'node:path';
import { ROOT, startProcess, type Server } from './processes.js';

/** The admin the bench seeds through LATCHKEY_BOOTSTRAP_* and manages the store with. */
export const ADMIN = { id: 'bench-admin', secret: 'bench-admin-secret-0123456789' };

export const basicAuth = { authorization: `Basic ${Buffer.from(`${ADMIN.id}:${ADMIN.secret}`).toString('base64')}` };

export interface LatchkeyOptions {
  /** LATCHKEY_WORKERS, when set. */
  workers?: number;
  auditValidations?: boolean;
}

/**
 * `bin/latchkey.js serve` over a SQLite file, as a deployment runs it (log level info; the port is read
 * from the "listening" line). BENCH_PROFILE_DIR=<dir> writes a V8 CPU profile of each latchkey process.
 */
export function startLatchkey(name: string, dbPath: string, options: LatchkeyOptions = {}): Promise<Server> {
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  const env: Record<string, string> = {
    LATCHKEY_PORT: '0',
    LATCHKEY_HOST: '127.0.0.1',
    LATCHKEY_DATABASE_URL: dbPath,
    LATCHKEY_LOG_LEVEL: 'info',
    LATCHKEY_BOOTSTRAP_CLIENT_ID: ADMIN.id,
    LATCHKEY_BOOTSTRAP_CLIENT_SECRET: ADMIN.secret,
    LATCHKEY_AUDIT_VALIDATIONS: String(options.auditValidations ?? true),
  };
  // Without the setting the server's own default applies (the CPUs); the bench pins it when a row needs one.
  if (options.workers !== undefined) env.LATCHKEY_WORKERS = String(options.workers);
  // Workers log their own port as they start; the server is ready once the primary says it listens.
  return startProcess(name, [...profile, join(ROOT, 'bin/latchkey.js'), 'serve'], env, /latchkey is listening/);
}
