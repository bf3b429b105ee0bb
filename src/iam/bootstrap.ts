import type { Logger } from '../logging/logger.js';
import { ADMIN_ROLE, type ApiClientInput, type ApiClients } from './api-clients.js';

export const BOOTSTRAP_API_CLIENT_ID = 'bootstrap-admin';
export const BOOTSTRAP_API_CLIENT = `apiClients/${BOOTSTRAP_API_CLIENT_ID}`;

/**
 * Shows text to the operator once (stderr, never the JSON log). When it returns a promise, that
 * is awaited: the text counts as shown once it resolves.
 */
export type Announce = (text: string) => unknown;

export interface BootstrapOptions {
  /** LATCHKEY_BOOTSTRAP_CLIENT_ID / _SECRET: a known admin for sandboxes and CI. */
  seeded?: { clientId: string; secret: string };
  /** Where the generated credentials are shown once. */
  announce: Announce;
  /** The port the server listens on, for the example command. */
  port: number;
}

const BOOTSTRAP_INPUT: ApiClientInput = {
  displayName: 'Bootstrap administrator',
  description: 'Created at first start.',
  labels: {},
  roles: [ADMIN_ROLE],
  permissions: [],
};

/** Writes to stderr and waits until the write is handed to the operating system. */
export const announceOnStderr: Announce = (text) =>
  new Promise<void>((resolve, reject) => process.stderr.write(`${text}\n`, (err) => (err ? reject(err) : resolve())));

function credentialsText(heading: readonly string[], clientId: string, secret: string | undefined, port: number | undefined): string {
  const lines = [
    '',
    ...heading,
    `  client id:     ${clientId}`,
    `  client secret: ${secret ?? '(the value of LATCHKEY_BOOTSTRAP_CLIENT_SECRET)'}`,
    'Exchange them for an access token:',
    `  curl -s -d grant_type=client_credentials -d client_id=${clientId} -d client_secret=<secret> http://localhost:${port ?? '<port>'}/v1/oauth/token`,
    '',
  ];
  return lines.join('\n');
}

/**
 * First start with no API client: creates `apiClients/bootstrap-admin` with `roles/admin`.
 *
 * Called once the server listens (SPEC §8), so a start that fails earlier (the port taken, say)
 * stores nothing. The generated secret is shown before the insert commits: a crash after the
 * secret was shown and before the commit leaves no admin, and the next start creates one and shows
 * it; a crash can never leave an admin whose secret nobody saw. Several replicas starting at once
 * on one database are serialised by the store (see ApiClientStore.insertFirst): one creates and
 * shows the admin, the others find it there.
 */
export async function bootstrapAdmin(apiClients: ApiClients, logger: Logger, options: BootstrapOptions): Promise<void> {
  if ((await apiClients.countClients()) > 0) {
    if (options.seeded) {
      logger.info(
        'bootstrap admin not created: the database already has API clients (LATCHKEY_BOOTSTRAP_CLIENT_ID/_SECRET apply to an empty database; `latchkey admin reset-bootstrap` applies them to an existing one)',
      );
    }
    return;
  }
  let shown = false;
  let created;
  try {
    created = await apiClients.createFirst(BOOTSTRAP_API_CLIENT_ID, BOOTSTRAP_INPUT, options.seeded, async ({ record, secret }) => {
      if (options.seeded) return; // the operator chose the secret
      await options.announce(
        credentialsText(['latchkey created an admin API client. Its secret is shown this once; store it now.'], record.clientId, secret, options.port),
      );
      shown = true;
    });
  } catch (err) {
    if (shown) {
      await options.announce('latchkey could not store the admin API client shown above: it does not work. Start latchkey again to create a new one.\n');
    }
    throw err;
  }
  if (!created) return; // another replica created it
  logger.info(
    { apiClient: `apiClients/${created.record.id}`, clientId: created.record.clientId, seeded: Boolean(options.seeded) },
    'created the bootstrap admin API client',
  );
}

export interface ResetBootstrapOptions {
  seeded?: { clientId: string; secret: string };
  announce: Announce;
}

/**
 * `latchkey admin reset-bootstrap`: the recovery that needs the database, not the API. Re-creates
 * `apiClients/bootstrap-admin`, or gives it `roles/admin` and a new secret (ending its access
 * tokens), and shows the client id and secret once.
 */
export async function resetBootstrapAdmin(apiClients: ApiClients, logger: Logger, options: ResetBootstrapOptions): Promise<'created' | 're-keyed'> {
  const result = await apiClients.resetAdmin(BOOTSTRAP_API_CLIENT_ID, BOOTSTRAP_INPUT, options.seeded);
  const action = result.created ? 'created' : 're-keyed';
  logger.info(
    { apiClient: BOOTSTRAP_API_CLIENT, clientId: result.record.clientId, seeded: Boolean(options.seeded), action },
    result.created ? 'created the bootstrap admin API client' : 're-keyed the bootstrap admin API client',
  );
  const heading = [
    result.created
      ? `latchkey created the admin API client ${BOOTSTRAP_API_CLIENT} with ${ADMIN_ROLE}.`
      : `latchkey re-keyed the admin API client ${BOOTSTRAP_API_CLIENT} and gave it ${ADMIN_ROLE};\nits previous secret and access tokens no longer work.`,
    options.seeded
      ? 'It authenticates with LATCHKEY_BOOTSTRAP_CLIENT_ID and LATCHKEY_BOOTSTRAP_CLIENT_SECRET.'
      : 'Its secret is shown this once; store it now.',
  ];
  await options.announce(credentialsText(heading, result.record.clientId, options.seeded ? undefined : result.secret, undefined));
  return action;
}
