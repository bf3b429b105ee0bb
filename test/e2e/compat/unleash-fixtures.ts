import { randomBytes } from 'node:crypto';
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
 * Flags and credentials the Unleash tests share (unleash-client, unleash-frontend, unleash-http),
 * created through the admin API of a real server. Rules differ per environment.
 */

const v = (json: unknown) => fromJson(ValueSchema, json as never);
const onOff = [
  { name: 'on', value: v(true) },
  { name: 'off', value: v(false) },
];
const everyone = (variant: string) => [{ variant, weight: 10000 }];
const cond = (attribute: string, operator: Op, ...values: unknown[]) => ({ attribute, operator, values: values.map(v) });

export function admins(server: TestServer) {
  return {
    flags: connectClient(server, FlagAdminService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret)),
    creds: connectClient(server, ClientCredentialService, basic(BOOTSTRAP.clientId, BOOTSTRAP.secret)),
  };
}
export type Admin = ReturnType<typeof admins>;

/**
 * - `new-checkout` (BOOLEAN): in development on where country IN [SE, NO]; in production on where
 *   plan = pro; default off.
 * - `rollout` (BOOLEAN): 30 % of users in development, 70 % in production; default off.
 * - `banner` (STRING): blue / green 50-50 on the targeting key (both environments); default red.
 * - `limits` (NUMBER): 100 where seats >= 10 and appVersion >= 2.0.0; default 10.
 * - `free-off` (BOOLEAN): off where plan = free, otherwise on (the default).
 * - `internal-tool` (BOOLEAN, secret): on.
 * - `email-match` (BOOLEAN): on where email MATCHES @example.com$, default off: untranslatable.
 * - `regex-same` (BOOLEAN): on where email MATCHES …, default on: the same for everyone.
 * - `theme` (OBJECT): `{color: navy}`; served only with configs:read.
 * - `gone` (BOOLEAN, archived).
 * - `mobile-only` (BOOLEAN) in project `mobile`: on.
 */
