/**
 * Several real latchkey processes (`latchkey serve`) sharing one database, as replicas behind a
 * load balancer share one PostgreSQL: for the tests that race writes and follow changes across
 * replicas.
 */
import { ClientCredentialService } from '../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { ClientCredential_Class as Class, ClientCredential_Format as Format } from '../../gen/latchkey/clients/v1/client_credential_pb.js';
import { BOOTSTRAP, basic, connectClient } from './clients.js';
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

/** A SECRET client-secret credential `id` of client `app` (which must exist), created on `replica`; resolves to its secret. */
export async function createCredential(replica: Replica, id: string): Promise<string> {
  const admin = connectClient(replica, ClientCredentialService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret));
  const res = await admin.createClientCredential({
    parent: 'clients/app',
    credentialId: id,
    credential: { class: Class.SECRET, format: Format.CLIENT_SECRET, environments: ['development'], projects: ['*'], scopes: ['flags:read'] },
  });
  return res.secret;
}

/** `GET /v1/credential` with `secret` on `replica`: `200`, or the refusal's status and reason (`410 CREDENTIAL_REVOKED`). */
export async function useCredential(replica: Replica, secret: string): Promise<string> {
  const res = await fetch(`${replica.baseUrl}/v1/credential`, { headers: { authorization: `Bearer ${secret}` } });
  return `${res.status} ${((await res.json()) as { reason?: string }).reason ?? ''}`.trim();
}
