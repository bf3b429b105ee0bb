/**
 * What the bench creates through latchkey's real management API (as an admin would): the project
 * `ten` that holds the ten named flags, one template flag, and the credentials every row uses. Big
 * stores are then grown from these templates directly in the SQLite file (seed-sqlite.ts), so every
 * row the server reads was first written by the server itself.
 */
import { fromJson } from '@bufbuild/protobuf';
import { ValueSchema } from '@bufbuild/protobuf/wkt';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { ClientCredentialService } from '../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { ClientCredential_Class, ClientCredential_Format } from '../gen/latchkey/clients/v1/client_credential_pb.js';
import { FlagAdminService } from '../gen/latchkey/flags/admin/v1/flag_admin_service_pb.js';
import { Condition_Operator, Flag_Kind } from '../gen/latchkey/flags/admin/v1/flag_pb.js';
import { basicAuth } from './latchkey-process.js';

export const RULES_PER_FLAG = 3;
/** The project of the ten named flags: an OFREP bulk call of a credential limited to it answers exactly them. */
export const TEN_PROJECT = 'ten';
export const TEMPLATE_FLAG = 'flag-0';
export const CLIENT = 'bench';

/** The secrets of the credentials the rows authenticate with. */
export interface SeededCredentials {
  /** SECRET, production, every project: the 10-flag, resolve-all and cached-credential rows. */
  backend: string;
  /** The same, limited to project `ten`: OFREP bulk answers the ten named flags. */
  ofrepTen: string;
}

const v = (json: unknown) => fromJson(ValueSchema, json as never);

export function flagAdmin(port: number) {
  return createClient(FlagAdminService, createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: '1.1' }));
}

/** Three rules (production, staging, everywhere), each `country in [SE, NO, DK]` with a 50/50 split. */
export function benchRules() {
  return Array.from({ length: RULES_PER_FLAG }, (_, r) => ({
    name: `rule-${r}`,
    enabled: true,
    environments: [['production'], ['staging'], []][r % 3]!,
    conditions: [{ attribute: 'country', operator: Condition_Operator.IN, values: [v('SE'), v('NO'), v('DK')] }],
    allocations: [
      { variant: 'control', weight: 5000 },
      { variant: 'treatment', weight: 5000 },
    ],
  }));
}

export async function seedThroughApi(port: number): Promise<SeededCredentials> {
  const transport = createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: '1.1' });
  const admin = createClient(FlagAdminService, transport);
  await admin.createProject({ projectId: TEN_PROJECT, project: { displayName: 'The ten named flags of the bench' } }, { headers: basicAuth });
  await admin.createFlag(
    {
      flagId: TEMPLATE_FLAG,
      flag: {
        project: `projects/${TEN_PROJECT}`,
        kind: Flag_Kind.STRING,
        variants: [
          { name: 'control', value: v('control') },
          { name: 'treatment', value: v('treatment') },
        ],
        defaultVariant: 'control',
        rules: benchRules(),
      },
    },
    { headers: basicAuth },
  );
  const clients = createClient(ClientCredentialService, transport);
  await clients.createClient({ clientId: CLIENT }, { headers: basicAuth });
  const credential = (projects: string[]) => ({
    class: ClientCredential_Class.SECRET,
    format: ClientCredential_Format.CLIENT_SECRET,
    environments: ['production'],
    projects,
    scopes: ['flags:read'],
    // Far above any rate the bench reaches: the rows measure serving, not refusing.
    rateLimit: { requests: 1_000_000_000, window: { seconds: 1n, nanos: 0 } },
  });
  const backend = await clients.createClientCredential({ parent: `clients/${CLIENT}`, credentialId: 'backend', credential: credential(['*']) }, { headers: basicAuth });
  const ofrep = await clients.createClientCredential({ parent: `clients/${CLIENT}`, credentialId: 'ofrep-ten', credential: credential([TEN_PROJECT]) }, { headers: basicAuth });
  return { backend: backend.secret, ofrepTen: ofrep.secret };
}
