import type { Logger } from '../logging/logger.js';
import type { ApiClients } from './api-clients.js';

export const BOOTSTRAP_API_CLIENT_ID = 'bootstrap-admin';

export interface BootstrapOptions {
  /** LATCHKEY_BOOTSTRAP_CLIENT_ID / _SECRET: a known admin for sandboxes and CI. */
  seeded?: { clientId: string; secret: string };
  /** Where the generated credentials are shown once (stderr, not the JSON log). */
  announce: (text: string) => void;
}

/**
 * First start with no API client: creates `apiClients/bootstrap-admin` with
 * `roles/admin`. A fixed id makes concurrent first starts of several
 * replicas safe: only the one whose insert wins announces a secret.
 */
export async function bootstrapAdmin(apiClients: ApiClients, logger: Logger, options: BootstrapOptions): Promise<void> {
  if ((await apiClients.countClients()) > 0) {
    if (options.seeded) logger.info('bootstrap admin not created: the database already has API clients');
    return;
  }
  let created;
  try {
    created = await apiClients.create(
      BOOTSTRAP_API_CLIENT_ID,
      { displayName: 'Bootstrap administrator', description: 'Created at first start.', labels: {}, roles: ['roles/admin'], permissions: [] },
      null,
      options.seeded,
    );
  } catch (err) {
    if ((err as { reason?: string }).reason === 'ALREADY_EXISTS') return; // another replica won the race
    throw err;
  }
  logger.info({ apiClient: `apiClients/${created.record.id}`, clientId: created.record.clientId, seeded: Boolean(options.seeded) }, 'created the bootstrap admin API client');
  if (!options.seeded) {
    options.announce(
      [
        '',
        'latchkey created an admin API client. Its secret is shown this once; store it now.',
        `  client id:     ${created.record.clientId}`,
        `  client secret: ${created.secret}`,
        'Exchange them for an access token:',
        `  curl -s -d grant_type=client_credentials -d client_id=${created.record.clientId} -d client_secret=<secret> http://localhost:<port>/v1/oauth/token`,
        '',
      ].join('\n'),
    );
  }
}