export async function createUnleashFixtures({ flags, creds }: Admin): Promise<void> {
  await creds.createClient({ clientId: 'shop' });
  await flags.createProject({ projectId: 'mobile' });
  await flags.createFlag({
    flagId: 'new-checkout',
    flag: {
      kind: Kind.BOOLEAN,
      description: 'The new checkout',
      variants: onOff,
      defaultVariant: 'off',
      rules: [
        { name: 'dev-nordics', enabled: true, environments: ['development'], conditions: [cond('country', Op.IN, 'SE', 'NO')], allocations: everyone('on') },
        { name: 'prod-pro', enabled: true, environments: ['production'], conditions: [cond('plan', Op.EQUALS, 'pro')], allocations: everyone('on') },
      ],
    },
  });
  await flags.createFlag({
    flagId: 'rollout',
    flag: {
      kind: Kind.BOOLEAN,
      variants: onOff,
      defaultVariant: 'off',
      rules: [
        { name: 'dev-30', enabled: true, environments: ['development'], allocations: [{ variant: 'on', weight: 3000 }] },
        { name: 'prod-70', enabled: true, environments: ['production'], allocations: [{ variant: 'on', weight: 7000 }] },
      ],
    },
  });
  await flags.createFlag({
    flagId: 'banner',
    flag: {
      kind: Kind.STRING,
      variants: [
        { name: 'blue', value: v('blue') },
        { name: 'green', value: v('green') },
        { name: 'red', value: v('red') },
      ],
      defaultVariant: 'red',
      rules: [
        {
          name: 'split',
          enabled: true,
          allocations: [
            { variant: 'blue', weight: 5000 },
            { variant: 'green', weight: 5000 },
          ],
        },
      ],
    },
  });
  await flags.createFlag({
    flagId: 'limits',
    flag: {
      kind: Kind.NUMBER,
      variants: [
        { name: 'small', value: v(10) },
        { name: 'big', value: v(100) },
      ],
      defaultVariant: 'small',
      rules: [{ name: 'big-teams', enabled: true, conditions: [cond('seats', Op.GREATER_THAN_OR_EQUAL, 10), cond('appVersion', Op.SEMVER_GREATER_THAN_OR_EQUAL, '2.0.0')], allocations: everyone('big') }],
    },
  });
  await flags.createFlag({
    flagId: 'free-off',
    flag: { kind: Kind.BOOLEAN, variants: onOff, defaultVariant: 'on', rules: [{ name: 'free', enabled: true, conditions: [cond('plan', Op.EQUALS, 'free')], allocations: everyone('off') }] },
  });
  await flags.createFlag({ flagId: 'internal-tool', flag: { kind: Kind.BOOLEAN, variants: onOff, defaultVariant: 'on', secret: true } });
  await flags.createFlag({
    flagId: 'email-match',
    flag: { kind: Kind.BOOLEAN, variants: onOff, defaultVariant: 'off', rules: [{ name: 'staff', enabled: true, conditions: [cond('email', Op.MATCHES, '@example\\.com$')], allocations: everyone('on') }] },
  });
  await flags.createFlag({
    flagId: 'regex-same',
    flag: { kind: Kind.BOOLEAN, variants: onOff, defaultVariant: 'on', rules: [{ name: 'staff', enabled: true, conditions: [cond('email', Op.MATCHES, '@example\\.com$')], allocations: everyone('on') }] },
  });
  await flags.createFlag({ flagId: 'theme', flag: { kind: Kind.OBJECT, variants: [{ name: 'navy', value: v({ color: 'navy' }) }], defaultVariant: 'navy' } });
  await flags.createFlag({ flagId: 'gone', flag: { kind: Kind.BOOLEAN, variants: onOff, defaultVariant: 'on' } });
  await flags.archiveFlag({ name: 'flags/gone' });
  await flags.createFlag({ flagId: 'mobile-only', flag: { project: 'projects/mobile', kind: Kind.BOOLEAN, variants: onOff, defaultVariant: 'on' } });
}

/** A credential of client `shop`; resolves to its secret and name. */
export async function credential(
  { creds }: Admin,
  id: string,
  spec: { format?: Format; class?: Class; environments?: string[]; projects?: string[]; scopes?: string[]; allowedOrigins?: string[] },
): Promise<{ secret: string; name: string }> {
  const res = await creds.createClientCredential({
    parent: 'clients/shop',
    credentialId: id,
    credential: { format: Format.UNLEASH, class: Class.SECRET, environments: ['development'], projects: ['default'], scopes: ['flags:read'], ...spec },
  });
  return { secret: res.secret, name: res.credential!.name };
}

/** Imports an Unleash token (`<project>:<environment>.<hex>`) an application already has. */
export async function importUnleashToken({ creds }: Admin, id: string, cls: Class, environment: string, projects: string[]): Promise<{ secret: string; name: string }> {
  const secret = `${projects.length === 1 ? projects[0] : '[]'}:${environment}.${randomBytes(28).toString('hex')}`;
  const res = await creds.importClientCredential({ parent: 'clients/shop', credentialId: id, secret, credential: { class: cls, environments: [environment], projects, scopes: ['flags:read'] } });
  return { secret: res.secret, name: res.credential!.name };
}

/** latchkey's own ResolveFlags answer: flag id → [variant, value], for the oracle comparisons. */
export async function resolveOverConnect(server: TestServer, secret: string, context: Record<string, unknown>) {
  const res = await connectClient(server, FlagResolverService, { authorization: `Bearer ${secret}` }).resolveFlags({ flags: [], evaluationContext: context as never });
  return Object.fromEntries(res.resolvedFlags.map((f) => [f.flag.slice('flags/'.length), [f.variant, f.value?.kind.value]]));
}

export { Class, Format };
