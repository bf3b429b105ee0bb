import { fromJson } from '@bufbuild/protobuf';
import { ValueSchema } from '@bufbuild/protobuf/wkt';
import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { ClientCredential_Class as Class, ClientCredential_Format as Format } from '../../../gen/latchkey/clients/v1/client_credential_pb.js';
import { EventService } from '../../../gen/latchkey/events/v1/event_service_pb.js';
import { FlagAdminService } from '../../../gen/latchkey/flags/admin/v1/flag_admin_service_pb.js';
import { Condition_Operator as Op, Flag_Kind as Kind } from '../../../gen/latchkey/flags/admin/v1/flag_pb.js';
import { FlagResolverService } from '../../../gen/latchkey/flags/resolver/v1/resolver_service_pb.js';
import { BOOTSTRAP, basic, connectClient } from '../../support/clients.js';
import type { TestServer } from '../../support/server.js';

/**
 * Flags and credentials the Reflag tests share (reflag-node, reflag-browser, reflag-http), created
 * through the admin API of a real server. Rules differ per environment.
 */

export const v = (json: unknown) => fromJson(ValueSchema, json as never);
export const onOff = [
  { name: 'on', value: v(true) },
  { name: 'off', value: v(false) },
];
export const everyone = (variant: string) => [{ variant, weight: 10000 }];
export const cond = (attribute: string, operator: Op, ...values: unknown[]) => ({ attribute, operator, values: values.map(v) });

export function admins(server: TestServer) {
  const auth = basic(BOOTSTRAP.clientId, BOOTSTRAP.secret);
  return {
    flags: connectClient(server, FlagAdminService, auth),
    creds: connectClient(server, ClientCredentialService, auth),
    events: connectClient(server, EventService, auth),
  };
}
export type Admin = ReturnType<typeof admins>;

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
  await flags.createFlag({ flagId: 'theme', flag: { kind: Kind.OBJECT, variants: [{ name: 'navy', value: v({ color: 'navy' }) }], defaultVariant: 'navy' } });
  await flags.createFlag({ flagId: 'gone', flag: { kind: Kind.BOOLEAN, variants: onOff, defaultVariant: 'on' } });
  await flags.archiveFlag({ name: 'flags/gone' });
  await flags.createFlag({ flagId: 'mobile-only', flag: { project: 'projects/mobile', kind: Kind.BOOLEAN, variants: onOff, defaultVariant: 'on' } });
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

/** latchkey's own ResolveFlags answer: flag id → [variant, value], for oracle comparisons. */
export async function resolveOverConnect(server: TestServer, secret: string, context: Record<string, unknown>) {
  const res = await connectClient(server, FlagResolverService, { authorization: `Bearer ${secret}` }).resolveFlags({ flags: [], evaluationContext: context as never });
  return Object.fromEntries(res.resolvedFlags.map((f) => [f.flag.slice('flags/'.length), [f.variant, f.value?.kind.value]]));
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

export { Class, Format, Kind, Op };
