/**
 * Several real latchkey processes (`latchkey serve`) sharing one database, as replicas behind a
 * load balancer share one PostgreSQL: for the tests that race writes and follow changes across
 * replicas.
 */
import { BOOTSTRAP } from './clients.js';
import { spawnLatchkey, type Spawned } from './process.js';

export interface Replica {
  baseUrl: string;
  port: number;
  process: Spawned;
}

export interface Replicas {
  replicas: Replica[];
  /** SIGTERM to every replica, waiting for each to exit. */
  stop(): Promise<void>;
}

/** Starts `count` replicas on `databaseUrl` at once (they race the migrations and the bootstrap, too). */
export async function startReplicas(count: number, databaseUrl: string, env: Record<string, string> = {}): Promise<Replicas> {
  const started = Array.from({ length: count }, () =>
    spawnLatchkey(['serve'], {
      LATCHKEY_PORT: '0',
      LATCHKEY_HOST: '127.0.0.1',
      LATCHKEY_DATABASE_URL: databaseUrl,
      LATCHKEY_BOOTSTRAP_CLIENT_ID: BOOTSTRAP.clientId,
      LATCHKEY_BOOTSTRAP_CLIENT_SECRET: BOOTSTRAP.secret,
      LATCHKEY_SHUTDOWN_TIMEOUT_MS: '2000',
      ...env,
    }),
  );
  const stop = async () => {
    await Promise.all(
      started.map(async (p) => {
        if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
        await p.exited;
      }),
    );
  };
  try {
    const replicas = await Promise.all(
      started.map(async (p) => {
        const line = await p.waitForLog(/latchkey is listening/);
        const port = Number(line.port);
        return { baseUrl: `http://127.0.0.1:${port}`, port, process: p };
      }),
    );
    return { replicas, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
