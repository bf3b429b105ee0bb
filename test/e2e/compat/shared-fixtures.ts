import { fromJson } from '@bufbuild/protobuf';
import { ValueSchema } from '@bufbuild/protobuf/wkt';
import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { EventService } from '../../../gen/latchkey/events/v1/event_service_pb.js';
import { FlagAdminService } from '../../../gen/latchkey/flags/admin/v1/flag_admin_service_pb.js';
import { Condition_Operator as Op, Flag_Kind as Kind } from '../../../gen/latchkey/flags/admin/v1/flag_pb.js';
import { FlagResolverService } from '../../../gen/latchkey/flags/resolver/v1/resolver_service_pb.js';
import { BOOTSTRAP, basic, connectClient } from '../../support/clients.js';
import type { TestServer } from '../../support/server.js';

/**
 * What the compatibility suites' fixtures (Unleash, Reflag) share: builders for flag parts, the
 * admin clients, the flags both stores hold, and latchkey's own answer to compare SDKs against.
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
type FlagAdmin = Admin['flags'];

/** `rollout` (BOOLEAN): 30 % of users in development, 70 % in production; default off. */
export async function createRolloutFlag(flags: FlagAdmin): Promise<void> {
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
}

/** `banner` (STRING): blue / green 50-50 on the randomization unit (both environments); default red. */
export async function createBannerFlag(flags: FlagAdmin): Promise<void> {
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
}

/** `theme` (OBJECT, `{color: navy}`), `gone` (BOOLEAN, archived), `mobile-only` (BOOLEAN, on) in project `mobile` (which must exist). */
export async function createConfigArchivedAndMobileFlags(flags: FlagAdmin): Promise<void> {
  await flags.createFlag({ flagId: 'theme', flag: { kind: Kind.OBJECT, variants: [{ name: 'navy', value: v({ color: 'navy' }) }], defaultVariant: 'navy' } });
  await flags.createFlag({ flagId: 'gone', flag: { kind: Kind.BOOLEAN, variants: onOff, defaultVariant: 'on' } });
  await flags.archiveFlag({ name: 'flags/gone' });
  await flags.createFlag({ flagId: 'mobile-only', flag: { project: 'projects/mobile', kind: Kind.BOOLEAN, variants: onOff, defaultVariant: 'on' } });
}

/** latchkey's own ResolveFlags answer: flag id → [variant, value], for oracle comparisons. */
export async function resolveOverConnect(server: TestServer, secret: string, context: Record<string, unknown>) {
  const res = await connectClient(server, FlagResolverService, { authorization: `Bearer ${secret}` }).resolveFlags({ flags: [], evaluationContext: context as never });
  return Object.fromEntries(res.resolvedFlags.map((f) => [f.flag.slice('flags/'.length), [f.variant, f.value?.kind.value]]));
}

export { Kind, Op };
