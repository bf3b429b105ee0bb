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
 * Flags and credentials the Reflag tests share (reflag-node, reflag-browser, reflag-http), created
 * through the admin API of a real server. Rules differ per environment.
 */

/**
 * - `new-checkout` (BOOLEAN): development: on where company.plan IN [pro, enterprise];
 *   production: on where company.plan = enterprise; default off.
 * - `rollout` (BOOLEAN): 30 % of users (user.id) in development, 70 % in production; default off.
 * - `staged` (BOOLEAN): 50 % of users on, then everyone on; default off. A context without
 *   user.id stops at the first rule (TARGETING_KEY_ERROR): off, although the second rule would hold.
 * - `banner` (STRING): blue / green 50-50 on user.id; default red.
 * - `limits` (NUMBER): 100 where company.tier = 3 (a number) and user.beta = true; default 10.
 * - `not-cn` (BOOLEAN): off where other.region IN [cn], otherwise on (the default).
 * - `email-domain` (BOOLEAN): on where user.email ENDS_WITH @acme.com; default off (untranslatable).
 * - `secret-tool` (BOOLEAN, secret): on.
 * - `theme` (OBJECT): `{color: navy}`; served only with configs:read.
 * - `gone` (BOOLEAN, archived).
 * - `mobile-only` (BOOLEAN) in project `mobile`: on.
 */
export async function createReflagFixtures({ flags, creds }: Admin): Promise<void> {
  await creds.createClient({ clientId: 'app' });
  await flags.createProject({ projectId: 'mobile' });
  await flags.createFlag({
    flagId: 'new-checkout',
    flag: {
      kind: Kind.BOOLEAN,
      description: 'The new checkout',
      variants: onOff,
      defaultVariant: 'off',
      rules: [
        { name: 'dev-paid', enabled: true, environments: ['development'], conditions: [cond('company.plan', Op.IN, 'pro', 'enterprise')], allocations: everyone('on') },
        { name: 'prod-enterprise', enabled: true, environments: ['production'], conditions: [cond('company.plan', Op.EQUALS, 'enterprise')], allocations: everyone('on') },
      ],
    },
  });
  await createRolloutFlag(flags);
  await flags.createFlag({
    flagId: 'staged',
    flag: {
      kind: Kind.BOOLEAN,
      variants: onOff,
      defaultVariant: 'off',
      rules: [
        { name: 'half', enabled: true, allocations: [{ variant: 'on', weight: 5000 }] },
        { name: 'rest', enabled: true, allocations: everyone('on') },
      ],
    },
  });
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
      rules: [{ name: 'beta-tier-3', enabled: true, conditions: [cond('company.tier', Op.EQUALS, 3), cond('user.beta', Op.EQUALS, true)], allocations: everyone('big') }],
    },
  });
  await flags.createFlag({
    flagId: 'not-cn',
    flag: { kind: Kind.BOOLEAN, variants: onOff, defaultVariant: 'on', rules: [{ name: 'cn', enabled: true, conditions: [cond('other.region', Op.IN, 'cn')], allocations: everyone('off') }] },
  });
  await flags.createFlag({
    flagId: 'email-domain',
    flag: { kind: Kind.BOOLEAN, variants: onOff, defaultVariant: 'off', rules: [{ name: 'acme', enabled: true, conditions: [cond('user.email', Op.ENDS_WITH, '@acme.com')], allocations: everyone('on') }] },
  });
  await flags.createFlag({ flagId: 'secret-tool', flag: { kind: Kind.BOOLEAN, variants: onOff, defaultVariant: 'on', secret: true } });
  await createConfigArchivedAndMobileFlags(flags);
}

/** A Reflag-style key of client `app` (`sec_<env>_…` or `pub_<env>_…`); resolves to its secret and name. */
export async function reflagKey(
  { creds }: Admin,
  id: string,
  spec: { publishable?: boolean; environment?: string; projects?: string[]; scopes?: string[]; allowedOrigins?: string[] } = {},
): Promise<{ secret: string; name: string }> {
  const publishable = spec.publishable === true;
  const res = await creds.createClientCredential({
    parent: 'clients/app',
    credentialId: id,
    credential: {
      format: publishable ? Format.PUBLISHABLE_KEY : Format.SECRET_KEY,
      class: publishable ? Class.PUBLISHABLE : Class.SECRET,
      environments: [spec.environment ?? 'development'],
      projects: spec.projects ?? ['default'],
      scopes: spec.scopes ?? ['flags:read', 'logs:write'],
      ...(spec.allowedOrigins && { allowedOrigins: spec.allowedOrigins }),
    },
  });
  return { secret: res.secret, name: res.credential!.name };
}

/** Polls `fn` until it gives a truthy value (or throws after `timeoutMs`). */
export async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export { admins, Class, cond, everyone, Format, Kind, onOff, Op, resolveOverConnect, v, type Admin };
