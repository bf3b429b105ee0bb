import { fromJson } from '@bufbuild/protobuf';
import { ValueSchema } from '@bufbuild/protobuf/wkt';
import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { ClientCredential_Class as Class, ClientCredential_Format as Format } from '../../../gen/latchkey/clients/v1/client_credential_pb.js';
import { FlagAdminService } from '../../../gen/latchkey/flags/admin/v1/flag_admin_service_pb.js';
import { Condition_Operator as Op, Flag_Kind as Kind } from '../../../gen/latchkey/flags/admin/v1/flag_pb.js';
import { FlagResolverService } from '../../../gen/latchkey/flags/resolver/v1/resolver_service_pb.js';
import { BOOTSTRAP, basic, connectClient } from '../../support/clients.js';
import type { TestServer } from '../../support/server.js';

/**
 * The flags and credentials the OFREP tests share (ofrep-server, ofrep-web, ofrep-http), created
 * through the admin API of a real server. Rules differ per environment, so a production and a
 * development credential see different values of the same flags.
 */

const v = (json: unknown) => fromJson(ValueSchema, json as never);
const onOff = [
  { name: 'on', value: v(true) },
  { name: 'off', value: v(false) },
];
const everyone = (variant: string) => [{ variant, weight: 10000 }];

export type Admin = ReturnType<typeof admins>;

export function admins(server: TestServer) {
  return {
    flags: connectClient(server, FlagAdminService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret)),
    creds: connectClient(server, ClientCredentialService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret)),
  };
}

/**
 * - `dark-mode` (BOOLEAN): on for everyone in production (TARGETING_MATCH); no rule applies in
 *   development, so the default `off` is all it can be there (STATIC).
 * - `checkout` (STRING): `fast` in production, `beta` in development, default `classic`.
 * - `max-items` (NUMBER): 25.5 where country = SE (any environment), default 10 (DEFAULT elsewhere).
 * - `theme` (OBJECT, a remote config): default `{color: black, size: 2}`; production sees `{color: navy, size: 3}`.
 * - `experiment` (BOOLEAN): a 50/50 split on the targeting key (SPLIT; TARGETING_KEY_MISSING without one).
 * - `gone` (BOOLEAN, archived): DISABLED.
 * - `unset` (BOOLEAN, no default variant): on where country = SE, else nothing (DEFAULT, code default).
 * - `internal` (BOOLEAN, secret): on; publishable credentials never see it.
 * - `elsewhere` (BOOLEAN) in project `other`: on; only credentials with that project see it.
 */
export async function createOfrepFixtures({ flags, creds }: Admin): Promise<void> {
  await creds.createClient({ clientId: 'app' });
  await flags.createProject({ projectId: 'other' });
  await flags.createFlag({
    flagId: 'dark-mode',
    flag: { kind: Kind.BOOLEAN, description: 'Dark mode for the storefront', variants: onOff, defaultVariant: 'off', rules: [{ name: 'prod', enabled: true, environments: ['production'], allocations: everyone('on') }] },
  });
  await flags.createFlag({
    flagId: 'checkout',
    flag: {
      kind: Kind.STRING,
      variants: [
        { name: 'classic', value: v('classic') },
        { name: 'fast', value: v('fast') },
        { name: 'beta', value: v('beta') },
      ],
      defaultVariant: 'classic',
      rules: [
        { name: 'prod-fast', enabled: true, environments: ['production'], allocations: everyone('fast') },
        { name: 'dev-beta', enabled: true, environments: ['development'], allocations: everyone('beta') },
      ],
    },
  });
  await flags.createFlag({
    flagId: 'max-items',
    flag: {
      kind: Kind.NUMBER,
      variants: [
        { name: 'small', value: v(10) },
        { name: 'large', value: v(25.5) },
      ],
      defaultVariant: 'small',
      rules: [{ name: 'sweden', enabled: true, conditions: [{ attribute: 'country', operator: Op.EQUALS, values: [v('SE')] }], allocations: everyone('large') }],
    },
  });
  await flags.createFlag({
    flagId: 'theme',
    flag: {
      kind: Kind.OBJECT,
      variants: [
        { name: 'dark', value: v({ color: 'black', size: 2 }) },
        { name: 'navy', value: v({ color: 'navy', size: 3 }) },
      ],
      defaultVariant: 'dark',
      rules: [{ name: 'prod-navy', enabled: true, environments: ['production'], allocations: everyone('navy') }],
    },
  });
  await flags.createFlag({
    flagId: 'experiment',
    flag: {
      kind: Kind.BOOLEAN,
      variants: onOff,
      defaultVariant: 'off',
      rules: [
        {
          name: 'half',
          enabled: true,
          allocations: [
            { variant: 'on', weight: 5000 },
            { variant: 'off', weight: 5000 },
          ],
        },
      ],
    },
  });
  await flags.createFlag({ flagId: 'gone', flag: { kind: Kind.BOOLEAN, variants: onOff, defaultVariant: 'on' } });
  await flags.archiveFlag({ name: 'flags/gone' });
  await flags.createFlag({
    flagId: 'unset',
    flag: { kind: Kind.BOOLEAN, variants: onOff, rules: [{ name: 'sweden', enabled: true, conditions: [{ attribute: 'country', operator: Op.EQUALS, values: [v('SE')] }], allocations: everyone('on') }] },
  });
  await flags.createFlag({ flagId: 'internal', flag: { kind: Kind.BOOLEAN, variants: onOff, defaultVariant: 'on', secret: true } });
  await flags.createFlag({ flagId: 'elsewhere', flag: { project: 'projects/other', kind: Kind.BOOLEAN, variants: onOff, defaultVariant: 'on' } });
}

export const FULL_SCOPES = ['flags:read', 'configs:read'];

/** A credential of client `app`; resolves to its secret and, for key pairs, its client id. */
export async function ofrepCredential(
  { creds }: Admin,
  id: string,
  spec: { format?: Format; class?: Class; environments?: string[]; projects?: string[]; scopes?: string[]; allowedOrigins?: string[]; rateLimit?: { requests: number; seconds: number } },
): Promise<{ secret: string; clientId: string; name: string }> {
  const { rateLimit, ...rest } = spec;
  const res = await creds.createClientCredential({
    parent: 'clients/app',
    credentialId: id,
    credential: {
      format: Format.CLIENT_SECRET,
      class: Class.SECRET,
      environments: ['production'],
      projects: ['*'],
      scopes: FULL_SCOPES,
      ...rest,
      rateLimit: rateLimit ? { requests: rateLimit.requests, window: { seconds: BigInt(rateLimit.seconds), nanos: 0 } } : undefined,
    },
  });
  return { secret: res.secret, clientId: res.credential!.clientId, name: res.credential!.name };
}

/** What latchkey's own ResolveFlags answers (the oracle for bucketed flags): flag → [variant, value]. */
export async function resolveOverConnect(server: TestServer, secret: string, names: string[], context: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await connectClient(server, FlagResolverService, { authorization: `Bearer ${secret}`, ...headers }).resolveFlags({ flags: names, evaluationContext: context as never });
  return Object.fromEntries(res.resolvedFlags.map((f) => [f.flag.slice('flags/'.length), [f.variant, f.value?.kind.value]]));
}

export { Class, Format };
