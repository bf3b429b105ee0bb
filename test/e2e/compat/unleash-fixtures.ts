import { randomBytes } from 'node:crypto';
import { ClientCredential_Class as Class, ClientCredential_Format as Format } from '../../../gen/latchkey/clients/v1/client_credential_pb.js';
import {
  admins,
  cond,
  createBannerFlag,
  createConfigArchivedAndMobileFlags,
  createRolloutFlag,
  everyone,
  Kind,
  onOff,
  Op,
  resolveOverConnect,
  v,
  type Admin,
} from './shared-fixtures.js';

/**
 * Flags and credentials the Unleash tests share (unleash-client, unleash-frontend, unleash-http),
 * created through the admin API of a real server. Rules differ per environment.
 */

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
  await createRolloutFlag(flags);
  await createBannerFlag(flags);
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
  await createConfigArchivedAndMobileFlags(flags);
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


export { admins, Class, cond, everyone, Format, Kind, onOff, Op, resolveOverConnect, v, type Admin };
